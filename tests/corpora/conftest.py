from pathlib import Path
from typing import Callable, Union

import pytest

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
