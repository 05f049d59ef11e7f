"""Fixtures: a WNUT-style corpus of one's own and user benchmark files, in tmp_path."""

import json
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from .util import WNUT


@pytest.fixture
def wnut_files(tmp_path: Path) -> Dict[str, Path]:
    """train, dev and test files of the WNUT-style corpus in tmp_path/data."""
    folder = tmp_path / "data"
    folder.mkdir()
    files = {part: folder / f"{part}.txt" for part in ("train", "dev", "test")}
    for path in files.values():
        path.write_text(WNUT, encoding="utf8")
    return files


@pytest.fixture
def write_benchmarks(tmp_path: Path) -> Callable[[Dict[str, Any]], Path]:
    """Write a user benchmarks file (tmp_path/data/benchmarks.json) and return its path."""

    def write(benchmarks: Dict[str, Any]) -> Path:
        path = tmp_path / "data" / "benchmarks.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(benchmarks), encoding="utf8")
        return path

    return write
