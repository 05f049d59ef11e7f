"""Turn a batch of Docs into the id arrays the torch encoders read.

Work is done per distinct word, never per token in Python: token ORTH ids come from
`Doc.to_array`, `numpy.unique` finds the distinct words, and each distinct word's
rows are looked up once and cached.
"""

import re
from typing import Dict, List, Optional, Tuple

import numpy
from spacy.attrs import ORTH
from spacy.tokens import Doc

from .string_table import StringTable

_DIGIT = re.compile(r"\d")
_CACHE_LIMIT = 1_000_000


def normalize_word(word: str) -> str:
    """The paper's word normalisation: lowercase, every digit mapped to 0."""
    return _DIGIT.sub("0", word.lower())


def batch_orths(docs: List[Doc]) -> numpy.ndarray:
    """The ORTH ids of all tokens of the docs, one after another (uint64)."""
    if not docs:
        return numpy.zeros((0,), dtype="uint64")
    return numpy.concatenate([doc.to_array(ORTH).reshape(-1) for doc in docs])


def doc_lengths(docs: List[Doc]) -> numpy.ndarray:
    return numpy.array([len(doc) for doc in docs], dtype="int64")


class _Cache(Dict[int, object]):
    """Per-ORTH results for one table; emptied when the table is replaced."""

    def __init__(self) -> None:
        super().__init__()
        self.table: Optional[StringTable] = None

    def bind(self, table: StringTable) -> None:
        if table is not self.table:
            self.clear()
            self.table = table

    def remember(self, key: int, value: object) -> None:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[key] = value


class CharFeaturizer:
    """Character ids of the distinct words of a batch, one word after another (no
    padding: the arrays grow with the batch's characters, whatever the longest word).
    Words are not truncated."""

    def __init__(self) -> None:
        self._cache = _Cache()

    def __call__(
        self, docs: List[Doc], table: StringTable
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """RETURNS: chars (n_chars,) int64, the characters of the distinct words one
        word after another; lengths (n_distinct,) int64, each word's length (> 0: an
        empty word is read as one space); inverse (n_tokens,) int64, the distinct-word
        row of every token."""
        self._cache.bind(table)
        orths = batch_orths(docs)
        distinct, inverse = numpy.unique(orths, return_inverse=True)
        strings = docs[0].vocab.strings if docs else None
        encoded = [self._encode(int(orth), strings) for orth in distinct]
        lengths = numpy.array([len(ids) for ids in encoded], dtype="int64")
        chars = numpy.concatenate(encoded) if encoded else numpy.zeros((0,), dtype="int64")
        return chars, lengths, inverse.reshape(-1).astype("int64")

    def _encode(self, orth: int, strings) -> numpy.ndarray:
        ids = self._cache.get(orth)
        if ids is None:
            text = strings[orth] or " "
            assert self._cache.table is not None
            ids = numpy.array([self._cache.table.row(char) for char in text], dtype="int64")
            self._cache.remember(orth, ids)
        return ids  # type: ignore[return-value]


class WordFeaturizer:
    """Word table rows of all tokens of a batch."""

    def __init__(self, normalize: bool) -> None:
        self.normalize = normalize
        self._cache = _Cache()

    def key(self, word: str) -> str:
        """The table key of a word."""
        return normalize_word(word) if self.normalize else word

    def __call__(self, docs: List[Doc], table: StringTable) -> numpy.ndarray:
        """RETURNS: (n_tokens,) int64 word rows."""
        self._cache.bind(table)
        orths = batch_orths(docs)
        distinct, inverse = numpy.unique(orths, return_inverse=True)
        strings = docs[0].vocab.strings if docs else None
        rows = numpy.array([self._row(int(orth), strings) for orth in distinct], dtype="int64")
        return rows[inverse.reshape(-1)] if len(orths) else numpy.zeros((0,), dtype="int64")

    def _row(self, orth: int, strings) -> int:
        row = self._cache.get(orth)
        if row is None:
            assert self._cache.table is not None
            row = self._cache.table.row(self.key(strings[orth]))
            self._cache.remember(orth, row)
        return row  # type: ignore[return-value]
