"""The shipped configs (single, T-A, T-B, T-C) load, train a few steps under spaCy's own
training loop with task sampling, and round-trip to disk."""

from pathlib import Path
from typing import Dict

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_config

from .util import NER_DATA, TAG_DATA, gold_doc

CONFIGS = Path(__file__).parent.parent / "configs"

TINY_ENCODER = {"char_width": 4, "char_hidden": 4, "char_depth": 1, "width": 4, "hidden": 8, "depth": 1}
TINY_CHAR = {"width": 4, "hidden": 4, "depth": 1}
TINY_WORD = {"width": 4, "hidden": 8, "depth": 1}


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
    elif arch == "t_b":
        overrides.update({f"components.encoder.model.{k}": v for k, v in TINY_ENCODER.items()})
        overrides.update({f"components.{role}.model.tok2vec.width": 16 for role in ("source", "target")})
    else:
        overrides.update({f"components.encoder.model.{k}": v for k, v in TINY_CHAR.items()})
        for role in ("source", "target"):
            overrides.update({f"components.{role}.model.tok2vec.{k}": v for k, v in TINY_WORD.items()})
            overrides[f"components.{role}.model.tok2vec.char_encoder.width"] = 8
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
