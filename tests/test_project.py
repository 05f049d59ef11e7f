"""The spaCy project and the packaged pipeline (slow group: real corpora, a wheel
installed into a fresh virtual environment)."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from weasel.cli.run import project_run

from .util import TAG_DATA, examples_for, tiny_tagger, train

REPO = Path(__file__).resolve().parent.parent


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "project.yml", root / "project.yml")
    shutil.copytree(REPO / "configs", root / "configs")
    return root


@pytest.mark.slow
def test_project_prepare_runs_and_resuming_skips_it(tmp_path, corpora, capfd):
    root = copy_project(tmp_path)
    overrides = {"vars.corpora_dir": str(corpora)}
    project_run(root, "prepare", overrides=overrides, capture=True)
    for name in ("ptb", "twitter_pos"):
        for part in ("train", "dev", "test"):
            assert (root / "corpus" / name / f"{part}.spacy").exists()
    capfd.readouterr()
    project_run(root, "prepare", overrides=overrides, capture=True)
    assert "Skipping 'prepare': nothing changed" in capfd.readouterr().out


@pytest.mark.slow
def test_packaged_wheel_installs_in_a_fresh_venv_and_tags(tmp_path):
    nlp = tiny_tagger("tag")
    train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=40)
    expected = [t.tag_ for t in nlp("I like green eggs")]
    nlp.to_disk(tmp_path / "model")
    packages = tmp_path / "packages"
    packages.mkdir()
    subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(tmp_path / "model"), str(packages),
         "--name", "xfer_test", "--version", "0.0.1", "--build", "wheel", "--force"],
        check=True, capture_output=True,
    )
    wheels = list(packages.glob("*/dist/*.whl"))
    assert len(wheels) == 1
    requirements = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", str(wheels[0])], check=True, capture_output=True, text=True
    )
    assert "en_xfer_test" in requirements.stdout
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["torch==2.13.0"], check=True)
    subprocess.run(pip + [str(REPO), str(wheels[0])], check=True)
    script = "import spacy; nlp = spacy.load('en_xfer_test'); print(' '.join(t.tag_ for t in nlp('I like green eggs')))"
    result = subprocess.run([python, "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.split() == expected
    metadata = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.requires('en_xfer_test'))"],
        check=True, capture_output=True, text=True,
    )
    assert "spacy-xfer" in metadata.stdout
