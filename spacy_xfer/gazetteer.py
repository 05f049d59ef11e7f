"""Gazetteers: SENNA-style entity lists, matched greedily (longest match) over words.

A neutral module: the gazetteer features of the model (`spacy_xfer.GazetteerFeatures.v1`)
match and store it, so it imports nothing of the corpus readers.

A list file holds one entry per line, its words separated by spaces; the entity type comes
from the file name `ner.TYPE.lst` (upper-cased: `ner.loc.lst` -> `LOC`). SENNA's lists
mix Latin-1 and UTF-8, so each line is decoded on its own (UTF-8, else Latin-1). Entries
and words are compared lower-cased, as SENNA does.
"""

import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import numpy
import srsly

from .errors import Errors
from .tags import OUTSIDE, chunks_to_tags

Match = Tuple[int, int, str]  # (start, end exclusive, type)
PathLike = Union[str, Path]
LIST_GLOB = "ner.*.lst"
LIST_NAME = re.compile(r"ner\.(.+)\.lst")
FEATURE_PREFIXES = ("B", "I", "E", "S")  # BIOES, one group per type, after an "O" column


class Gazetteer:
    """Entity lists per type with greedy longest matching and per-token features."""

    def __init__(self, entries: Optional[Mapping[str, Iterable[str]]] = None) -> None:
        """entries (Optional[Mapping[str, Iterable[str]]]): Per type, its entries (words
        separated by spaces)."""
        self._types_of: Dict[Tuple[str, ...], Tuple[str, ...]] = {}
        self._longest: Dict[str, int] = {}
        self.types: List[str] = []
        self._index(entries or {})

    def _index(self, entries: Mapping[str, Iterable[str]]) -> None:
        types_of: Dict[Tuple[str, ...], Set[str]] = {}
        for kind, kind_entries in entries.items():
            for entry in kind_entries:
                words = tuple(entry.lower().split())
                if words:
                    types_of.setdefault(words, set()).add(kind)
        self.types = sorted(entries)
        self._types_of = {words: tuple(sorted(kinds)) for words, kinds in types_of.items()}
        self._longest = {}
        for words in self._types_of:
            self._longest[words[0]] = max(self._longest.get(words[0], 0), len(words))

    def __len__(self) -> int:
        return len(self._types_of)

    def entries(self) -> Dict[str, List[str]]:
        """RETURNS (Dict[str, List[str]]): Per type, its entries (lower-cased, sorted)."""
        by_type: Dict[str, List[str]] = {kind: [] for kind in self.types}
        for words, kinds in self._types_of.items():
            for kind in kinds:
                by_type[kind].append(" ".join(words))
        return {kind: sorted(kind_entries) for kind, kind_entries in by_type.items()}

    def match(self, words: Sequence[str]) -> List[Match]:
        """Find entries in a sentence: left to right, the longest entry that starts at a
        word wins and matching resumes after it, so matches never overlap. An entry that
        is in several lists gives one match per type, over the same words.

        words (Sequence[str]): The words of a sentence.
        RETURNS (List[Match]): (start, end exclusive, type) per match, in order.
        """
        lowered = [word.lower() for word in words]
        matches: List[Match] = []
        start = 0
        while start < len(lowered):
            length = min(self._longest.get(lowered[start], 0), len(lowered) - start)
            while length and tuple(lowered[start : start + length]) not in self._types_of:
                length -= 1
            if not length:
                start += 1
                continue
            kinds = self._types_of[tuple(lowered[start : start + length])]
            matches.extend((start, start + length, kind) for kind in kinds)
            start += length
        return matches

    @property
    def feature_labels(self) -> List[str]:
        """The names of the feature columns: `O`, then `B-T`, `I-T`, `E-T`, `S-T` per type."""
        labels = [f"{prefix}-{kind}" for kind in self.types for prefix in FEATURE_PREFIXES]
        return [OUTSIDE] + labels

    def token_features(self, words: Sequence[str]) -> numpy.ndarray:
        """One row of BIOES features per word, from `match`: the word's position in a
        match of each type (B, I, E, or S for a one-word match), or `O` if no entry
        covers it. One-hot, except that a match listed under several types sets one
        column per type.

        words (Sequence[str]): The words of a sentence.
        RETURNS (numpy.ndarray): float32, shape (len(words), len(feature_labels)).
        """
        columns = {label: i for i, label in enumerate(self.feature_labels)}
        features = numpy.zeros((len(words), len(columns)), dtype="float32")
        features[:, 0] = 1.0
        for start, end, kind in self.match(words):
            tags = chunks_to_tags([(0, end - start, kind)], end - start, "BIOES")
            for i, tag in enumerate(tags, start):
                features[i, 0] = 0.0
                features[i, columns[tag]] = 1.0
        return features

    def to_bytes(self) -> bytes:
        """RETURNS (bytes): The entries per type, msgpack-encoded."""
        return srsly.msgpack_dumps({"entries": self.entries()})

    def from_bytes(self, bytes_data: bytes) -> "Gazetteer":
        """Load the entries written by `to_bytes`. RETURNS (Gazetteer): self."""
        self._index(srsly.msgpack_loads(bytes_data)["entries"])
        return self

    def to_disk(self, path: PathLike) -> None:
        """Write the gazetteer to a file."""
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: PathLike) -> "Gazetteer":
        """Load a gazetteer written by `to_disk`. RETURNS (Gazetteer): self."""
        return self.from_bytes(Path(path).read_bytes())


def list_type(path: Path) -> str:
    """The entity type of a list file: `ner.loc.lst` -> `LOC`, else the upper-cased stem."""
    found = LIST_NAME.fullmatch(path.name)
    return (found.group(1) if found else path.stem).upper()


def read_list(path: Path) -> List[str]:
    """The entries of a list file, each line decoded on its own (UTF-8, else Latin-1),
    without a byte order mark."""
    entries = []
    for raw in path.read_bytes().split(b"\n"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = text.lstrip("\ufeff").strip()
        if text:
            entries.append(text)
    return entries


def load_gazetteer(paths: Union[PathLike, Sequence[PathLike]]) -> Gazetteer:
    """Load SENNA-style lists: a folder (its `ner.*.lst` files) or a list of files.

    paths (Union[PathLike, Sequence[PathLike]]): The folder, a file, or files.
    RETURNS (Gazetteer): The lists, one type per file.
    """
    if isinstance(paths, (str, Path)):
        folder = Path(paths)
        files = sorted(folder.glob(LIST_GLOB)) if folder.is_dir() else [folder]
    else:
        files = [Path(path) for path in paths]
    if not files:
        raise ValueError(Errors.E043.format(path=paths, glob=LIST_GLOB))
    entries: Dict[str, List[str]] = {}
    for path in files:
        entries.setdefault(list_type(path), []).extend(read_list(path))
    return Gazetteer(entries)
