"""Helpers for the training tests: tiny DocBins and a blank pipeline."""

from pathlib import Path
from typing import List, Optional, Sequence

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

TAGS = ("DT", "NN", "VB")


def make_docs(prefix: str, n_docs: int, vocab: Optional[Vocab] = None) -> List[Doc]:
    """`n_docs` three-token tagged docs whose first word names the doc: `<prefix>0`, ..."""
    vocab = vocab if vocab is not None else Vocab()
    return [
        Doc(vocab, words=[f"{prefix}{i}", "saw", "it"], tags=list(TAGS)) for i in range(n_docs)
    ]


def write_docbin(path: Path, docs: Sequence[Doc]) -> Path:
    """Write docs to a `.spacy` file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    doc_bin.to_disk(path)
    return path


def blank_english() -> Language:
    """A blank English pipeline (spaCy imports every declared `spacy_factories` entry
    point when it builds one, so a broken entry point fails here)."""
    return spacy.blank("en")
