"""`spacy_xfer.reported_performance.v1`: a `[training] before_to_disk` callback that keeps
a saved pipeline's `meta["performance"]` to the scores its last evaluation reported.

spaCy's training loop (`spacy.training.loop.update_meta`) writes every key of
`[training.score_weights]` into `meta.json`'s `performance` before it saves a
checkpoint, 0.0 where the last evaluation had no such score (it drops None scores
first). `xfer_tagger`'s default score weights name the standard keys of every target it
can have (`tag_acc`, `pos_acc`, `ents_f`, ...; our configs keep them at weight null), and
a T-B or T-C config weights the source head's `source_score` at 0.0 though the source's
dev set is not scored by default: so an NER pipeline was saved with `tag_acc: 0.0`,
`pos_acc: 0.0` and `source_score: 0.0`, which `spacy package` prints in the package's
README as measured scores. The callback drops such keys.
"""

from typing import Any, Callable, Set

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.util import registry

from .xfer_tagger import DEFAULT_SCORE_WEIGHTS, XferTagger

CALLBACK = {"@callbacks": "spacy_xfer.reported_performance.v1"}


def may_score(pipe: Any) -> bool:
    """Whether `nlp.evaluate` may get scores from a component: spaCy's `Pipe.score`
    scores through the component's `scorer` when it has one; any other `score` may."""
    score = getattr(type(pipe), "score", None)
    if score is None:
        return False
    return score is not Pipe.score or getattr(pipe, "scorer", None) is not None


def unreported_keys(nlp: Language) -> Set[str]:
    """The score keys of `xfer_tagger` heads that the pipeline's last evaluation did not
    report: the factory's standard keys and every head's own keys (`XferTagger.score_keys`),
    less those an enabled head gave a value in its last `score` call (all of its keys if
    it was never scored), and less those another component that scores may report (its
    factory's default score weights; every key when it declares none, as spaCy's
    `attribute_ruler` does).

    nlp (Language): The pipeline.
    RETURNS (Set[str]): The keys.
    """
    heads = [pipe for _, pipe in nlp.components if isinstance(pipe, XferTagger)]
    keys = set(DEFAULT_SCORE_WEIGHTS).union(*(head.score_keys for head in heads))
    reported: Set[str] = set()
    for name, pipe in nlp.pipeline:
        if isinstance(pipe, XferTagger):
            reported.update(pipe.score_keys if pipe.last_scored_keys is None else pipe.last_scored_keys)
        elif may_score(pipe):
            reported.update(nlp.get_pipe_meta(name).default_score_weights or keys)
    return keys - reported


def drop_unreported_performance(nlp: Language) -> Language:
    """Remove from `nlp.meta["performance"]` the `unreported_keys` that hold 0.0, the
    value spaCy's loop fills in; the other keys (the losses, the scores reported) stay.
    spaCy's loop saves right after the evaluation it writes, so the heads' last scores
    are that evaluation's; should something score them on other data in between, the
    0.0 test still keeps every measured score that is not 0.

    nlp (Language): The pipeline about to be saved; its meta is changed in place.
    RETURNS (Language): The same pipeline, as spaCy's `before_to_disk` expects.
    """
    performance = nlp.meta.get("performance")
    if performance:
        unreported = unreported_keys(nlp)
        nlp.meta["performance"] = {
            key: value for key, value in performance.items() if not (key in unreported and value == 0.0)
        }
    return nlp


@registry.callbacks("spacy_xfer.reported_performance.v1")
def create_reported_performance_v1() -> Callable[[Language], Language]:
    """The `[training] before_to_disk` callback `drop_unreported_performance`.

    RETURNS (Callable[[Language], Language]): The callback.
    """
    return drop_unreported_performance
