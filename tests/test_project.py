"""The spaCy project and the packaged pipeline (slow group: real corpora, a wheel
installed into a fresh virtual environment; the others are fast)."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import spacy
from spacy.cli import app as spacy_app
from typer.testing import CliRunner
from weasel.cli.run import project_run
from weasel.util import load_project_config, split_command

from spacy_xfer.cli import app as xfer_app
from spacy_xfer.device import gpu_problems
from spacy_xfer.experiments.benchmarks import BENCHMARKS

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
    """A packaged pipeline installs beside spacy-xfer (not editable) and tags as before; that
    install of spacy-xfer renders the shipped configs without the repo."""
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
    # the installed package (no clone) renders the repo's configs from its own template
    rendered = subprocess.run(
        [python, "-m", "spacy_xfer", "init-config", "-", "--arch", "t_b"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    )
    assert rendered.stdout == (REPO / "configs" / "t_b.cfg").read_text(encoding="utf8")


def project_command(root: Path, name: str, overrides=None) -> dict:
    """A command of the project, its variables filled in."""
    config = load_project_config(root, overrides=overrides or {})
    return next(command for command in config["commands"] if command["name"] == name)


def test_default_lang_is_the_default_targets():
    config = load_project_config(REPO, interpolate=False)
    assert config["vars"]["lang"] == BENCHMARKS[config["vars"]["target"]]["lang"]


@pytest.mark.parametrize("target", ["twitter_pos", "spanish", "dutch"])
def test_package_outputs_are_the_paths_spacy_package_creates(tmp_path, monkeypatch, target):
    root = copy_project(tmp_path)
    lang = BENCHMARKS[target]["lang"]
    command = project_command(root, "package", {"vars.target": target, "vars.lang": lang})
    served, packaged = (split_command(script) for script in command["script"])
    assert served[:4] == ["python", "-m", "spacy_xfer", "disable-heads"]
    assert packaged[:4] == ["python", "-m", "spacy", "package"]
    (model,) = command["deps"]
    assert served[4] == model and packaged[4] == served[5]  # spaCy packages the copy
    (root / model).parent.mkdir(parents=True)
    spacy.blank(lang).to_disk(root / model)  # a pipeline of the target's language
    packaged[packaged.index("--build") + 1] = "none"  # the same folders, without building a wheel
    monkeypatch.chdir(root)
    for cli, args in ((xfer_app, served), (spacy_app, packaged)):
        result = CliRunner().invoke(cli, args[3:])  # after "python -m MODULE"
        assert result.exit_code == 0, result.output
    created = [served[5]] + [str(path.relative_to(root)) for path in (root / "packages").iterdir()]
    assert sorted(created) == sorted(command["outputs"])


@pytest.mark.skipif(not gpu_problems(0), reason="this machine has a usable GPU")
def test_project_train_on_a_missing_gpu_fails_in_one_line_and_creates_nothing(tmp_path, capfd):
    root = copy_project(tmp_path)
    overrides = {"vars.gpu_id": 0, "vars.max_steps": 1}
    for dep in project_command(root, "train", overrides)["deps"]:
        (root / dep).parent.mkdir(parents=True, exist_ok=True)
        (root / dep).touch()
    with pytest.raises(SystemExit) as info:
        project_run(root, "train", overrides=overrides)
    assert info.value.code == 1
    errors = capfd.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("Error: [E052] GPU 0 was requested, but ")
    assert list((root / "training").iterdir()) == []
