"""Write outputs atomically: a DocBin and its statistics file (temp file, then rename)."""

import json
import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, Sequence

from spacy.tokens import Doc, DocBin
from tqdm import tqdm

STATS_SUFFIX = ".stats.json"


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: a temp file in the same folder, renamed to
    `path` when the block ends without an error (removed when it raises), so the path
    holds either the old content or all of the new, never a part.

    path (Path): The file to write; its folder is created if needed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically (see `atomic_file`).

    path (Path): The file to write; its folder is created if needed.
    data (bytes): The content.
    """
    with atomic_file(path) as file:
        file.write(data)


def stats_path(output: Path) -> Path:
    """The statistics file beside an output: `train.spacy` -> `train.stats.json`."""
    return output.with_name(output.stem + STATS_SUFFIX)


def write_docbin(
    docs: Sequence[Doc], output: Path, stats: Dict[str, Any], *, progress: bool = False
) -> None:
    """Write Docs as a DocBin (with user data) and the statistics JSON beside it.

    docs (Sequence[Doc]): The Docs.
    output (Path): The `.spacy` file.
    stats (Dict[str, Any]): What to write to the statistics file.
    progress (bool): Show a progress bar over the Docs (on a terminal).
    """
    docbin = DocBin(store_user_data=True)
    disable = None if progress else True  # None: shown on a terminal only
    bar = tqdm(docs, desc=output.name, unit="doc", file=sys.stderr, disable=disable, leave=False)
    for doc in bar:
        docbin.add(doc)
    write_atomic(output, docbin.to_bytes())
    text = json.dumps(stats, indent=2, ensure_ascii=False) + "\n"
    write_atomic(stats_path(output), text.encode("utf8"))
