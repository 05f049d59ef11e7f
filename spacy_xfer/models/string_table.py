"""String -> row tables for the character and word embeddings.

Row 0 is padding and row 1 stands for every unknown string. A table is stored in the
Thinc model's attrs, so it is saved and loaded with the model's weights.
"""

from typing import Dict, Iterable, List, Mapping

import numpy
import srsly

from ..errors import Errors
from .saved_attrs import saved_with_model

PADDING_ROW = 0
UNKNOWN_ROW = 1
_RESERVED = ["<pad>", "<unk>"]


@saved_with_model
class StringTable:
    """Rows for a fixed set of strings; unknown strings map to UNKNOWN_ROW."""

    def __init__(self, strings: Iterable[str] = ()) -> None:
        self._strings: List[str] = list(_RESERVED)
        self._rows: Dict[str, int] = {}
        for string in strings:
            self.add(string)

    @classmethod
    def of_frequent(cls, counts: Mapping[str, int], min_freq: int) -> "StringTable":
        """A table of the strings counted at least `min_freq` times, in sorted order."""
        return cls(sorted(string for string, n in counts.items() if n >= min_freq))

    def __len__(self) -> int:
        return len(self._strings)

    def __contains__(self, string: str) -> bool:
        return string in self._rows

    def add(self, string: str) -> int:
        """Add a string if new; return its row."""
        row = self._rows.get(string)
        if row is None:
            row = self._rows[string] = len(self._strings)
            self._strings.append(string)
        return row

    def row(self, string: str) -> int:
        return self._rows.get(string, UNKNOWN_ROW)

    @property
    def strings(self) -> List[str]:
        """The strings with a row of their own, in row order (from row 2)."""
        return self._strings[len(_RESERVED) :]

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps(self.strings)

    def from_bytes(self, data: bytes) -> "StringTable":
        self.__init__(srsly.msgpack_loads(data))  # type: ignore[misc]
        return self



@saved_with_model
class KeyTable:
    """Rows for 64-bit string keys (spaCy's string hashes, as `Vectors.key2row` holds
    them), kept as two sorted arrays (uint64 keys, int32 rows: 12 bytes a key): the
    vectors' keys of a word table, saved with the model so that a word is read the same
    whatever vectors the pipeline holds later. Unknown keys map to UNKNOWN_ROW."""

    def __init__(self, keys: Iterable[int] = (), rows: Iterable[int] = ()) -> None:
        keys_array = numpy.asarray(keys, dtype="uint64")
        rows_array = numpy.asarray(rows, dtype="int32")
        if keys_array.shape != rows_array.shape:
            setting = "KeyTable (keys, rows)"
            value = (len(keys_array), len(rows_array))
            raise ValueError(Errors.E038.format(setting=setting, value=value, expected="as many rows as keys"))
        order = numpy.argsort(keys_array, kind="stable")
        self.keys, self.rows = keys_array[order], rows_array[order]

    def __len__(self) -> int:
        return len(self.keys)

    def row(self, key: int) -> int:
        key = numpy.uint64(key)
        index = int(numpy.searchsorted(self.keys, key))
        if index < len(self.keys) and self.keys[index] == key:
            return int(self.rows[index])
        return UNKNOWN_ROW

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps({"keys": self.keys.tobytes(), "rows": self.rows.tobytes()})

    def from_bytes(self, data: bytes) -> "KeyTable":
        msg = srsly.msgpack_loads(data)
        self.keys = numpy.frombuffer(msg["keys"], dtype="uint64").copy()
        self.rows = numpy.frombuffer(msg["rows"], dtype="int32").copy()
        return self
