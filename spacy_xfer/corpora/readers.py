"""Corpus readers: one per format, each yielding sentences as plain `Sentence` records.

Where each column goes (`tag` -> `Token.tag_`, `ner` -> `Doc.ents`, `chunk` ->
`Doc.spans["chunks"]`, see `docs.py`):

| format | layout | tag | chunk | ner |
| --- | --- | --- | --- | --- |
| conll2003 | `word POS chunk NER`, `-DOCSTART-` lines | POS (PTB) | col 3, IOB1 | col 4, IOB1 |
| conll2000 | `word POS chunk` | POS (Brill tagger) | col 3, IOB2 | - |
| conll2002 | `word POS NER` (NLTK) or `word NER` | POS (es EAGLES, nl MBT) | - | last, IOB2 |
| ptb | `word/TAG` text (`[ ]`, `====`) or `word<TAB>tag` | PTB tag | - | - |
| conllu | 10 TAB-separated fields | UPOS or XPOS | - | - |
| twitter-pos | `word tag` | tag (PTB + URL USR HT RT) | - | - |
| twitter-ner | `word<TAB>tag` | - | - | col 2, IOB2 |
| twitter-chunk | `word tag`, lower case | - | col 2, IOB2, upper-cased | - |
| wnut | `word<TAB>tag` | - | - | col 2, IOB2 |
| genia | `word<TAB>tag` or `word/TAG` sentence lines | GENIA tag -> PTB | - | - |
| columns | user spec, e.g. `word,tag,chunk:iob1,ner:iob2` | `tag` | `chunk:SCHEME` | `ner:SCHEME` |

Shared rules: a line that is empty after stripping (also a TAB-only line) ends a sentence;
a line whose first field is `-DOCSTART-` ends the sentence and starts a document, with or
without a blank line after it; a label `_` (or an empty tag) is missing, a tag, chunk or
entity label alike; a sentence's chunk labels are all missing or none is. Columns are split
on TABs when the line has one (a field loses the ASCII whitespace at its ends, no other),
else on runs of spaces. A word spaCy cannot hold (empty, or
with a character UTF-8 cannot encode) is an error naming its line; lenient, its sentence
is skipped and counted. An input that yields no sentences, or no label at all in a layer
its format reads (a CoNLL-U field that is `_` everywhere), is a `CorpusContentError`.
"""

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple, Union

from ..errors import Errors
from ..tags import OUTSIDE
from .errors import CorpusContentError, ProblemLog
from .iob import check_iob_label, parse_scheme
from .mappings import NO_MAPPING, LabelMap, load_label_map
from .textfile import encoding_problem, read_lines

WORD, TAG, CHUNK, NER, SKIP = "word", "tag", "chunk", "ner", "_"
LAYERS = (TAG, CHUNK, NER)
MISSING = ""
MISSING_MARKS = ("_", "")
DOCSTART = "-DOCSTART-"
UPPER = "upper"
CONLLU_FIELDS = 10
CONLLU_TAG_FIELDS = {"upos": 3, "xpos": 4}
MEDLINE_FIELD = re.compile(r"([A-Z]{2})/LS")
MEDLINE_ID = "UI"
NP_BRACKETS = ("[", "]")
SENTENCE_END_TAG = "."
CLOSING_TAGS = ("''", ")", "-RRB-")


@dataclass
class Sentence:
    """One sentence as read: words, one label list per annotation layer, provenance."""

    words: List[str]
    labels: Dict[str, List[str]]  # layer (tag, chunk, ner) -> one label per word
    lines: List[int]  # the line number of each word
    doc_id: str
    sent_id: str


@dataclass(frozen=True)
class Column:
    """What one column holds: a role (word, tag, chunk, ner or `_`) and, for chunk and
    ner, the tag scheme and whether labels are upper-cased first."""

    role: str
    scheme: Optional[str] = None
    upper: bool = False


@dataclass(frozen=True)
class ReadOptions:
    """Options of the readers.

    columns (Optional[str]): The column spec of the `columns` format.
    conllu_tag (str): The CoNLL-U field that becomes the tag: `upos` or `xpos`.
    label_map (Optional[str]): A mapping table for the tags (a name, a JSON path, or
        `none`); None applies the format's default (`genia-ptb` for genia, else none).
    encoding (str): The encoding of the input files.
    """

    columns: Optional[str] = None
    conllu_tag: str = "upos"
    label_map: Optional[str] = None
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.conllu_tag not in CONLLU_TAG_FIELDS:
            choices = ", ".join(CONLLU_TAG_FIELDS)
            raise ValueError(Errors.E039.format(kind="CoNLL-U tag field", value=self.conllu_tag, choices=choices))


Lines = Iterable[Tuple[int, str]]
Reader = Callable[[Path, Lines, ProblemLog, ReadOptions], Iterator[Sentence]]


def parse_columns(spec: str) -> Tuple[Column, ...]:
    """Parse a column spec such as `word,tag,chunk:iob1,ner:iob2` or `word,_,ner`.

    Roles: `word` (exactly one), `tag`, `chunk`, `ner`, `_` (ignored). `chunk` and `ner`
    take a scheme, `iob1` or `iob2` (default), and the option `upper` to upper-case their
    labels (`b-np` -> `B-NP`).
    """
    columns = []
    for item in spec.split(","):
        role, *options = [part.strip() for part in item.split(":")]
        role = role.lower()
        if role not in (WORD, SKIP) + LAYERS:
            choices = f"{', '.join([WORD, *LAYERS, SKIP])} (as in 'word,tag,chunk:iob2,ner:iob1')"
            raise ValueError(Errors.E039.format(kind=f"column in {spec!r}", value=role, choices=choices))
        upper = UPPER in (option.lower() for option in options)
        schemes = [parse_scheme(option) for option in options if option.lower() != UPPER]
        if (schemes or upper) and role not in (CHUNK, NER) or len(schemes) > 1:
            expected = "a scheme (iob1 or iob2) and/or 'upper', on chunk and ner columns only"
            setting = f"options of column {role!r} in {spec!r}"
            raise ValueError(Errors.E038.format(setting=setting, value=options, expected=expected))
        scheme = (schemes or ["IOB2"])[0] if role in (CHUNK, NER) else None
        columns.append(Column(role, scheme, upper))
    roles = [column.role for column in columns if column.role != SKIP]
    if roles.count(WORD) != 1 or len(roles) != len(set(roles)):
        expected = f"exactly one 'word' column and each of {', '.join(LAYERS)} at most once"
        raise ValueError(Errors.E038.format(setting="column spec", value=spec, expected=expected))
    return tuple(columns)


def describe_columns(columns: Tuple[Column, ...]) -> str:
    """Write a layout back as a spec, e.g. `word tag chunk:IOB1 ner:IOB1`."""
    return " ".join(f"{c.role}:{c.scheme}" if c.scheme else c.role for c in columns)


def _token_problem(word: str, labels: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """Why a word and its labels cannot become a spaCy token, or None if they can.

    `Doc(vocab, words=...)` rejects exactly two kinds of string: the empty string ([E031])
    and one that UTF-8 cannot encode (a lone surrogate, which some decoders produce), as
    the StringStore holds UTF-8. Labels go through the same StringStore; an empty label is
    missing. Whitespace is accepted in a word: " " becomes a whitespace token, as spaCy's
    tokenizer makes them; not in a label, where it means a line split into too few
    fields (a label of a TAB-separated line with a space in it: "NOUN NOUN").

    RETURNS (Optional[Tuple[str, str]]): What is wrong and what was expected, or None.
    """
    if not word:
        return "empty word", "a word of at least one character (spaCy has no empty tokens)"
    for what, text in [("word", word), *((f"{layer} label", v) for layer, v in labels.items())]:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            return (
                f"{what} {text!r} holds {text[e.start:e.end]!r}, which UTF-8 cannot encode",
                "text that UTF-8 can encode (spaCy stores strings as UTF-8; check the encoding)",
            )
    for layer, label in labels.items():
        if any(char.isspace() for char in label):
            return f"{layer} label {label!r} holds whitespace", "one label per field, without whitespace"
    return None


class SentenceBuilder:
    """Collect the words of a sentence, checking chunk and entity labels as they come."""

    def __init__(self, path: Path, log: ProblemLog, schemes: Mapping[str, Optional[str]]):
        self.path = path
        self.log = log
        self.schemes = schemes
        self.doc_id = path.name
        self.sent_id: Optional[str] = None
        self.n_docs = 0
        self._reset()

    def _reset(self) -> None:
        self.words: List[str] = []
        self.lines: List[int] = []
        self.labels: Dict[str, List[str]] = {}
        self.broken = False

    def new_doc(self, doc_id: Optional[str] = None) -> None:
        """Start a document: its id is given, or `FILE#N` for the N-th document."""
        self.n_docs += 1
        self.doc_id = doc_id or f"{self.path.name}#{self.n_docs}"

    def add(self, line: int, word: str, labels: Mapping[str, str]) -> None:
        """Add a word with its label per layer, read from line number `line`.

        A word or label that cannot become a spaCy token or label (see `_token_problem`) is
        reported; when lenient, the whole sentence is left out (and counted).
        """
        if self.broken:
            return
        problem = _token_problem(word, labels)
        if problem is not None:
            self.skip(line, *problem)
            return
        for layer, label in labels.items():
            column = self.labels.setdefault(layer, [])
            scheme = self.schemes.get(layer)
            if scheme is not None and label != MISSING:
                prev = (column[-1] or MISSING_MARKS[0]) if column else OUTSIDE
                problem = check_iob_label(label, prev, scheme)
                if problem is not None:
                    self.log.report(
                        self.path, line, problem.problem, problem.expected, action="repaired"
                    )
                    label = problem.repair
            column.append(label)
        self.words.append(word)
        self.lines.append(line)

    def skip(self, line: int, problem: str, expected: str) -> None:
        """Report a malformed line of the sentence being collected; when lenient, the
        whole sentence is left out (and counted), since it lacks a word."""
        self.log.report(self.path, line, problem, expected, action="skipped")
        self.broken = True

    def _check_missing_chunks(self) -> None:
        """A sentence's chunk labels are all missing or none is: `Doc.spans` holds a
        sentence's chunks or none, no missing token beside them. A missing label beside
        others is reported; the repair is `O`."""
        chunks = self.labels.get(CHUNK, [])
        if MISSING not in chunks or not any(chunks):
            return
        for line, label in zip(self.lines, chunks):
            if label == MISSING:
                problem = f"chunk label {MISSING_MARKS[0]!r} (missing) in a sentence with chunk labels"
                expected = f"chunk labels on every word of the sentence, or {MISSING_MARKS[0]!r} on every word (no chunk annotation)"
                self.log.report(self.path, line, problem, expected, action="repaired")
        self.labels[CHUNK] = [label or OUTSIDE for label in chunks]

    def flush(self) -> Iterator[Sentence]:
        """Yield the sentence collected so far, if any, and start a new one. A sentence
        with a skipped line (a word spaCy cannot hold, a malformed line) is counted as
        skipped instead; its lines after that one are not checked, so the counts of
        touched lines leave out what they would have touched."""
        if self.broken:
            self.log.skip_sentence()
        elif self.words:
            self._check_missing_chunks()
            sent_id = self.sent_id or f"{self.path.name}:{self.lines[0]}"
            yield Sentence(self.words, self.labels, self.lines, self.doc_id, sent_id)
        self.sent_id = None
        self._reset()


ASCII_WHITESPACE = " \t\r\n\f\v"


def _tag(value: str) -> str:
    return MISSING if value in MISSING_MARKS else value


def _label(column: Column, value: str) -> str:
    """A column's label: `_` (or empty) is missing in every layer, tags, chunks and
    entities alike."""
    label = _tag(value)
    return label.upper() if column.upper else label


def split_fields(text: str) -> List[str]:
    """A line's fields: TAB-separated if it has a TAB, else separated by whitespace. A
    TAB field is stripped of ASCII whitespace only: a word keeps the non-ASCII
    whitespace at its ends (a no-break space before it; a no-break space alone is a
    whitespace word), as given; in a label it is an error (see `_token_problem`). A
    line of whitespace only has none."""
    if not text.strip():
        return []
    stripped = text.strip(ASCII_WHITESPACE)
    if "\t" in stripped:
        return [field.strip(ASCII_WHITESPACE) for field in stripped.split("\t")]
    return stripped.split()


def _wrong_width(text: str, fields: List[str], widths: Set[int]) -> str:
    """What is wrong with a line whose fields fit no layout: an empty TAB field at
    either end (`<TAB>tag`, `word<TAB>`: the TAB-separated line has a layout's width
    before stripping), or its number of columns."""
    if "\t" in text and len(text.split("\t")) in widths:
        return "an empty TAB field at the start or end of the line (an empty word or label)"
    return f"{len(fields)} columns"


def _read_columns(
    path: Path, lines: Lines, log: ProblemLog, layouts: List[Tuple[Column, ...]]
) -> Iterator[Sentence]:
    by_width = {len(layout): layout for layout in layouts}
    expected = " or ".join(f"{len(lay)} columns ({describe_columns(lay)})" for lay in layouts)
    schemes = {c.role: c.scheme for layout in layouts for c in layout if c.role in LAYERS}
    builder = SentenceBuilder(path, log, schemes)
    layout: Optional[Tuple[Column, ...]] = None
    for number, text in lines:
        fields = split_fields(text)
        if not fields:
            yield from builder.flush()
            continue
        if fields[0] == DOCSTART:
            yield from builder.flush()
            builder.new_doc()
            log.note("-DOCSTART- lines")
            continue
        if len(fields) != len(layout or by_width.get(len(fields), ())):
            chosen = f"{len(layout)} columns ({describe_columns(layout)}), the layout of the file's first line" if layout else expected
            builder.skip(number, _wrong_width(text, fields, {len(layout)} if layout else set(by_width)), chosen)
            continue
        layout = by_width[len(fields)]
        word = next(value for column, value in zip(layout, fields) if column.role == WORD)
        labels = {c.role: _label(c, value) for c, value in zip(layout, fields) if c.role in LAYERS}
        builder.add(number, word, labels)
    yield from builder.flush()


def _column_reader(*specs: str) -> Reader:
    """A reader for fixed column layouts; with several, the first line's width picks one."""
    layouts = [parse_columns(spec) for spec in specs]

    def read(path: Path, lines: Lines, log: ProblemLog, options: ReadOptions) -> Iterator[Sentence]:
        return _read_columns(path, lines, log, layouts)

    return read


def _read_user_columns(
    path: Path, lines: Lines, log: ProblemLog, options: ReadOptions
) -> Iterator[Sentence]:
    if not options.columns:
        expected = "one for the 'columns' format, e.g. 'word,tag,chunk:iob2,ner:iob1' (roles word, tag, chunk, ner, _)"
        raise ValueError(Errors.E038.format(setting="column spec", value=options.columns, expected=expected))
    return _read_columns(path, lines, log, [parse_columns(options.columns)])


def _read_conllu(
    path: Path, lines: Lines, log: ProblemLog, options: ReadOptions
) -> Iterator[Sentence]:
    tag_field = CONLLU_TAG_FIELDS[options.conllu_tag]
    builder = SentenceBuilder(path, log, {})
    open_range: Optional[Tuple[int, int, str]] = None  # (line, last word ID, ID) of a multiword token

    def check_range() -> None:
        """A multiword token's range must end at a word the sentence has."""
        if open_range is not None and not builder.broken and open_range[1] > len(builder.words):
            line, _, ids = open_range
            builder.skip(line, f"multiword range {ids} over words the sentence does not have", "the range's words on the lines after it")

    for number, text in lines:
        if not text.strip():
            check_range()
            open_range = None
            yield from builder.flush()
            continue
        if text.startswith("#"):
            key, _, value = (part.strip() for part in text[1:].partition("="))
            if key in ("newdoc", "newdoc id"):
                builder.new_doc(value or None)
            elif key == "sent_id":
                builder.sent_id = value
            continue
        fields = text.split("\t")
        if len(fields) != CONLLU_FIELDS:
            problem = f"{len(fields)} TAB-separated fields"
            builder.skip(number, problem, "10 (CoNLL-U)")
        elif re.fullmatch(r"[0-9]+", fields[0]):
            next_id = len(builder.words) + 1
            if int(fields[0]) != next_id and not builder.broken:
                builder.skip(number, f"word ID {fields[0]} after {next_id - 1} words", f"the IDs 1, 2, 3, ... in order (here {next_id})")
            builder.add(number, fields[1], {TAG: _tag(fields[tag_field])})
        elif re.fullmatch(r"\d+-\d+", fields[0]):
            first, last = (int(part) for part in fields[0].split("-"))
            next_id = len(builder.words) + 1
            if (first != next_id or last <= first) and not builder.broken:
                builder.skip(number, f"multiword range {fields[0]}", f"a range from the next word's ID ({next_id}) to a later one")
            open_range = (number, last, fields[0])
            log.note("multiword-token lines (their words are read)")
        elif re.fullmatch(r"\d+\.\d+", fields[0]):
            log.note("empty nodes (left out)")
        else:
            builder.skip(number, f"ID {fields[0]!r}", "a word index (7), a multiword range (7-8) or an empty node (7.1)")
    check_range()
    yield from builder.flush()


def _add_slashed_items(
    builder: SentenceBuilder, items: List[str], number: int, log: ProblemLog
) -> None:
    """Add `word/TAG` items; an item without `/` is a fragment of the next word (GENIA
    tokens may hold a space: `HIV- 1/NN` is the word `HIV-1`) and is glued onto it."""
    fragment = ""
    for item in items:
        word, slash, tag = item.rpartition("/")
        if not slash:
            fragment += item
            log.note("whitespace fragments glued to the next word")
            continue
        if not tag:
            log.note("empty tags (read as missing)")
        builder.add(number, fragment + word, {TAG: _tag(tag)})
        fragment = ""
    if fragment:
        builder.skip(number, f"{fragment!r} has no /TAG and no word follows it on the line", "word/TAG items")


def _read_genia_lines(
    path: Path, lines: Lines, log: ProblemLog, options: ReadOptions
) -> Iterator[Sentence]:
    """GENIA's original layout: one sentence per line of `word/TAG` items; `UI/LS -/: ID`
    lines start an abstract, `TI/LS -/:` and `AB/LS -/:` pseudo-words are left out."""
    builder = SentenceBuilder(path, log, {})
    for number, text in lines:
        items = text.split()
        field = MEDLINE_FIELD.fullmatch(items[0]) if len(items) > 1 else None
        if field and items[1] == "-/:":
            if field.group(1) == MEDLINE_ID:
                builder.new_doc(items[2].rpartition("/")[0] if len(items) > 2 else None)
                continue
            items = items[2:]
            log.note("MEDLINE field prefixes left out")
        _add_slashed_items(builder, items, number, log)
        yield from builder.flush()


def _is_separator(text: str) -> bool:
    return bool(text) and set(text) == {"="}


def _read_tagged_text(
    path: Path, lines: Lines, log: ProblemLog, options: ReadOptions
) -> Iterator[Sentence]:
    """PTB-II tagged text (`.pos`): `word/TAG` items, `[ ]` around NPs (left out). Blank
    lines do not mark sentences: a sentence ends after a word tagged `.` and the closing
    quotes or brackets right after it, at a `=====` line and at the end of the file."""
    builder = SentenceBuilder(path, log, {})
    builder.doc_id = path.stem
    ended = False
    for number, text in lines:
        if _is_separator(text.strip()):
            yield from builder.flush()
            ended = False
            continue
        for item in text.split():
            if item in NP_BRACKETS:
                continue
            word, slash, tag = item.rpartition("/")
            if not slash or not word:
                if ended:  # the item starts the next sentence
                    yield from builder.flush()
                    ended = False
                builder.skip(number, f"item {item!r}", "word/TAG items, '[' or ']'")
                continue
            if ended and tag not in CLOSING_TAGS:
                yield from builder.flush()
            ended = tag == SENTENCE_END_TAG or (ended and tag in CLOSING_TAGS)
            if not tag:
                log.note("empty tags (read as missing)")
            builder.add(number, word, {TAG: _tag(tag)})
    yield from builder.flush()


def _is_slashed(text: str) -> bool:
    """Whether a line is `word/TAG` text rather than columns: no TAB, and its last item
    (a tag in columns, which never holds a `/`) has a `/`."""
    items = [item for item in text.split() if item not in NP_BRACKETS]
    return "\t" not in text and bool(items) and "/" in items[-1]


def _slashed_or_columns(read_slashed: Reader) -> Reader:
    """A reader for `word/TAG` text (by `read_slashed`) or `word tag` columns, chosen by
    the file's first line with words."""
    read_word_tag = _column_reader(f"{WORD},{TAG}")

    def read(path: Path, lines: Lines, log: ProblemLog, options: ReadOptions) -> Iterator[Sentence]:
        rest = iter(lines)
        head: List[Tuple[int, str]] = []
        for number, text in rest:
            head.append((number, text))
            if text.strip() and not _is_separator(text.strip()):
                break
        reader = read_slashed if head and _is_slashed(head[-1][1]) else read_word_tag
        return reader(path, itertools.chain(head, rest), log, options)

    return read


@dataclass(frozen=True)
class Format:
    """A corpus format: its reader, a one-line help, the default label mapping of its
    tags, and the files read when the input is a folder (None: one file only)."""

    read: Reader
    help: str
    label_map: str = NO_MAPPING
    glob: Optional[str] = None


FORMATS: Dict[str, Format] = {
    "conll2003": Format(
        _column_reader("word,tag,chunk:iob1,ner:iob1"),
        "CoNLL 2003: word POS chunk NER, IOB1, -DOCSTART- lines",
    ),
    "conll2000": Format(_column_reader("word,tag,chunk:iob2"), "CoNLL 2000: word POS chunk, IOB2"),
    "conll2002": Format(
        _column_reader("word,tag,ner:iob2", "word,ner:iob2"),
        "CoNLL 2002: word [POS] NER, IOB2 (NLTK's UTF-8 copy; Dutch -DOCSTART- lines)",
    ),
    "ptb": Format(
        _slashed_or_columns(_read_tagged_text),
        "Penn Treebank tagged text (.pos files, or a folder of them) or word<TAB>tag lines",
        glob="*.pos",
    ),
    "conllu": Format(
        _read_conllu, "CoNLL-U: UPOS or XPOS as the tag (--conllu-tag)", glob="*.conllu"
    ),
    "twitter-pos": Format(_column_reader("word,tag"), "Ritter et al. (2011) Twitter POS"),
    "twitter-ner": Format(_column_reader("word,ner:iob2"), "Ritter et al. (2011) Twitter NER"),
    "twitter-chunk": Format(
        _column_reader("word,chunk:iob2:upper"), "Ritter et al. (2011) Twitter chunks"
    ),
    "wnut": Format(_column_reader("word,ner:iob2"), "WNUT 2016/2017 Twitter NER"),
    "genia": Format(
        _slashed_or_columns(_read_genia_lines),
        "GENIA POS: word<TAB>tag, or the original word/TAG lines; tags mapped onto PTB",
        label_map="genia-ptb",
    ),
    "columns": Format(_read_user_columns, "any column file, with --columns SPEC"),
}


def get_format(name: str) -> Format:
    """Look a format up by name, raising ValueError with the known names."""
    if name not in FORMATS:
        raise ValueError(Errors.E039.format(kind="corpus format", value=name, choices=", ".join(FORMATS)))
    return FORMATS[name]


def input_files(path: Path, fmt: str) -> List[Path]:
    """The files to read: the file itself, or for a folder the files matching the
    format's pattern, sorted.

    RAISES (FileNotFoundError): E049 for a path that does not exist.
    RAISES (ValueError): E081 for a folder without the files the format reads.
    """
    glob = get_format(fmt).glob
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(Errors.E049.format(path=path, problem="does not exist"))
    files = sorted(p for p in path.glob(glob) if p.is_file()) if glob else []
    if not files:
        wanted = f"files matching {glob!r}" if glob else "a file (this format reads one file)"
        raise ValueError(Errors.E081.format(path=path, expected=wanted))
    return files


def _label_source(fmt: str, layer: str, options: ReadOptions) -> str:
    """Where a format reads a layer from, for messages: `the CoNLL-U XPOS field`."""
    if fmt == "conllu":
        return f"the CoNLL-U {options.conllu_tag.upper()} field (--conllu-tag)"
    return f"the {layer} column"


def _check_content(
    path: Path, fmt: str, options: ReadOptions, log: ProblemLog, sentences: Iterable[Sentence]
) -> Iterator[Sentence]:
    """Pass the sentences on; at the end, raise CorpusContentError if there were none, or
    if a layer the format read has no label at all (every one missing)."""
    n_sentences = n_tokens = 0
    n_labels: Dict[str, int] = {}
    for sentence in sentences:
        n_sentences += 1
        n_tokens += len(sentence.words)
        for layer, labels in sentence.labels.items():
            n_labels[layer] = n_labels.get(layer, 0) + sum(label != MISSING for label in labels)
        yield sentence
    if not n_sentences:
        skipped = log.to_dict()
        detail = (
            f" (lenient: {skipped['skipped_lines']} lines skipped, "
            f"{skipped['skipped_sentences']} sentences left out)"
            if log.lenient
            else ""
        )
        raise CorpusContentError(
            path,
            f"no sentences read{detail}",
            f"at least one sentence in the {fmt!r} format ({get_format(fmt).help})",
        )
    for layer, count in n_labels.items():
        if not count:
            source = _label_source(fmt, layer, options)
            raise CorpusContentError(
                path,
                f"no {layer} labels: {source} is missing ('_' or empty) on all {n_tokens} tokens",
                f"at least one {layer} label; read another field or column, or a format "
                f"without a {layer} layer",
            )


def read_corpus(
    path: Union[str, Path],
    fmt: str,
    options: ReadOptions = ReadOptions(),
    *,
    log: Optional[ProblemLog] = None,
    progress: bool = False,
) -> Iterator[Sentence]:
    """Read a corpus file (or a folder of them) sentence by sentence.

    path (Union[str, Path]): The file or folder.
    fmt (str): A name in FORMATS, e.g. `conll2003`.
    options (ReadOptions): Column spec, CoNLL-U tag field, label mapping, encoding.
    log (Optional[ProblemLog]): Decides on malformed lines and counts them; strict if None.
    progress (bool): Show a progress bar per file (on a terminal).
    YIELDS (Sentence): The sentences, in file order, tags mapped if a mapping applies.
    RAISES ValueError: E038 for an encoding `encoding_problem` refuses, or a column spec
        with another format. CorpusFormatError: A malformed line (strict). CorpusContentError (after the
        last sentence): the input held no sentence, or no label of a layer it reads.
    """
    corpus_format = get_format(fmt)
    expected = encoding_problem(options.encoding)
    if expected is not None:
        raise ValueError(Errors.E038.format(setting="encoding", value=options.encoding, expected=expected))
    if options.columns and corpus_format.read is not _read_user_columns:
        expected = f"none with format {fmt!r}: a column spec is for the 'columns' format only"
        raise ValueError(Errors.E038.format(setting="column spec", value=options.columns, expected=expected))
    label_map = load_label_map(options.label_map or corpus_format.label_map)
    log = log if log is not None else ProblemLog()
    files = input_files(Path(path), fmt)
    sentences = _read_files(files, corpus_format, label_map, log, options, progress)
    yield from _check_content(Path(path), fmt, options, log, sentences)


def _read_files(
    files: List[Path],
    corpus_format: Format,
    label_map: Optional[LabelMap],
    log: ProblemLog,
    options: ReadOptions,
    progress: bool,
) -> Iterator[Sentence]:
    for file in files:
        lines = read_lines(file, log, encoding=options.encoding, progress=progress)
        for sentence in corpus_format.read(file, lines, log, options):
            if label_map is not None and TAG in sentence.labels:
                sentence.labels[TAG] = [label_map(tag) for tag in sentence.labels[TAG]]
            yield sentence
