"""`rehash-results`: results files written when the grid hashed the config text get the
new (interpolated) hash only when the config they ran resolves as the current one."""

import re
import subprocess
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Config, fix_random_seed

from spacy_xfer.experiments.grid import SPELLED_OUT_NLP_DEFAULTS, Grid, config_sha256
from spacy_xfer.experiments.rehash import V2_OF_V1, old_config_sha256, rehash_results, upgrade_encoders

REPO = Path(__file__).resolve().parents[2]
ROW = "ptb-conll03-t_b-0.01"  # a T-B row: listeners and a shared encoder


def v2_config(text: str) -> str:
    """A shipped T-B config with the v2 encoder it had before lexical features (the
    configs this command carries results over from never had them)."""
    config = Config().from_str(text, interpolate=False)
    encoder = config["components"]["encoder"]["model"]
    del encoder["lexical"]
    encoder["@architectures"] = "spacy_xfer.CharWordEncoder.v2"
    return config.to_str()


def word_output_width(text: str) -> int:
    """The shipped T-B encoder's word BiGRU output width (`output_width`)."""
    return Config().from_str(text, interpolate=False)["components"]["encoder"]["model"]["output_width"]


def with_null_before_to_disk(text: str) -> str:
    """A shipped config with `before_to_disk = null`, as the configs had it before
    `spacy_xfer.reported_performance.v1`."""
    section = text[text.index("[training.before_to_disk]"):text.index("[training.batcher]")]
    return text.replace(section, "").replace("before_update = null", "before_to_disk = null\nbefore_update = null")


def as_before(text: str) -> str:
    """A shipped config as it was written before the template: v1 encoders sized by
    units per direction, listener widths copied by hand, no `before_to_disk` callback."""
    text = with_null_before_to_disk(text)
    width = word_output_width(text)
    text = text.replace("CharWordEncoder.v2", "CharWordEncoder.v1").replace("CharEncoder.v2", "CharEncoder.v1")
    text = text.replace("char_output_width = 160", "char_hidden = 80").replace(f"output_width = {width}", f"hidden = {width // 2}")
    return text.replace("width = ${components.encoder.model.output_width}", f"width = {width}")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


def old_results(repo: Path, ran: Config, config_file: str, **settings) -> dict:
    """A results file as the grid wrote it before: the old hash of the config file, the
    config that ran (with the run's settings), and the commit."""
    return {
        "row": ROW, "kind": "transfer", "seed": 13,
        "settings": {
            "source": "ptb", "target": "conll03", "arch": "t_b", "rate": 0.01, "kind": "transfer",
            "seed": 13, "config": config_file, "max_seconds": 900, "vectors": None, **settings,
        },
        "config": ran,
        "git": {"commit": git(repo, "rev-parse", "HEAD"), "dirty": False},
        "dev_score": 0.5,
    }


@pytest.fixture
def old_repo(tmp_path):
    """A checkout whose last commit has the old-style configs/t_b.cfg; its working tree
    has the current one."""
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "results").mkdir()
    current = v2_config((REPO / "configs" / "t_b.cfg").read_text(encoding="utf8"))
    (repo / "configs" / "t_b.cfg").write_text(as_before(current), encoding="utf8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "old configs")
    (repo / "configs" / "t_b.cfg").write_text(current, encoding="utf8")
    return repo


def ran_config(repo: Path, **overrides) -> Config:
    """The old config with a run's settings, as training wrote it to model-best."""
    old = Config().from_str(git(repo, "show", "HEAD:configs/t_b.cfg"), interpolate=False)
    run = {
        "paths": {"source_train": "grid/corpus/s13/ptb/train.spacy", "train": None},
        "system": {"seed": 13},
        "xfer": {"target_target": "ents", "rate": 0.01},
        "training": {"eval_frequency": 21, "logger": {"@loggers": "spacy.ConsoleLogger.v2", "output_file": "log.jsonl"}},
    }
    return old.merge(Config(run)).merge(Config(overrides))


def test_the_grids_hash_is_of_the_resolved_settings():
    """Comments, layout and interpolation do not change a config's hash; a value does."""
    text = (REPO / "configs" / "t_b.cfg").read_text(encoding="utf8")
    shipped = config_sha256(Config().from_str(text, interpolate=False))
    width = word_output_width(text)
    written_out = text.replace("width = ${components.encoder.model.output_width}", f"width = {width}")
    assert written_out != text
    assert config_sha256(Config().from_str("# a comment\n" + written_out, interpolate=False)) == shipped
    other = text.replace(f"output_width = {width}", f"output_width = {width + 2}")
    assert other != text
    assert config_sha256(Config().from_str(other, interpolate=False)) != shipped


def test_spacys_nlp_defaults_spelled_out_in_our_configs_leave_their_hash_as_without():
    """The `[nlp]` defaults our configs spell out for `spacy debug config` do not change
    their hash (the results of the configs without them stay current); another value
    there does, and spaCy's baseline config is hashed as written."""
    text = (REPO / "configs" / "t_b.cfg").read_text(encoding="utf8")
    lines = text.splitlines(keepends=True)
    without = "".join(line for line in lines if line.split(" = ")[0] not in SPELLED_OUT_NLP_DEFAULTS)
    assert len(without.splitlines()) == len(lines) - len(SPELLED_OUT_NLP_DEFAULTS)
    shipped, before = (Config().from_str(t, interpolate=False) for t in (text, without))
    assert config_sha256(shipped) == config_sha256(before)
    assert config_sha256(shipped, baseline=True) != config_sha256(before, baseline=True)
    disabled = Config().from_str(text.replace("disabled = []", 'disabled = ["source"]'), interpolate=False)
    assert config_sha256(disabled) != config_sha256(shipped)


def test_the_meta_callback_of_our_configs_hashes_as_the_null_it_replaced():
    """`[training.before_to_disk]` set to `spacy_xfer.reported_performance.v1` (it edits
    the saved meta.json only) leaves the hash of the config with `before_to_disk = null`
    in its place; another callback there changes it."""
    text = (REPO / "configs" / "t_b.cfg").read_text(encoding="utf8")
    shipped, null = (Config().from_str(t, interpolate=False) for t in (text, with_null_before_to_disk(text)))
    assert null["training"]["before_to_disk"] is None
    assert config_sha256(shipped) == config_sha256(null)
    other = Config().from_str(text.replace("reported_performance.v1", "quantize.v1"), interpolate=False)
    assert config_sha256(other) != config_sha256(shipped)


def test_results_of_a_config_that_resolves_as_now_get_the_new_hash(old_repo):
    grid = Grid(old_repo, old_repo, old_repo / "results", configs_dir=old_repo / "configs", max_seconds=900)
    old_text = git(old_repo, "show", "HEAD:configs/t_b.cfg")
    old_hash = old_config_sha256(Config().from_str(old_text, interpolate=False))
    current = spacy.util.load_config(old_repo / "configs" / "t_b.cfg", interpolate=False)
    assert old_hash != config_sha256(current)  # the grid would call it stale
    results = old_results(old_repo, ran_config(old_repo), str(old_repo / "configs" / "t_b.cfg"), config_sha256=old_hash)
    path = old_repo / "results" / f"{ROW}-transfer-s13.json"
    srsly.write_json(path, results)

    summary = rehash_results(old_repo / "results", grid, old_repo, dry_run=True, echo=lambda _: None)
    assert summary.rehashed == [path.name] and srsly.read_json(path) == results
    summary = rehash_results(old_repo / "results", grid, old_repo, echo=lambda _: None)
    assert summary.rehashed == [path.name] and not summary.refused
    rewritten = srsly.read_json(path)
    assert rewritten["settings"]["config_sha256"] == config_sha256(current)
    assert {**rewritten, "settings": results["settings"]} == results  # nothing else changed
    again = rehash_results(old_repo / "results", grid, old_repo, echo=lambda _: None)
    assert again.current == [path.name] and not again.rehashed


@pytest.mark.parametrize(
    "case, reason",
    [
        ("config-changed-since", "resolves differently now: components.encoder.model.depth: 2 -> 1"),
        ("file-not-the-one-that-ran", "is not the config that ran"),
        ("override-the-config-cannot-take", "resolves differently now: components.encoder.model.hidden"),
    ],
)
def test_results_of_another_config_are_not_rehashed(old_repo, case, reason):
    grid = Grid(old_repo, old_repo, old_repo / "results", configs_dir=old_repo / "configs")
    config_file = old_repo / "configs" / "t_b.cfg"
    old_text = git(old_repo, "show", "HEAD:configs/t_b.cfg")
    if case == "file-not-the-one-that-ran":
        old_text = old_text.replace("cost = 5.0", "cost = 4.0")
    old_hash = old_config_sha256(Config().from_str(old_text, interpolate=False))
    if case == "config-changed-since":
        config_file.write_text(config_file.read_text(encoding="utf8").replace("depth = 2\ndropout", "depth = 1\ndropout"), encoding="utf8")
    change = {"components": {"encoder": {"model": {"hidden": 200}}}} if case.startswith("override") else {}
    results = old_results(old_repo, ran_config(old_repo, **change), str(config_file), config_sha256=old_hash)
    path = old_repo / "results" / f"{ROW}-transfer-s13.json"
    srsly.write_json(path, results)
    summary = rehash_results(old_repo / "results", grid, old_repo, echo=lambda _: None)
    assert list(summary.refused) == [path.name] and reason in summary.refused[path.name]
    assert srsly.read_json(path) == results


@pytest.mark.parametrize("v1", sorted(V2_OF_V1))
def test_a_v1_encoder_and_its_v2_block_build_the_same_model(v1):
    """The equivalence the rehash relies on: same widths, same output from the same seed."""
    tiny = {"char_width": 4, "char_hidden": 3, "char_depth": 1, "width": 4, "hidden": 5, "depth": 1}
    if v1 == "spacy_xfer.CharEncoder.v1":
        block = {"@architectures": v1, "width": 4, "hidden": 3, "depth": 1}
    else:
        block = {"@architectures": v1, **{k: v for k, v in tiny.items() if v1 == "spacy_xfer.CharWordEncoder.v1" or not k.startswith("char_")}}
        if v1 == "spacy_xfer.WordEncoder.v1":
            block["char_encoder"] = {"@architectures": "spacy_xfer.CharEncoder.v2", "width": 4, "output_width": 6, "depth": 1}
    upgraded = upgrade_encoders({"model": block})["model"]
    assert upgraded["@architectures"] == V2_OF_V1[v1][0]
    docs = [Doc(spacy.blank("en").vocab, words=["Anna", "likes", "eggs"])]
    outputs = []
    for config in (block, upgraded):
        fix_random_seed(0)
        model = registry.resolve({"model": config})["model"]
        model.initialize(X=docs)
        outputs.append((model.get_dim("nO"), model.predict(docs)[0]))
    assert outputs[0][0] == outputs[1][0] == 2 * block["hidden"]
    numpy.testing.assert_array_equal(outputs[0][1], outputs[1][1])


@pytest.mark.parametrize("arch", ["spacy_xfer.CharEncoder.v2", "spacy_xfer.CharWordEncoder.v2"])
def test_an_odd_output_width_is_an_error(arch):
    with pytest.raises(ValueError, match=re.escape("[E030]")):
        registry.resolve({"model": {"@architectures": arch, "output_width": 7}})
