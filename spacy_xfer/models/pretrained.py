"""Initial word embedding rows from a pipeline's vectors (`[initialize] vectors`).

When the vectors are wider than the word embedding they are projected onto their first
`width` principal components; when narrower, the remaining columns keep their random
initialisation. Either way the copied values are rescaled to unit standard deviation,
the scale of the randomly initialised rows.
"""

from typing import Callable, Optional, Tuple

import numpy
from spacy.strings import StringStore, get_string_id
from spacy.vectors import Vectors
from thinc.api import get_current_ops

from .string_table import StringTable


def add_vector_words(
    vectors: Vectors, strings: StringStore, table: StringTable, key: Callable[[str], str], limit: int
) -> None:
    """Give rows to the words of the first `limit` vector rows (default-mode vectors)."""
    if vectors.mode != "default" or limit <= 0:
        return
    first_key = {}
    for vector_key, row in vectors.key2row.items():
        if row < limit and row not in first_key:
            first_key[row] = vector_key
    for row in sorted(first_key):
        word = strings[first_key[row]] if first_key[row] in strings else None
        if word:
            table.add(key(word))


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
) -> Optional[Tuple[numpy.ndarray, numpy.ndarray]]:
    """Add vector words to the table and compute initial values for the rows found.

    RETURNS (Optional[Tuple[ndarray, ndarray]]): table rows (int64) and their values
        (n, min(width, vector width)) float32, or None if no table word has a vector.
    """
    add_vector_words(vectors, strings, table, key, max_vectors)
    words = table.strings
    data = get_current_ops().to_numpy(vectors.data).astype("float32")
    if vectors.mode == "default":
        vector_rows = vectors.find(keys=[get_string_id(word) for word in words])
        vector_rows = numpy.asarray(get_current_ops().to_numpy(vector_rows)).reshape(-1)
    else:
        vector_rows = numpy.arange(len(words))
        data = get_current_ops().to_numpy(vectors.get_batch(words)).astype("float32")
    found = vector_rows >= 0
    if not found.any():
        return None
    values = data[vector_rows[found]]
    if data.shape[1] > width:
        mean, directions = project(data, width)
        values = (values - mean) @ directions.T
    values = values / (values.std() + 1e-8)
    table_rows = numpy.array([table.row(word) for word in words], dtype="int64")[found]
    return table_rows, values.astype("float32")
