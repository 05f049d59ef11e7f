"""String -> row tables for the character and word embeddings.

Row 0 is padding and row 1 stands for every unknown string. A table is stored in the
Thinc model's attrs, so it is saved and loaded with the model's weights.
"""

from typing import Any, Dict, Iterable, List, Mapping

import srsly
from thinc.api import Model, deserialize_attr, serialize_attr

PADDING_ROW = 0
UNKNOWN_ROW = 1
_RESERVED = ["<pad>", "<unk>"]


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


@serialize_attr.register(StringTable)
def _serialize_table(_: Any, value: StringTable, name: str, model: Model) -> bytes:
    return value.to_bytes()


@deserialize_attr.register(StringTable)
def _deserialize_table(_: Any, value: bytes, name: str, model: Model) -> StringTable:
    return StringTable().from_bytes(value)
