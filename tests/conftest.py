import os
from pathlib import Path

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
