"""What `annotate` and `select` read: plain text, pre-tokenized text, JSONL or DocBins,
one sentence (doc) per line or per doc, streamed.

| format   | one item is                                                              |
| -------- | ------------------------------------------------------------------------ |
| `text`   | a line of text, tokenized by the pipeline's tokenizer                    |
| `tokens` | a line of tokens separated by spaces                                     |
| `jsonl`  | a JSON object with `text` (tokenized by the pipeline) or `tokens` (a     |
|          | list of strings, or of Prodigy token objects with `text` and `ws`; with  |
|          | both, the tokens, which must be the text's words); its other fields      |
|          | (`meta`, ids, ...) are kept for the output (`Item.fields`)               |
| `docbin` | a doc of a `.spacy` file (its tokens; its annotations are not kept)      |

An empty line of `text` or `tokens` is an empty doc, so output line i is input line i.
Files are UTF-8 (a byte order mark opening a file is dropped); lines end at "\n" (a
CRLF's "\r" is dropped, a lone "\r" is part of the line).
INPUT is a file, or a folder whose files (not hidden, sorted by name) are read as one
stream.
"""

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..corpora.io import check_not_inputs
from ..docbin import iter_docs
from ..errors import Errors
from ..pipeline.serialization import model_files, model_folder

INPUT_FORMATS = ("text", "tokens", "jsonl", "docbin")
# The fields of a JSONL record that do not carry over from the input: the words, which
# `annotate` and `select` write from the doc (its text and tokens may differ from the
# input's), the annotations over them (`spans`, `span_groups`, `nbest`: the input's
# offsets would not fit the written text), and Prodigy's `_task_hash`, a hash of the
# task with its annotations (its `_input_hash`, of the text, is kept).
OWN_FIELDS = frozenset({"text", "tokens", "spans", "span_groups", "nbest", "_task_hash"})


class Item(NamedTuple):
    """One doc to annotate: its text (to tokenize) or its tokens, and where it is."""

    source: str  # "file:line" or "file:doc N", for error messages
    text: Optional[str] = None
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None
    # a JSONL record's fields other than those the output writes anew (OWN_FIELDS)
    fields: Optional[Dict[str, Any]] = None

    def make_doc(self, nlp: Language) -> Doc:
        """The item's doc, tokenized by the pipeline if given as text.

        RAISES (ValueError): naming the item's file and line, when spaCy refuses it.
        """
        try:
            if self.words is None:
                return nlp.make_doc(self.text or "")
            return Doc(nlp.vocab, words=self.words, spaces=self.spaces)
        except ValueError as e:
            problem = f"cannot make a doc of this input ({e})"
            raise ValueError(Errors.E048.format(source=self.source, problem=problem, expected="words spaCy can hold")) from e


def input_files(path: Path) -> List[Path]:
    """The files of INPUT: itself, or a folder's non-hidden files sorted by name.

    RAISES (OSError): for a missing path or an empty folder.
    """
    if not path.exists():
        raise FileNotFoundError(Errors.E049.format(path=path, problem="does not exist"))
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(Errors.E049.format(path=path, problem="is a folder without files"))
    return files


def check_output_apart(outputs: Sequence[Path], input_path: Path, files: List[Path], model: str) -> None:
    """Refuse an OUTPUT (a file, or a folder of shards) that would replace or join what
    a run reads: an input file or one of the model's files, the input folder or a path
    in it (its files are all read; its subfolders are not), or a path inside the
    model's folder (a path or an installed package's, whose files are all hashed).

    outputs (Sequence[Path]): the paths a run writes (OUTPUT, its shard folder).
    RAISES (ValueError): E038 naming the output.
    """
    check_not_inputs(outputs, [*files, *model_files(model)], "OUTPUT")
    folder = model_folder(model)
    for output in outputs:
        resolved = output.resolve()
        if input_path.is_dir() and input_path.resolve() in (resolved, resolved.parent):
            expected = f"a path outside the input folder {input_path} (whose files are all read)"
            raise ValueError(Errors.E038.format(setting="OUTPUT", value=str(output), expected=expected))
        if folder is not None and folder.is_dir() and folder.resolve() in (resolved, *resolved.parents):
            expected = f"a path outside the model's folder {folder} (its files are read and hashed)"
            raise ValueError(Errors.E038.format(setting="OUTPUT", value=str(output), expected=expected))


def check_input_format(input_format: str) -> None:
    """RAISES (ValueError): E039 if `input_format` is not one of INPUT_FORMATS."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(Errors.E039.format(kind="input format", value=input_format, choices=", ".join(INPUT_FORMATS)))


def read_items(paths: List[Path], input_format: str) -> Iterator[Item]:
    """Stream the items of the files, in order.

    RAISES (ValueError): for an unknown format (at the first item: check it with
        `check_input_format` before any other work), or a malformed line (naming file
        and line and what was expected).
    """
    check_input_format(input_format)
    for path in paths:
        if input_format == "docbin":
            yield from _docbin_items(path)
            continue
        with path.open("rb") as file:  # lines end at "\n" only: a lone "\r" is text
            for number, raw in enumerate(file, 1):
                source = f"{path}:{number}"
                line = _decode(source, raw, first=number == 1)
                line = line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith("\n") else line
                if input_format == "text":
                    yield Item(source, text=line)
                elif input_format == "tokens":
                    words = line.split()
                    yield Item(source, words=words, spaces=_spaces(len(words)))
                else:
                    yield _jsonl_item(source, line)


def _decode(source: str, raw: bytes, first: bool) -> str:
    """A line's bytes as text; a byte order mark opening the file is dropped.

    RAISES (ValueError): E048 naming the file and line, for bytes that are not UTF-8.
    """
    try:
        line = raw.decode("utf8")
    except UnicodeDecodeError as e:
        problem = f"bytes that are not UTF-8 ({e.reason} at byte {e.start} of the line)"
        raise ValueError(Errors.E048.format(source=source, problem=problem, expected="UTF-8 text")) from e
    return line.removeprefix("\ufeff") if first else line


def _spaces(n: int) -> List[bool]:
    return [True] * (n - 1) + [False] if n else []


def _jsonl_item(source: str, line: str) -> Item:
    expected = 'a JSON object with "text" (a string) or "tokens" (a list of strings or of {"text", "ws"} objects)'
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(Errors.E048.format(source=source, problem=f"invalid JSON ({e})", expected=expected)) from e
    if not isinstance(record, dict):
        raise ValueError(Errors.E048.format(source=source, problem=f"found {type(record).__name__}", expected=expected))
    tokens = record.get("tokens")
    text = record.get("text")
    if tokens is not None:
        words, spaces = _tokens(source, tokens, expected)
        _check_characters(source, words)
        if isinstance(text, str) and "".join(words) != "".join(text.split()):
            # both given (as in Prodigy's records): the tokens are read, so they must be the text's
            problem = f'its "tokens" {" ".join(words)[:60]!r} are not the words of its "text" {text[:60]!r}'
            raise ValueError(Errors.E048.format(source=source, problem=problem, expected=expected))
        return Item(source, words=words, spaces=spaces, fields=_other_fields(source, record))
    if not isinstance(text, str):
        raise ValueError(Errors.E048.format(source=source, problem='no "text" string or "tokens" list', expected=expected))
    _check_characters(source, [text])
    return Item(source, text=text, fields=_other_fields(source, record))


def _other_fields(source: str, record: Dict[str, Any]) -> Dict[str, Any]:
    """The record's fields the output keeps (all but OWN_FIELDS).

    RAISES (ValueError): E048 naming the file and line, for a lone surrogate in them,
        which the output could not write as UTF-8.
    """
    fields = {key: value for key, value in record.items() if key not in OWN_FIELDS}
    _check_characters(source, [json.dumps(fields, ensure_ascii=False)])
    return fields


def _check_characters(source: str, strings: List[str]) -> None:
    """RAISES (ValueError): E048 naming the file and line, for a lone surrogate (a JSON
    escape such as "\\ud800" without its pair), which is not a character and cannot be
    written as UTF-8."""
    for string in strings:
        try:
            string.encode("utf8")
        except UnicodeEncodeError as e:
            problem = f"a lone surrogate \\u{ord(string[e.start]):04x} (half of a UTF-16 pair), which is not a character"
            raise ValueError(Errors.E048.format(source=source, problem=problem, expected="text of Unicode characters")) from e


def _tokens(source: str, tokens: Any, expected: str) -> Tuple[List[str], List[bool]]:
    if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
        return list(tokens), _spaces(len(tokens))
    if isinstance(tokens, list) and all(isinstance(t, dict) and isinstance(t.get("text"), str) for t in tokens):
        for i, token in enumerate(tokens):
            if not isinstance(token.get("ws", True), bool):
                problem = f'token {i} with "ws" {token["ws"]!r}'
                raise ValueError(Errors.E048.format(source=source, problem=problem, expected=f'{expected}; "ws" true or false'))
        return [t["text"] for t in tokens], [t.get("ws", True) for t in tokens]
    raise ValueError(Errors.E048.format(source=source, problem=f'malformed "tokens" {str(tokens)[:80]}', expected=expected))


def _docbin_items(path: Path) -> Iterator[Item]:
    """The docs of a DocBin as items, one at a time.

    RAISES (ValueError): E108 for a file that is no DocBin or a doc that cannot be read
        (`docbin.iter_docs`).
    """
    for number, doc in enumerate(iter_docs(path, Vocab())):
        yield Item(f"{path}:doc {number}", words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
