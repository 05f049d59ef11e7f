"""Tiny training data and pipelines built in the tests."""

import importlib
import os
from types import ModuleType
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
import spacy
from thinc.api import Adam
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_xfer.tags import chunks_from_tags

TINY_ENCODER = {
    "@architectures": "spacy_xfer.CharWordEncoder.v1",
    "char_width": 8,
    "char_hidden": 8,
    "char_depth": 1,
    "width": 8,
    "hidden": 16,
    "depth": 1,
}

TAG_DATA: List[Tuple[str, List[str]]] = [
    ("I like green eggs", ["PRP", "VBP", "JJ", "NNS"]),
    ("Eat blue ham", ["VB", "JJ", "NN"]),
    ("They eat ham daily", ["PRP", "VBP", "NN", "RB"]),
    ("Green ham is good", ["JJ", "NN", "VBZ", "JJ"]),
]

NER_DATA: List[Tuple[str, List[str]]] = [
    ("Anna lives in New York", ["B-PER", "O", "O", "B-LOC", "I-LOC"]),
    ("Bob Smith visited Paris today", ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    ("Paris loves Anna", ["B-LOC", "O", "B-PER"]),
    ("New York is big", ["B-LOC", "I-LOC", "O", "O"]),
]


def import_extra(module: str) -> ModuleType:
    """Import a module of an optional extra (e.g. `spacy_transformers` of the
    `transformers` extra). Without it the calling test module is skipped, except under
    CI=true (CI installs every extra), where the import error fails it."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def tiny_model(tok2vec: Optional[dict] = None) -> dict:
    return {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": tok2vec or dict(TINY_ENCODER)}


def tiny_tagger(target: str = "tag", **config) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", config={"target": target, "model": tiny_model(), **config})
    return nlp


def spans_of(doc: Doc, tags: Sequence[str]) -> List[Span]:
    return [Span(doc, start, end, label=kind) for start, end, kind in chunks_from_tags(tags)]


def gold_doc(nlp: Language, text: str, labels: Sequence[str], target: str) -> Doc:
    """A reference doc carrying `labels` on `target`."""
    words = text.split()
    if target == "tag":
        return Doc(nlp.vocab, words=words, tags=list(labels))
    if target == "pos":
        return Doc(nlp.vocab, words=words, pos=list(labels))
    doc = Doc(nlp.vocab, words=words)
    if target == "ents":
        doc.set_ents(spans_of(doc, labels), default="outside")
    elif target.startswith("spans:"):
        doc.spans[target.split(":", 1)[1]] = spans_of(doc, labels)
    elif target.startswith("ext:"):
        name = target.split(":", 1)[1]
        for token, label in zip(doc, labels):
            token._.set(name, label)
    return doc


def examples_for(nlp: Language, data, target: str) -> List[Example]:
    return [Example(nlp.make_doc(text), gold_doc(nlp, text, labels, target)) for text, labels in data]


def train(nlp: Language, examples: List[Example], steps: int = 60) -> Dict[str, float]:
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.02)
    losses: Dict[str, float] = {}
    for _ in range(steps):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    return losses
