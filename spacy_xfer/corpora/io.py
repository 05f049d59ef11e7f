"""Write outputs atomically: a file (a temp file, then a rename), a DocBin and its
statistics file, or a set of files (a staged folder, then renames)."""

import json
import os
import re
import shutil
import sys
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, Sequence

from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from ..errors import Errors

STATS_SUFFIX = ".stats.json"


def check_output(path: Path, *, folder: bool = False) -> None:
    """Fail, naming the path, where writing `path` (a file; with `folder`, a folder)
    would fail with an operating system error: it exists as the other kind, a file
    stands where one of the folders above it should be, or the folder it would be
    written in (the nearest that exists) is not writable.

    RAISES (ValueError): E081 for a folder where a file goes, E038 for a file where a
        folder goes, a dangling symbolic link or a folder you cannot write, E092 for a
        file in place of a folder above.
    """
    path = Path(path)
    setting = "output folder" if folder else "output file"
    if path.is_symlink() and not path.exists():
        expected = f"a path that is not a symbolic link to a missing target ({os.readlink(path)})"
        raise ValueError(Errors.E038.format(setting=setting, value=str(path), expected=expected))
    if path.exists():
        if folder and not path.is_dir():
            raise ValueError(Errors.E038.format(setting=setting, value=str(path), expected="a folder, not a file"))
        if not folder and path.is_dir():
            raise ValueError(Errors.E081.format(path=path, expected="a file path"))
        written = path if folder else path.parent
    else:
        written = next(parent for parent in path.parents if parent.exists())
        if not written.is_dir():
            raise ValueError(Errors.E092.format(path=path, parent=written))
    if not os.access(written, os.W_OK | os.X_OK):  # files are written by a rename inside their folder
        expected = f"a path in a folder you can write ({written.absolute()} is not)"
        raise ValueError(Errors.E038.format(setting=setting, value=str(path), expected=expected))


# the temp files of `atomic_file`, left behind only by a process killed mid-write
ATOMIC_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{32}\.tmp")


def check_not_inputs(outputs: Sequence[Path], inputs: Sequence[Path], setting: str) -> None:
    """Refuse outputs that would replace a file the run reads (the same file by any
    path, symbolic links resolved).

    RAISES (ValueError): E038 naming the setting and the output.
    """
    read = {Path(path).resolve() for path in inputs}
    for output in outputs:
        if Path(output).resolve() in read:
            expected = f"a path where {Path(output).name} does not replace an input file"
            raise ValueError(Errors.E038.format(setting=setting, value=str(output), expected=expected))


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: a temp file in the same folder, renamed to
    `path` when the block ends without an error (removed when it raises), so the path
    holds either the old content or all of the new, never a part.

    path (Path): The file to write; its folder is created if needed.
    RAISES (ValueError): as `check_output`.
    """
    check_output(path)
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


@contextmanager
def staged_folder(folder: Path, inputs: Sequence[Path] = (), *, replace: bool = False) -> Iterator[Path]:
    """A temp folder beside `folder` to write a set of files into: when the block ends
    without an error, each file is renamed into `folder` (created if needed; other
    files there are kept), or with `replace` the temp folder takes the place of
    `folder` as a whole; when it raises, `folder` and its parents are left as they
    were. So a failed run leaves no part of its outputs, and never a mix of an old
    run's files and a new one's.

    folder (Path): Where the files go. The staging folder is made in its parent (as
        `mkdir` makes folders, under the umask), so the parent must be writable and on
        the same file system.
    inputs (Sequence[Path]): the files the block reads: one that a staged file would
        replace raises E038 before anything is moved.
    replace (bool): replace `folder` and everything in it (moved aside, then deleted;
        put back if the staged folder cannot take its place).
    RAISES (ValueError): as `check_output`; E038 for an input a file would replace.
    """
    folder = Path(folder)
    check_output(folder, folder=True)
    check_output(folder.parent, folder=True)  # where the staging folder is made
    made = []  # the folders made here, innermost first (a path may hold `..`)
    for parent in reversed((folder.parent, *folder.parent.parents)):
        if not parent.exists():
            parent.mkdir()
            made.insert(0, parent)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    replaced = staging.with_suffix(".old")
    try:
        try:
            staging.mkdir()
            yield staging
            check_not_inputs([folder / file.name for file in staging.iterdir()], inputs, "OUTPUT_DIR")
            if replace:
                _replace_folder(folder, staging, replaced)
            else:
                folder.mkdir(exist_ok=True)
                for file in sorted(staging.iterdir()):
                    os.replace(file, folder / file.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(replaced, ignore_errors=True)
    except BaseException:
        for parent in made:
            with suppress(OSError):  # not empty: another process wrote there
                parent.rmdir()
        raise


def _replace_folder(folder: Path, staging: Path, replaced: Path) -> None:
    """Rename `staging` to `folder`, moving an existing `folder` to `replaced` first and
    back if the rename fails."""
    if folder.exists():
        os.replace(folder, replaced)
    try:
        os.replace(staging, folder)
    except BaseException:
        if replaced.exists():
            os.replace(replaced, folder)
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
    docs: Sequence[Doc], output: Path, stats: Dict[str, Any], *, progress: bool = False, inputs: Sequence[Path] = ()
) -> None:
    """Write Docs as a DocBin (with user data) and the statistics JSON beside it. Both
    paths are checked before either is written, and both are written to temp files
    first, renamed into place together at the end.

    docs (Sequence[Doc]): The Docs.
    output (Path): The `.spacy` file.
    stats (Dict[str, Any]): What to write to the statistics file.
    progress (bool): Show a progress bar over the Docs (on a terminal).
    inputs (Sequence[Path]): The files the Docs were read from, which neither output
        may replace.
    RAISES (ValueError): as `check_output` for either path, E038 for one that is an input.
    """
    output = Path(output)
    paths = (output, stats_path(output))
    for path in paths:
        check_output(path)
    check_not_inputs(paths, inputs, "output file")
    docbin = DocBin(store_user_data=True)
    disable = None if progress else True  # None: shown on a terminal only
    bar = tqdm(docs, desc=output.name, unit="doc", file=sys.stderr, disable=disable, leave=False)
    for doc in bar:
        docbin.add(doc)
    text = json.dumps(stats, indent=2, ensure_ascii=False) + "\n"
    with atomic_file(output) as docbin_file, atomic_file(paths[1]) as stats_file:
        docbin_file.write(docbin.to_bytes())
        stats_file.write(text.encode("utf8"))
