from pathlib import Path
from typing import Dict

import pytest

from .util import make_docs, write_docbin


@pytest.fixture
def three_tasks(tmp_path: Path) -> Dict[str, Path]:
    """Three tiny corpora of 30, 20 and 10 docs: task name -> its `.spacy` file."""
    sizes = {"pos": 30, "ner": 20, "chunk": 10}
    return {
        name: write_docbin(tmp_path / name / "train.spacy", make_docs(name, size))
        for name, size in sizes.items()
    }

