"""Every command block of the README runs verbatim from a fresh copy of the repository.

A block preceded by `<!-- readme-test: skip REASON -->` is not run here (it needs a GPU,
a download, a cluster, or it is one of the two top-level commands, which CI and the
`slow` project tests run); every other `bash` or `python` block is run in order, in one
copy of the repository with the corpora folder beside it, as a new user would.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, NamedTuple

import pytest

REPO = Path(__file__).resolve().parent.parent
BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\s*\n)?^```(?P<lang>bash|python)\n(?P<body>.*?)^```",
    re.S | re.M,
)


class Block(NamedTuple):
    line: int
    lang: str
    body: str
    marker: str


def readme_blocks(text: str) -> List[Block]:
    """The fenced bash and python blocks of a README, with their skip markers."""
    return [
        Block(text[: m.start("body")].count("\n"), m["lang"], m["body"], (m["marker"] or "").strip())
        for m in BLOCK.finditer(text)
    ]


def test_block_parser_reads_markers():
    text = "x\n<!-- readme-test: skip needs a GPU -->\n```bash\nmake gpu\n```\n\n```python\nprint(1)\n```\n"
    blocks = readme_blocks(text)
    assert [(b.lang, b.body, b.marker) for b in blocks] == [
        ("bash", "make gpu\n", "skip needs a GPU"),
        ("python", "print(1)\n", ""),
    ]
    assert blocks[1].line == 7


def test_every_skipped_block_says_why():
    for block in readme_blocks((REPO / "README.md").read_text(encoding="utf8")):
        if block.marker:
            assert re.match(r"skip \S", block.marker), f"README.md:{block.line}: marker without a reason"


@pytest.mark.slow
def test_readme_blocks_run_verbatim(tmp_path):
    root = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    (tmp_path / "shared").symlink_to(REPO.parent / "shared")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    ran = 0
    for block in readme_blocks((root / "README.md").read_text(encoding="utf8")):
        if block.marker:
            continue
        command = ["bash", "-euo", "pipefail", "-c", block.body] if block.lang == "bash" else [sys.executable, "-c", block.body]
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"README.md:{block.line} failed:\n{block.body}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        ran += 1
    assert ran >= 2
