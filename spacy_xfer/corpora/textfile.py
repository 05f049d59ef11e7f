"""Read a corpus file line by line: decoding per line, line numbers, a progress bar."""

import codecs
import sys
from pathlib import Path
from typing import Iterator, Optional, Tuple

from tqdm import tqdm

from .errors import ProblemLog

FALLBACK_ENCODING = "latin-1"  # decodes any byte: the lenient repair of undecodable lines


def encoding_problem(encoding: str) -> Optional[str]:
    """What `read_lines` expects of an encoding it cannot use, or None: a text codec
    Python knows, in which a line break is the byte `\n` (files are split into lines
    before decoding, so UTF-16 and UTF-32 cannot be read)."""
    try:
        encoder = codecs.getincrementalencoder(encoding)()
        encoder.encode("a")  # a byte-order mark, if any, comes first
        line_break = encoder.encode("\n")
    except (LookupError, TypeError):  # TypeError: a bytes-to-bytes codec such as 'hex'
        return "a Python text codec name such as 'utf-8' or 'latin-1'"
    if line_break != b"\n":
        return (
            "an encoding that writes a line break as the byte \\n, such as 'utf-8' or 'latin-1' "
            "(convert the file first, e.g. `iconv -f utf-16 -t utf-8`)"
        )
    return None


def read_lines(
    path: Path, log: ProblemLog, *, encoding: str = "utf-8", progress: bool = False
) -> Iterator[Tuple[int, str]]:
    """Yield the lines of a file with their 1-based numbers, without the line break.

    Each line is decoded on its own, so an undecodable byte is reported with its line
    (lenient: the line is decoded as Latin-1 instead). A byte order mark is dropped. A
    file whose lines end with CR only (read as one last line without LF, with CRs
    inside) is reported (lenient: each CR ends a line, numbered as the line read).

    path (Path): The file.
    log (ProblemLog): Where undecodable lines are reported.
    encoding (str): The encoding of the file.
    progress (bool): Show a progress bar over the bytes read on stderr (when a terminal).
    YIELDS (Tuple[int, str]): The line number and the text.
    """
    with path.open("rb") as file, tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name,
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    ) as bar:
        for number, raw in enumerate(file, 1):
            bar.update(len(raw))
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as e:
                log.report(
                    path,
                    number,
                    f"undecodable bytes {raw[e.start:e.end]!r} at byte {e.start + 1}",
                    f"{encoding} text (or pass the file's encoding)",
                    action="repaired",
                )
                text = raw.decode(FALLBACK_ENCODING)
            if number == 1:
                text = text.lstrip("\ufeff")
            ended = text.endswith("\n")
            text = text.rstrip("\r\n")
            if ended or text.count("\r") < 2:  # a stray CR in an LF or CR LF file is kept
                yield number, text
                continue
            log.report(
                path,
                number,
                "carriage returns (CR) inside a line without LF (lines that end with CR only, as old Mac files do?)",
                "lines that end with LF or CR LF (convert the file, e.g. `tr '\\r' '\\n' < IN > OUT`)",
                action="repaired",
            )
            for piece in text.split("\r"):  # lenient: each CR ends a line
                yield number, piece
