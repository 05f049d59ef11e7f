import os
from pathlib import Path
from typing import Callable, Union

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def corpora_dir() -> Path:
    """The folder with the benchmark corpora: $XFER_CORPORA_DIR or ../shared/corpora."""
    default = REPO_ROOT.parent / "shared" / "corpora"
    return Path(os.environ.get("XFER_CORPORA_DIR", default))


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_dir()
    if not path.is_dir():
        if os.environ.get("CI") == "true":  # CI has the corpora: a missing one is a failure
            pytest.fail(f"corpora folder {path} not found (set XFER_CORPORA_DIR)")
        pytest.skip(f"corpora folder {path} not found (set XFER_CORPORA_DIR)")
    return path


WriteFile = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteFile:
    """Write a tiny inline corpus (text or bytes) to tmp_path and return its path."""

    def write_file(text: Union[str, bytes], name: str = "corpus.txt") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf8") if isinstance(text, str) else text
        path.write_bytes(data)
        return path

    return write_file
