import os
from pathlib import Path
from typing import Callable, Union

import pytest
from spacy.util import fix_random_seed

from .util import NER_DATA, TAG_DATA, examples_for, tiny_tagger, train

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


@pytest.fixture
def gpu():
    """Run the test on CUDA GPU $XFER_GPU_ID (default 0) through thinc's `require_gpu`,
    back on the CPU afterwards. Without a usable GPU the test skips, naming what is
    missing (CI has none); with XFER_REQUIRE_GPU=1 (bench/gpu_check.sh) it fails."""
    from thinc.api import require_cpu

    from spacy_xfer.device import gpu_problems, use_device

    gpu_id = int(os.environ.get("XFER_GPU_ID", "0"))
    problems = gpu_problems(gpu_id)
    if problems:
        reason = f"no usable GPU {gpu_id}: {'; '.join(problems)}"
        if os.environ.get("XFER_REQUIRE_GPU") == "1":
            pytest.fail(reason + " (XFER_REQUIRE_GPU=1)")
        if os.environ.get("CI") == "true":
            reason = "CI has no GPU, so GPU tests skip there (bench/gpu_check.sh runs them on a GPU machine): " + reason
        pytest.skip(reason)
    use_device(gpu_id)
    yield gpu_id
    require_cpu()


def saved_tiny_model(tmp_path_factory, target: str, data) -> Path:
    """A tiny pipeline trained on `data` for `target`, saved to disk: the same model
    whichever tests ran before (seeded)."""
    fix_random_seed(0)
    nlp = tiny_tagger(target)
    train(nlp, examples_for(nlp, data, target), steps=25)
    path = tmp_path_factory.mktemp("models") / target
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory) -> Path:
    """A tiny trained NER pipeline on disk."""
    return saved_tiny_model(tmp_path_factory, "ents", NER_DATA)


@pytest.fixture(scope="session")
def tag_model(tmp_path_factory) -> Path:
    """A tiny trained POS tagger on disk."""
    return saved_tiny_model(tmp_path_factory, "tag", TAG_DATA)


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
