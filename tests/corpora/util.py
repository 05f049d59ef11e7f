"""Helpers of the corpora tests."""

from pathlib import Path
from typing import List, Optional

from spacy_xfer.corpora import ProblemLog, ReadOptions, Sentence, read_corpus


def read(path: Path, fmt: str, log: Optional[ProblemLog] = None, **options) -> List[Sentence]:
    """Read a corpus into a list of sentences (strict unless a lenient log is given)."""
    return list(read_corpus(path, fmt, ReadOptions(**options), log=log))
