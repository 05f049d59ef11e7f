"""`spacy_xfer.reported_performance.v1`: a `[training] before_to_disk` callback that keeps
a saved pipeline's `meta["performance"]` to the scores its components report.

spaCy's training loop (`spacy.training.loop.update_meta`) writes every key of
`[training.score_weights]` into `meta.json`'s `performance` before it saves a
checkpoint, 0.0 where the last evaluation had no such score. `xfer_tagger`'s default
score weights name the standard keys of every target it can have (`tag_acc`, `pos_acc`,
`ents_f`, ...; our configs keep them at weight null), so an NER head's pipeline was
saved with `tag_acc: 0.0` and `pos_acc: 0.0`, which `spacy package` then prints in the
package's README as measured accuracies. The callback drops those keys; a score that no
component reports is not in `meta.json` at all, as in spaCy's own pipelines.
"""

from typing import Callable, Set

from spacy.language import Language
from spacy.util import registry

from .xfer_tagger import DEFAULT_SCORE_WEIGHTS, XferTagger

CALLBACK = {"@callbacks": "spacy_xfer.reported_performance.v1"}


def reported_scores(nlp: Language) -> Set[str]:
    """The score keys the pipeline's components report: each `xfer_tagger` head's
    `score_keys` (the standard keys only for a primary head), and the default score
    weights of every other component's factory."""
    keys: Set[str] = set()
    for name, pipe in nlp.components:
        if isinstance(pipe, XferTagger):
            keys.update(pipe.score_keys)
        else:
            keys.update(nlp.get_pipe_meta(name).default_score_weights)
    return keys


def drop_unreported_performance(nlp: Language) -> Language:
    """Remove from `nlp.meta["performance"]` the keys of `xfer_tagger`'s default score
    weights that no component reports (see the module docstring); other keys (the losses,
    the configs' `target_score`) stay.

    nlp (Language): The pipeline about to be saved; its meta is changed in place.
    RETURNS (Language): The same pipeline, as spaCy's `before_to_disk` expects.
    """
    performance = nlp.meta.get("performance")
    if performance:
        unreported = set(DEFAULT_SCORE_WEIGHTS) - reported_scores(nlp)
        nlp.meta["performance"] = {key: value for key, value in performance.items() if key not in unreported}
    return nlp


@registry.callbacks("spacy_xfer.reported_performance.v1")
def create_reported_performance_v1() -> Callable[[Language], Language]:
    """The `[training] before_to_disk` callback `drop_unreported_performance`.

    RETURNS (Callable[[Language], Language]): The callback.
    """
    return drop_unreported_performance
