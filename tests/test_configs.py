"""The shipped configs (single, T-A, T-B, T-C) are their template's rendering, size every
listener as its encoder, load, train a few steps under spaCy's own training loop with
task sampling, and round-trip to disk."""

from pathlib import Path
from typing import Dict, List

import numpy
import pytest
import spacy
from spacy.cli.debug_config import debug_config
from spacy.tokens import DocBin
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.training import Example
from spacy.util import fix_random_seed, load_config, registry, resolve_dot_names
from thinc.api import Config
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.experiments.configs import SHIPPED, stale_configs
from spacy_xfer.pipeline import xfer_transformer

from .util import NER_DATA, TAG_DATA, gold_doc

CONFIGS = Path(__file__).parent.parent / "configs"

TINY_ENCODER = {"char_width": 4, "char_output_width": 8, "char_depth": 1, "width": 4, "output_width": 16, "depth": 1}
TINY_CHAR = {"width": 4, "output_width": 8, "depth": 1}
TINY_WORD = {"width": 4, "output_width": 16, "depth": 1}


def write_corpus(path: Path, data, target: str) -> Path:
    nlp = spacy.blank("en")
    docbin = DocBin(store_user_data=True)
    for text, labels in data * 3:
        docbin.add(gold_doc(nlp, text, labels, target))
    docbin.to_disk(path)
    return path


def tiny_overrides(arch: str) -> Dict[str, object]:
    overrides: Dict[str, object] = {}
    if arch in ("single", "t_a"):
        overrides.update({f"components.target.model.tok2vec.{k}": v for k, v in TINY_ENCODER.items()})
    elif arch == "t_b":  # the listeners' widths follow the encoder's
        overrides.update({f"components.encoder.model.{k}": v for k, v in TINY_ENCODER.items()})
    else:
        overrides.update({f"components.encoder.model.{k}": v for k, v in TINY_CHAR.items()})
        for role in ("source", "target"):
            overrides.update({f"components.{role}.model.tok2vec.{k}": v for k, v in TINY_WORD.items()})
    return overrides


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return {
        "source_train": write_corpus(root / "src_train.spacy", TAG_DATA, "tag"),
        "source_dev": write_corpus(root / "src_dev.spacy", TAG_DATA[:2], "tag"),
        "target_train": write_corpus(root / "tgt_train.spacy", NER_DATA, "ents"),
        "target_dev": write_corpus(root / "tgt_dev.spacy", NER_DATA[:2], "ents"),
    }


@pytest.mark.parametrize("arch", ["single", "t_a", "t_b", "t_c"])
def test_config_trains_and_round_trips(arch, corpora, tmp_path):
    config = load_config(CONFIGS / f"{arch}.cfg")
    paths = {f"paths.{key}": str(value) for key, value in corpora.items() if key in config["paths"]}
    target_kind = "tag" if arch == "t_a" else "ents"
    if arch == "t_a":  # one head over both corpora: the target is POS too
        paths["paths.target_train"] = str(corpora["source_train"])
        paths["paths.target_dev"] = str(corpora["source_dev"])
    overrides = {
        **paths,
        **tiny_overrides(arch),
        "xfer.target_target": target_kind,
        "training.max_steps": 6,
        "training.eval_frequency": 3,
        "training.batcher.size": 2,
    }
    config = load_config(CONFIGS / f"{arch}.cfg", overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    (tmp_path / "out").mkdir()
    train(nlp, tmp_path / "out", stdout=open("/dev/null", "w"))
    best = spacy.load(tmp_path / "out" / "model-best")
    last = spacy.load(tmp_path / "out" / "model-last")
    texts = [text for text, _ in NER_DATA]
    read = (lambda d: [t.tag_ for t in d]) if target_kind == "tag" else (lambda d: [(e.start, e.end, e.label_) for e in d.ents])
    assert [read(d) for d in last.pipe(texts)] == [read(last(t)) for t in texts]
    last.to_disk(tmp_path / "again")
    again = spacy.load(tmp_path / "again")
    assert [read(d) for d in again.pipe(texts)] == [read(d) for d in last.pipe(texts)]
    assert best.pipe_names == last.pipe_names
    if arch in ("t_b", "t_c"):
        assert set(last.get_pipe("source").labels) == {"JJ", "NN", "NNS", "PRP", "RB", "VB", "VBP", "VBZ"}
        assert set(last.get_pipe("target").labels) == {"LOC", "PER"}


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.cfg")), ids=lambda p: p.stem)
def test_every_config_has_one_writer_per_target_and_selects_on_the_target(path):
    """Both heads of a shipped transfer config on one layer (e.g. CoNLL03 -> tweet NER):
    only the target head writes it, and selection is on the target's score alone."""
    config = load_config(path, interpolate=False)
    heads = {name: c for name, c in config["components"].items() if c.get("factory") == "xfer_tagger"}
    primary = [name for name, c in heads.items() if c.get("primary", True)]
    assert primary == ["target"], f"{path.name}: primary heads {primary}"
    weights = config["training"]["score_weights"]
    assert weights["target_score"] == 1.0
    assert all(not value for key, value in weights.items() if key != "target_score"), f"{path.name}: {weights}"


@pytest.mark.parametrize("name, path", [("single", "components.target.model.tok2vec"), ("t_b", "components.encoder.model")])
def test_the_factories_default_encoder_is_the_shipped_configs_encoder(name, path):
    """`nlp.add_pipe("xfer_tagger")` (the quick start) and `nlp.add_pipe("xfer_encoder")`
    build the encoder the configs train: the same settings (training ones included) and,
    under one seed, the same vectors."""
    shipped = load_config(CONFIGS / f"{name}.cfg", interpolate=True)
    for key in path.split("."):
        shipped = shipped[key]
    shipped = registry.fill(Config({"model": shipped}))["model"]  # settings left at their defaults too
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger")
    nlp.add_pipe("xfer_encoder")
    default = dict(nlp.config["components"]["xfer_encoder"]["model"])
    assert default == dict(nlp.config["components"]["xfer_tagger"]["model"]["tok2vec"])
    lexical = dict(shipped["lexical"])
    assert list(default.pop("lexical_attrs")) == lexical.pop("attrs")
    assert default.pop("lexical_width") == lexical.pop("width")
    assert lexical == {"@architectures": "spacy_xfer.LexicalEmbed.v1", "min_freq": default["min_freq"], "word_dropout": default["word_dropout"]}
    assert {**default, "@architectures": shipped["@architectures"]} == {k: v for k, v in shipped.items() if k != "lexical"}
    docs = [gold_doc(nlp, text, labels, "tag") for text, labels in TAG_DATA]
    blocks = [shipped, nlp.config["components"]["xfer_tagger"]["model"]["tok2vec"], nlp.config["components"]["xfer_encoder"]["model"]]
    outputs = []
    for block in blocks:
        fix_random_seed(0)
        model = registry.resolve(Config({"model": block}))["model"]
        model.initialize(X=docs)
        outputs.append(model.predict(docs))
    for other in outputs[1:]:
        for expected, got in zip(outputs[0], other):
            numpy.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_transfer_configs_score_the_source_dev_set_only_when_asked(arch, corpora):
    """The model is selected on the target's dev score, so by default the dev reader
    reads the target's dev set alone, and `paths.source_dev` may stay unset; `[xfer]
    source_dev_rate` = 1 adds the source's."""
    paths = {f"paths.{key}": str(value) for key, value in corpora.items() if key != "source_dev"}

    def dev_examples(**overrides) -> List[Example]:
        config = load_config(CONFIGS / f"{arch}.cfg", overrides={**paths, **overrides}, interpolate=True)
        (reader,) = resolve_dot_names(config, ["corpora.dev"])
        return list(reader(spacy.blank("en")))

    by_default = dev_examples()
    assert by_default and all(example.reference.ents for example in by_default)
    with_source = dev_examples(**{"xfer.source_dev_rate": 1.0, "paths.source_dev": str(corpora["source_dev"])})
    assert len(with_source) == 2 * len(by_default)
    assert sum(1 for example in with_source if example.reference.ents) == len(by_default)


@pytest.mark.parametrize("name", ["single", "t_a", "t_b", "t_c"])
def test_spacys_debug_config_accepts_every_shipped_config(name, corpora):
    """`spacy debug config` builds the pipeline without filling in spaCy's defaults, so
    a config must spell out every `[nlp]` setting; it exits (SystemExit) on one missing."""
    config = load_config(CONFIGS / f"{name}.cfg", interpolate=False)
    overrides = {f"paths.{key}": str(value) for key, value in corpora.items() if key in config["paths"]}
    debug_config(CONFIGS / f"{name}.cfg", overrides={**overrides, **tiny_overrides(name)})


def test_every_shipped_config_is_its_templates_rendering():
    assert sorted(SHIPPED) == sorted(path.stem for path in CONFIGS.glob("*.cfg"))
    assert list(stale_configs(CONFIGS)) == [], "run `python -m spacy_xfer render-configs` and commit the configs"


def test_render_configs_check_fails_until_the_configs_are_written_again(tmp_path):
    for path in CONFIGS.glob("*.cfg"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf8"), encoding="utf8")
    edited = tmp_path / "t_c.cfg"
    edited.write_text(edited.read_text(encoding="utf8").replace("cost = 5.0", "cost = 4.0"), encoding="utf8")
    runner = CliRunner()
    check = ["render-configs", "--configs-dir", str(tmp_path), "--check"]
    result = runner.invoke(app, check)
    assert result.exit_code == 1 and f"{edited}: differs from" in result.output
    assert "cost = 4.0" in edited.read_text(encoding="utf8")  # --check writes nothing
    assert runner.invoke(app, check[:-1]).exit_code == 0
    assert edited.read_text(encoding="utf8") == (CONFIGS / "t_c.cfg").read_text(encoding="utf8")
    assert runner.invoke(app, check).exit_code == 0
    (tmp_path / "t_a.cfg").unlink()
    result = runner.invoke(app, check)
    assert result.exit_code == 1 and f"{tmp_path / 't_a.cfg'}: missing, expected its rendering" in result.output


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_init_config_writes_the_shipped_config(tmp_path, name):
    arch, encoder = SHIPPED[name]
    output = tmp_path / "nested" / "config.cfg"
    result = CliRunner().invoke(app, ["init-config", str(output), "--arch", arch, "--encoder", encoder])
    assert result.exit_code == 0, result.output
    shipped = (CONFIGS / f"{name}.cfg").read_text(encoding="utf8")
    # the shipped config, but its usage comment trains the file written
    assert output.read_text(encoding="utf8") == shipped.replace(f" configs/{name}.cfg ", f" {output} ")
    assert f"train {output} " in output.read_text(encoding="utf8")


def test_init_config_prints_to_stdout_with_a_dash():
    result = CliRunner().invoke(app, ["init-config", "-", "--arch", "t_c"])
    assert result.exit_code == 0
    assert result.output == (CONFIGS / "t_c.cfg").read_text(encoding="utf8")


def test_init_config_names_the_combinations_it_has_and_writes_nothing_else(tmp_path):
    output = tmp_path / "t_c_trf.cfg"
    result = CliRunner().invoke(app, ["init-config", str(output), "--arch", "t_c", "--encoder", "trf"])
    assert result.exit_code == 1
    assert "[E089] No config for --arch t_c with --encoder trf: T-C shares only the char layers" in result.output
    assert "--arch t_b --encoder trf" in result.output
    assert not output.exists()


@pytest.mark.parametrize("arch,encoder,message", [
    ("t_d", "gru", "[E039] Unknown architecture 't_d': expected one of single, t_a, t_b, t_c."),
    ("t_b", "bert", "[E039] Unknown encoder 'bert': expected one of gru, trf."),
])
def test_init_config_names_the_unknown_part(tmp_path, arch, encoder, message):
    result = CliRunner().invoke(app, ["init-config", str(tmp_path / "x.cfg"), "--arch", arch, "--encoder", encoder])
    assert result.exit_code == 1
    assert message in result.output


def test_init_config_into_a_folder_names_the_file_it_expects(tmp_path):
    result = CliRunner().invoke(app, ["init-config", str(tmp_path), "--arch", "t_b"])
    assert result.exit_code == 1
    assert f"{tmp_path} is a folder; expected the path of the config file to write, e.g. {tmp_path / 't_b.cfg'}" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["t_b_trf", "single_trf"])
def test_training_a_trf_config_without_spacy_transformers_names_the_extra(tmp_path, monkeypatch, name):
    """spaCy alone would stop at an unregistered `spacy-transformers.*` function, after
    creating the output folder."""
    monkeypatch.setattr(xfer_transformer, "Transformer", None)  # as without the extra
    output = tmp_path / "training"
    result = CliRunner().invoke(app, ["spacy-train", str(CONFIGS / f"{name}.cfg"), "--output", str(output)])
    assert result.exit_code == 1
    assert "[E086] the config uses spacy-transformers (" in result.output
    assert "spacy-transformers.TransformerModel.v3" in result.output
    assert 'pip install "spacy-xfer[transformers]"' in result.output
    assert not output.exists()


def test_gru_configs_do_not_need_spacy_transformers(monkeypatch):
    monkeypatch.setattr(xfer_transformer, "Transformer", None)
    for name in ("single", "t_a", "t_b", "t_c"):
        path = CONFIGS / f"{name}.cfg"
        xfer_transformer.check_transformers_installed(load_config(path, interpolate=False), path)


def listeners(section, path=()):
    """(path, block) of every spacy.Tok2VecListener.v1 block below a config section."""
    if section.get("@architectures") == "spacy.Tok2VecListener.v1":
        yield path, section
    for key, value in section.items():
        if isinstance(value, dict):
            yield from listeners(value, path + (key,))


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.cfg")), ids=lambda p: p.stem)
@pytest.mark.parametrize("tiny", [False, True], ids=["shipped", "tiny"])
def test_every_listener_width_is_its_encoders_output_width(path, tiny):
    """Each listener's `width` equals the `nO` of the model its upstream component builds,
    as shipped and with the encoder's sizes overridden (the listeners follow)."""
    overrides = tiny_overrides(path.stem) if tiny and path.stem in ("t_b", "t_c") else {}
    config = load_config(path, overrides=overrides, interpolate=True)
    components = config["components"]
    found = [(name, *item) for name, component in components.items() for item in listeners(component.get("model", {}), ("model",))]
    assert bool(found) == (path.stem in ("t_b", "t_c")), f"{path.name}: listeners {found}"
    for name, where, block in found:
        upstream = registry.resolve({"model": components[block["upstream"]]["model"]})["model"]
        assert block["width"] == upstream.get_dim("nO"), f"{path.name}: components.{name}.{'.'.join(where)}"
