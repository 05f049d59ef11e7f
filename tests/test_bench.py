"""bench/: the data the benchmarks time, the tables they print, and a smoke run of
bench/speed.py on tiny settings (the numbers themselves are not checked: they depend on
the machine)."""

import json
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import speed  # noqa: E402
from bench.data import load_sentences  # noqa: E402
from bench.pipelines import xfer_pipeline  # noqa: E402
from bench.report import ratio_table  # noqa: E402


def test_synthetic_entities_are_valid_iob2_spacy_reads():
    vocab = spacy.blank("en").vocab
    sentences = load_sentences(None, 50, seed=3, ents=True)
    assert sentences == load_sentences(None, 50, seed=3, ents=True)  # seeded
    ents = [Doc(vocab, words=words, ents=tags).ents for words, tags in sentences]
    assert sum(len(e) for e in ents) > 0
    assert {e.label_ for doc_ents in ents for e in doc_ents} <= {"PER", "LOC", "ORG", "MISC"}


def test_ratio_table_divides_our_rate_by_each_peers():
    results = [
        {"system": "ours", "phase": "infer", "batch_size": 1, "rate": 500.0},
        {"system": "spacy", "phase": "infer", "batch_size": 1, "rate": 2000.0},
        {"system": "ours", "phase": "train", "batch_size": 10, "rate": 300.0},
        {"system": "spacy", "phase": "train", "batch_size": 10, "rate": 200.0},
        {"system": "flair", "phase": "train", "batch_size": 10, "rate": 100.0},
    ]
    lines = ratio_table(results, "ours", ["spacy", "flair"])
    assert lines[0] == "| work | ours | spacy | flair | ours / spacy | ours / flair |"
    assert lines[2] == "| inference, batch 1 | 500 words/s | 2,000 words/s | - | 0.25 | - |"
    assert lines[3] == "| training, batch 10 | 300 tokens/s | 200 tokens/s | 100 tokens/s | 1.50 | 3.00 |"


def test_the_timed_pipeline_and_optimizer_are_the_configs(tmp_path):
    config = (REPO / "configs" / "single.cfg").read_text(encoding="utf8")
    config = config.replace("char_width = 25", "char_width = 3").replace("output_width = 600", "output_width = 6")
    config = config.replace("learn_rate = 0.001", "learn_rate = 0.25")
    (tmp_path / "tiny.cfg").write_text(config, encoding="utf8")
    nlp, examples, optimizer = xfer_pipeline(load_sentences(None, 6, seed=0), config_path=tmp_path / "tiny.cfg")
    assert nlp.pipe_names == ["target"] and len(examples) == 6
    assert nlp.get_pipe("target").model.get_ref("tok2vec").get_dim("nO") == 6
    assert optimizer.learn_rate == 0.25 and type(optimizer).__name__ == "TaskOptimizer"


@pytest.mark.slow
def test_speed_runs_every_phase_and_profiles_with_the_configs_optimizer(tmp_path, capsys):
    out = tmp_path / "speed.json"
    speed.main([
        "--quick", "--in-process", "--n-sentences", "12", "--batch-sizes", "4", "--train-steps", "1",
        "--infer-sentences", "8", "--threads", "1", "--profile", "--profile-batch-sizes", "4", "4", "--json", str(out),
    ])
    report = json.loads(out.read_text(encoding="utf8"))
    assert [(r["phase"], r["batch_size"]) for r in report["results"]] == [("infer", 4), ("train", 4)]
    assert all(r["rate"] > 0 and r["tokens"] > 0 for r in report["results"])
    infer, train = report["profiles"]
    assert {row["part"] for row in infer["breakdown"]} >= {"predict (outside torch ops)", "set_annotations (outside torch ops)"}
    parts = {row["part"] for row in train["breakdown"]}
    assert "finish_update: optimizer step (outside torch ops)" in parts
    assert report["config"]["config"].endswith("single.cfg")
    assert "xfer_tagger  infer" in capsys.readouterr().out
