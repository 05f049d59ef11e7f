"""Turn a batch of Docs into the id arrays the torch encoders read.

Work is done per distinct word: token ORTH ids come from `Doc.to_array`, a dict over
them finds the distinct words (`distinct_orths`), and each distinct word's rows are
looked up once and cached.
"""

import re
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from spacy.attrs import ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import Errors
from .string_table import UNKNOWN_ROW, KeyTable, StringTable

_DIGIT = re.compile(r"\d")
_CACHE_LIMIT = 1_000_000


def normalize_word(word: str) -> str:
    """The paper's word normalisation: lowercase, every digit mapped to 0."""
    return _DIGIT.sub("0", word.lower())


def distinct_orths(docs: List[Doc]) -> Tuple[List[int], numpy.ndarray]:
    """The distinct ORTH ids of all tokens of the docs, in order of first occurrence,
    and each token's position among them (the docs' tokens one after another).

    Found with a dict rather than `numpy.unique`, whose fixed cost (a sort and a few
    temporary arrays) is most of a featurizer call at batch 1. The dict's cost grows
    with the tokens, so it is the slower of the two on batches of hundreds of
    sentences, where it is a small part of what the GRUs take.

    RETURNS (Tuple[List[int], ndarray]): the distinct ids; (n_tokens,) int64 positions.
    """
    if not docs:
        return [], numpy.zeros((0,), dtype="int64")
    orths = numpy.concatenate([doc.to_array(ORTH).reshape(-1) for doc in docs]).tolist()
    first: Dict[int, int] = {}
    inverse = [first.setdefault(orth, len(first)) for orth in orths]
    return list(first), numpy.array(inverse, dtype="int64")


def batch_vocab(docs: List[Doc]) -> Vocab:
    """The Vocab of the docs (at least one), whose strings give their words' texts.

    RAISES (ValueError): E105 naming the first doc whose Vocab is another's.
    """
    vocab = docs[0].vocab
    for i, doc in enumerate(docs):
        if doc.vocab is not vocab:
            raise ValueError(Errors.E105.format(doc=i))
    return vocab


def doc_lengths(docs: List[Doc]) -> numpy.ndarray:
    return numpy.array([len(doc) for doc in docs], dtype="int64")


class _Cache(Dict[int, object]):
    """Per-ORTH results for one table (and what else they are read from); emptied when
    any of them is replaced."""

    def __init__(self) -> None:
        super().__init__()
        self._bound: Tuple[object, ...] = ()

    @property
    def table(self) -> Optional[StringTable]:
        return self._bound[0] if self._bound else None  # type: ignore[return-value]

    def bind(self, table: StringTable, *sources: object) -> None:
        bound = (table, *sources)
        if len(bound) != len(self._bound) or any(new is not old for new, old in zip(bound, self._bound)):
            self.clear()
            self._bound = bound

    def remember(self, key: int, value: object) -> None:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[key] = value


def rows_per_token(
    docs: List[Doc], cache: _Cache, rows_of: Callable[[int, Vocab], object], shape: Tuple[int, ...]
) -> numpy.ndarray:
    """Table rows of all tokens of the docs, worked out once per distinct word:
    `rows_of(orth, vocab)` for a word the cache does not hold yet, remembered.

    shape (Tuple[int, ...]): the shape of one word's rows, () for a single row.
    RETURNS: (n_tokens, *shape) int64.
    """
    distinct, inverse = distinct_orths(docs)
    if not distinct:
        return numpy.zeros((0, *shape), dtype="int64")
    vocab = batch_vocab(docs)
    rows = []
    for orth in distinct:
        row = cache.get(orth)
        if row is None:
            row = rows_of(orth, vocab)
            cache.remember(orth, row)
        rows.append(row)
    return numpy.array(rows, dtype="int64")[inverse]


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
        distinct, inverse = distinct_orths(docs)
        strings = batch_vocab(docs).strings if docs else None
        encoded = [self._encode(orth, strings) for orth in distinct]
        lengths = numpy.array([len(ids) for ids in encoded], dtype="int64")
        chars = numpy.concatenate(encoded) if encoded else numpy.zeros((0,), dtype="int64")
        return chars, lengths, inverse

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

    def __call__(self, docs: List[Doc], table: StringTable, vector_keys: Optional[KeyTable] = None) -> numpy.ndarray:
        """vector_keys (KeyTable, optional): table rows of the vectors' keys
        (`pretrained.PretrainedRows`); a word without a row of its own takes its key's,
        by its text, then by its lowercased text.

        RETURNS: (n_tokens,) int64 word rows.
        """
        self._cache.bind(table, vector_keys)

        def rows_of(orth: int, vocab: Vocab) -> int:
            word = vocab.strings[orth]
            row = table.row(self.key(word))
            if row == UNKNOWN_ROW and vector_keys:
                row = vector_keys.row(orth)
                if row == UNKNOWN_ROW:
                    row = vector_keys.row(get_string_id(word.lower()))
            return row

        return rows_per_token(docs, self._cache, rows_of, ())


LEXICAL_ATTRS = ("PREFIX", "SUFFIX", "SHAPE", "LOWER")


class LexicalFeaturizer:
    """Table rows of the lexical attributes of all tokens of a batch: spaCy's lexeme
    strings (`Lexeme.prefix_`, `suffix_`, `shape_`, `lower_`), which the language's
    lexical attribute getters compute from the word's text alone (so they are cached
    per word), looked up as `ATTR=value`."""

    def __init__(self, attrs: List[str]) -> None:
        self.attrs = list(attrs)
        self._cache = _Cache()

    def keys(self, lexeme) -> List[str]:
        """The table keys of a lexeme (a `spacy.lexeme.Lexeme` or a `Token`), one per
        attribute."""
        return [f"{attr}={getattr(lexeme, attr.lower() + '_')}" for attr in self.attrs]

    def __call__(self, docs: List[Doc], table: StringTable) -> numpy.ndarray:
        """RETURNS: (n_tokens, n_attrs) int64 table rows."""
        self._cache.bind(table)

        def rows_of(orth: int, vocab: Vocab) -> List[int]:
            return [table.row(key) for key in self.keys(vocab[orth])]

        return rows_per_token(docs, self._cache, rows_of, (len(self.attrs),))
