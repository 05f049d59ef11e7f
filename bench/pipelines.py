"""The pipeline timed: a shipped config's model and optimizer (default
configs/single.cfg: char GRU 25/80x2, word GRU 50/100x2, lexical features, CRF, and the
`[training.optimizer]` training uses), untrained, initialized on the benchmark's
sentences."""

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_config, registry

import spacy_xfer  # noqa: F401  (registers the factories and architectures)
from bench.data import Sentence

REPO = Path(__file__).resolve().parent.parent
CONFIG_IN_REPO = Path("configs") / "single.cfg"  # the config timed, in this and older checkouts
DEFAULT_CONFIG = REPO / CONFIG_IN_REPO
COMPONENT = "target"  # the component of the config that is timed


def make_examples(nlp: Language, sentences: Sequence[Sentence], target: str) -> List[Example]:
    """Examples whose reference has the labels as tags (target "tag") or as IOB2 entities
    (target "ents")."""
    key = {"tag": "tags", "ents": "ents"}[target]
    return [
        Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, **{key: labels}))
        for words, labels in sentences
    ]


def blank(vectors: Optional[str]) -> Language:
    """A blank English pipeline, or one sharing the vocab (and vectors) of a pipeline.

    RAISES (SystemExit): If the pipeline has no vectors.
    """
    if not vectors:
        return spacy.blank("en")
    loaded = spacy.load(vectors)
    if loaded.vocab.vectors.shape[0] == 0:
        raise SystemExit(f"--vectors {vectors}: the pipeline has no vectors")
    return spacy.blank(loaded.lang, vocab=loaded.vocab)


def xfer_pipeline(
    sentences: Sequence[Sentence],
    *,
    config_path: Path = DEFAULT_CONFIG,
    target: str = "tag",
    vectors: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> Tuple[Language, List[Example], Any]:
    """The config's `target` component (learning `target`) alone in a pipeline,
    initialized on the sentences, and the config's optimizer.

    Uses only spaCy and the registered names, so that bench/checkout_worker.py can build
    an older checkout's pipeline with it.

    overrides (Optional[Mapping[str, Any]]): Config values by dotted path
        ("xfer.word_dropout": 0.1), set before interpolation, as `spacy train` does.
    RETURNS (Tuple[Language, List[Example], Any]): nlp, the examples, the optimizer.
    """
    config = load_config(config_path, overrides=dict(overrides or {}), interpolate=True)
    settings = dict(config["components"][COMPONENT])
    factory = settings.pop("factory")
    nlp = blank(vectors)
    nlp.add_pipe(factory, name=COMPONENT, config={**settings, "target": target})
    examples = make_examples(nlp, sentences, target)
    nlp.initialize(lambda: examples)
    optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    return nlp, examples, optimizer


def spacy_cnn_pipeline(sentences: Sequence[Sentence], target: str = "ents") -> Tuple[Language, List[Example], Any]:
    """spaCy's own CNN pipeline for `target` (`spacy init config --optimize efficiency`:
    tok2vec + ner for "ents", tok2vec + tagger for "tag"; the grid's baseline),
    untrained, initialized on the sentences, and its config's optimizer.

    RETURNS (Tuple[Language, List[Example], Any]): nlp, the examples, the optimizer.
    """
    # imported here: an older checkout timed through `xfer_pipeline` may not have it
    from spacy_xfer.experiments.baseline import baseline_config

    config = baseline_config("en", target).interpolate()
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = make_examples(nlp, sentences, target)
    nlp.initialize(lambda: examples)
    optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    return nlp, examples, optimizer


def model_info(nlp: Language) -> Dict[str, Any]:
    """Parameters and embedding tables of the timed component's torch modules."""
    pipe = nlp.get_pipe(COMPONENT)
    n_params = 0
    tables = {}
    for node in pipe.model.walk():
        for shim in node.shims:
            module = shim._model  # thinc's PyTorchShim keeps its module here (read only)
            n_params += sum(p.numel() for p in module.parameters())
            if hasattr(module, "embed"):
                tables[type(module).__name__] = list(module.embed.weight.shape)
    return {"parameters": n_params, "embedding_tables": tables, "labels": len(pipe.labels)}
