"""Read a corpus file line by line: decoding per line, line numbers, a progress bar."""

import sys
from pathlib import Path
from typing import Iterator, Tuple

from tqdm import tqdm

from .errors import ProblemLog

FALLBACK_ENCODING = "latin-1"  # decodes any byte: the lenient repair of undecodable lines


def read_lines(
    path: Path, log: ProblemLog, *, encoding: str = "utf-8", progress: bool = False
) -> Iterator[Tuple[int, str]]:
    """Yield the lines of a file with their 1-based numbers, without the line break.

    Each line is decoded on its own, so an undecodable byte is reported with its line
    (lenient: the line is decoded as Latin-1 instead). A byte order mark is dropped.

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
            yield number, text.rstrip("\r\n")
