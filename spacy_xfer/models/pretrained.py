"""Initial word embedding rows from a pipeline's vectors (`[initialize] vectors`).

When the vectors are wider than the word embedding they are projected onto their first
`width` principal components; when narrower, the remaining columns keep their random
initialisation. Either way the copied values are rescaled to unit standard deviation,
the scale of the randomly initialised rows.

A vectors table can hold many more keys than rows: en_core_web_md maps 514,157 keys onto
20,000 rows, each pruned word to the row of its nearest kept one (spaCy's
`Vocab.prune_vectors`). The table gives a row only to one word per vector row, so the
result also maps every key of the vectors to the table row of its vector row
(`PretrainedRows.vector_keys`): a word without a row of its own is then looked up by
its vectors key, as spaCy's `StaticVectors` reads every key (`featurize.WordFeaturizer`).
"""

from typing import Callable, Dict, NamedTuple, Sequence, Tuple

import numpy
from spacy.strings import StringStore, get_string_id
from spacy.vectors import Vectors
from thinc.api import get_current_ops

from .string_table import UNKNOWN_ROW, KeyTable, StringTable


class PretrainedRows(NamedTuple):
    """Initial values of table rows from the vectors, and the table row of every key
    of the vectors."""

    table_rows: numpy.ndarray
    """(n,) int64: table rows that start from a vector."""
    values: numpy.ndarray
    """(n, min(width, vector width)) float32: their initial values."""
    vector_keys: KeyTable
    """The table row of every key of the vectors: the row of a table word whose own key
    is on the key's vector row, else the row of the word added for that vector row
    (`add_vector_words`); keys of rows beyond `max_vectors` without a table word are
    left out, as are all keys of vectors without a key table (floret)."""


def add_vector_words(
    vectors: Vectors, strings: StringStore, table: StringTable, key: Callable[[str], str], limit: int
) -> Dict[int, str]:
    """Give rows to the words of the first `limit` vector rows (default-mode vectors).

    RETURNS (Dict[int, str]): the table key given to each of those vector rows.
    """
    if vectors.mode != "default" or limit <= 0:
        return {}
    first_key = {}
    for vector_key, row in vectors.key2row.items():
        if row < limit and row not in first_key:
            first_key[row] = vector_key
    added = {}
    for row in sorted(first_key):
        word = strings[first_key[row]] if first_key[row] in strings else None
        if word:
            added[row] = key(word)
            table.add(added[row])
    return added


def project(data: numpy.ndarray, width: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The mean and the first `width` principal directions of the vectors (estimated
    on the first 50,000 rows, which are the most frequent words in spaCy's vectors)."""
    data = data[:50000].astype("float64")
    mean = data.mean(axis=0)
    centered = data - mean
    eigenvalues, eigenvectors = numpy.linalg.eigh(centered.T @ centered)
    order = numpy.argsort(eigenvalues)[::-1][:width]
    return mean.astype("float32"), eigenvectors[:, order].T.astype("float32")


def pretrained_rows(
    vectors: Vectors,
    strings: StringStore,
    table: StringTable,
    key: Callable[[str], str],
    width: int,
    max_vectors: int,
) -> PretrainedRows:
    """Add vector words to the table and compute initial values for the rows found
    (none when no table word has a vector of its own; the vectors' keys still map to
    the rows of their vector rows' words)."""
    added = add_vector_words(vectors, strings, table, key, max_vectors)
    words = table.strings
    data = get_current_ops().to_numpy(vectors.data).astype("float32")
    if vectors.mode == "default":
        own_rows = vectors.find(keys=[get_string_id(word) for word in words])
        own_rows = numpy.asarray(get_current_ops().to_numpy(own_rows)).reshape(-1)
        rows_of_words = with_rows_added_from(own_rows, words, added)
    else:
        own_rows = rows_of_words = numpy.arange(len(words))
        data = get_current_ops().to_numpy(vectors.get_batch(words)).astype("float32")
    all_table_rows = numpy.array([table.row(word) for word in words], dtype="int64")
    own = own_rows >= 0
    keys = vector_keys(vectors, table, added, own_rows[own], all_table_rows[own])
    found = rows_of_words >= 0
    table_rows = all_table_rows[found]
    if not found.any():
        return PretrainedRows(table_rows, numpy.zeros((0, min(width, data.shape[1])), dtype="float32"), keys)
    values = data[rows_of_words[found]]
    if data.shape[1] > width:
        mean, directions = project(data, width)
        values = (values - mean) @ directions.T
    scale = values.std()
    if scale > 0:  # one vector, or all alike, keeps its values
        values = values / scale
    return PretrainedRows(table_rows, values.astype("float32"), keys)


def with_rows_added_from(rows_of_words: numpy.ndarray, words: Sequence[str], added: Dict[int, str]) -> numpy.ndarray:
    """The vector row of each table word: its own key's (`rows_of_words`, -1 if none),
    else the first vector row it was added from (`add_vector_words`). A word added under
    its normalised form may have no key of its own (the row of "Mr." gives the table
    word "mr.", which en_core_web_md has no key for; "20th" gives "00th"): it starts
    from the vector it was added for, not at random.

    RETURNS (numpy.ndarray): (len(words),) int, -1 for words without a vector.
    """
    first_row: Dict[str, int] = {}
    for row in sorted(added):
        first_row.setdefault(added[row], row)
    return numpy.array(
        [row if row >= 0 else first_row.get(word, -1) for row, word in zip(rows_of_words.tolist(), words)],
        dtype=rows_of_words.dtype,
    )


def vector_keys(
    vectors: Vectors, table: StringTable, added: Dict[int, str], vector_rows: numpy.ndarray, table_rows: numpy.ndarray
) -> KeyTable:
    """The table row of every key of the vectors (`PretrainedRows.vector_keys`), from the
    words added per vector row (`add_vector_words`) and the table words whose own keys
    are on `vector_rows`, which take their vector row's keys from the added word (the
    last of them in table order where several share a row)."""
    if vectors.mode != "default":
        return KeyTable()
    row_of_vector_row = numpy.full((vectors.shape[0],), UNKNOWN_ROW, dtype="int64")
    for row, word in added.items():
        row_of_vector_row[row] = table.row(word)
    row_of_vector_row[vector_rows] = table_rows
    keys = numpy.fromiter(vectors.key2row.keys(), dtype="uint64", count=len(vectors.key2row))
    rows = row_of_vector_row[numpy.fromiter(vectors.key2row.values(), dtype="int64", count=len(vectors.key2row))]
    known = rows != UNKNOWN_ROW
    return KeyTable(keys[known], rows[known])
