"""The training recipe's pieces: dropout reaching torch, word dropout, the optimizers
that leave untouched parameters alone, the wall-time budget and the target-sized
schedule."""

from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc, DocBin
from thinc.api import set_dropout_rate

from spacy_xfer.experiments.schedule import SCHEDULE_VERSION, MIN_EVAL_FREQUENCY, PATIENCE_PASSES, schedule_overrides, steps_per_pass, stop_summary
from spacy_xfer.models.architectures import build_char_word_encoder_v1
from spacy_xfer.models.pytorch_word_encoder import WordGRUEncoder, locked_dropout
from spacy_xfer.models.string_table import UNKNOWN_ROW
from spacy_xfer.training import budget
from spacy_xfer.training.budget import TrainingBudgetSpent, create_wall_time_budget_v1
from spacy_xfer.training.optimizer import create_adam_v1, create_sgd_v1

REPO = Path(__file__).resolve().parents[2]


def test_locked_dropout_shares_one_mask_per_sentence():
    torch.manual_seed(0)
    flat = torch.ones(7, 50)
    out = locked_dropout(flat, torch.tensor([3, 4]), 0.5)
    first, second = out[:3], out[3:]
    assert torch.equal(first, first[:1].expand_as(first))  # every token of a sentence
    assert torch.equal(second, second[:1].expand_as(second))
    assert set(out.unique().tolist()) == {0.0, 2.0}  # dropped or scaled by 1 / (1 - p)
    assert not torch.equal(first[0], second[0])
    assert locked_dropout(flat, torch.tensor([3, 4]), 0.0) is flat


def tiny_docs():
    vocab = spacy.blank("en").vocab
    return [Doc(vocab, words=["a", "b", "c", "a"]), Doc(vocab, words=["d", "e"])]


def tiny_encoder(**settings):
    model = build_char_word_encoder_v1(
        char_width=4, char_hidden=4, char_depth=2, width=4, hidden=6, depth=2, **settings
    )
    model.initialize(X=tiny_docs())
    return model


def test_training_dropout_reaches_torch_and_prediction_has_none():
    model = tiny_encoder()
    docs = tiny_docs()
    assert model.attrs["dropout_rate"] == 0.0
    set_dropout_rate(model, 0.5)  # what spaCy's update does with [training] dropout
    assert model.attrs["dropout_rate"] == 0.5 and model.layers[0].attrs["dropout_rate"] == 0.5
    torch.manual_seed(0)
    train_a = numpy.concatenate(model(docs, is_train=True)[0])
    torch.manual_seed(1)
    train_b = numpy.concatenate(model(docs, is_train=True)[0])
    assert not numpy.allclose(train_a, train_b)
    assert (train_a == 0).any()
    predict_a = numpy.concatenate(model.predict(docs))
    predict_b = numpy.concatenate(model.predict(docs))
    numpy.testing.assert_array_equal(predict_a, predict_b)
    set_dropout_rate(model, 0.0)
    numpy.testing.assert_allclose(numpy.concatenate(model(docs, is_train=True)[0]), predict_a, atol=1e-6)


def test_word_dropout_uses_the_unknown_row_in_training_only():
    module = WordGRUEncoder(n_words=10, word_width=3, char_width=2, hidden=4, depth=1, dropout=0.0)
    seen = []
    module.embed.register_forward_hook(lambda mod, inputs, output: seen.append(inputs[0].clone()))
    ids = torch.full((2000,), 5, dtype=torch.int64)
    chars = torch.zeros(2000, 2)
    lengths = torch.tensor([1000, 1000])
    torch.manual_seed(0)
    module.train()
    module(chars, ids, lengths, word_dropout=0.25)
    dropped = (seen[-1] == UNKNOWN_ROW).float().mean().item()
    assert 0.2 < dropped < 0.3 and set(seen[-1].unique().tolist()) == {UNKNOWN_ROW, 5}
    module.eval()
    module(chars, ids, lengths, word_dropout=0.25)
    assert torch.equal(seen[-1], ids)


def test_encoder_rejects_invalid_rates():
    with pytest.raises(ValueError, match="word_dropout"):
        build_char_word_encoder_v1(word_dropout=1.0)


@pytest.mark.parametrize("optimizer", [create_adam_v1(0.1), create_sgd_v1(0.1)], ids=["adam", "sgd"])
def test_optimizers_leave_untouched_parameters_alone(optimizer):
    weights = numpy.ones(3, dtype="float32")
    optimizer((0, "W"), weights, numpy.array([1.0, 0.0, -1.0], dtype="float32"))
    moved = weights.copy()
    assert moved[0] < 1.0 and moved[1] == 1.0 and moved[2] > 1.0
    # a step in which this parameter's task was not drawn: no momentum carries it on
    optimizer((0, "W"), weights, numpy.zeros(3, dtype="float32"))
    numpy.testing.assert_array_equal(weights, moved)
    assert optimizer.nr_update[(0, "W")] == 1


def test_optimizers_are_registered():
    for name in ("spacy_xfer.Adam.v1", "spacy_xfer.SGD.v1"):
        assert spacy.util.registry.optimizers.get(name)
    assert spacy.util.registry.callbacks.get("spacy_xfer.wall_time_budget.v1")


def test_wall_time_budget_stops_after_the_budget(monkeypatch):
    clock = iter([100.0, 105.0, 110.5, 100.0, 111.0])
    monkeypatch.setattr(budget.time, "monotonic", lambda: next(clock))
    nlp = spacy.blank("en")
    nlp.config["training"]["eval_frequency"] = 2
    before_update = create_wall_time_budget_v1(10)
    before_update(nlp, {"step": 0})  # the clock starts at the first update
    before_update(nlp, {"step": 4})
    with pytest.raises(TrainingBudgetSpent, match="10 s spent at step 5: training stopped; model-best holds the best"):
        before_update(nlp, {"step": 5})
    # spent before the second evaluation: the message says model-best is barely trained
    before_update = create_wall_time_budget_v1(10)
    before_update(nlp, {"step": 0})
    with pytest.raises(TrainingBudgetSpent, match="at step 1: .* next was due at step 2.* barely trained"):
        before_update(nlp, {"step": 1})
    with pytest.raises(ValueError, match="budget"):
        create_wall_time_budget_v1(0)


def test_steps_per_pass():
    # 630 sentences at rate 0.1 = 63 kept; batches of 10; the target drawn 2 steps in 3
    assert steps_per_pass(630, 0.1, 10, 2 / 3) == 10
    assert steps_per_pass(5, 0.001, 10, 1.0) == 1  # at least one sentence, one step


def test_schedule_is_sized_to_the_target(tmp_path):
    vocab = spacy.blank("en").vocab
    path = tmp_path / "train.spacy"
    DocBin(docs=[Doc(vocab, words=["w"]) for _ in range(30000)]).to_disk(path)

    def config(rate, target_prob=2.0, size=10):
        tasks = {"source": {"path": str(path), "prob": 1.0}, "target": {"path": str(path), "prob": target_prob, "rate": rate}}
        return {
            "corpora": {"train": {"tasks": tasks}},
            "training": {"batcher": {"size": size}, "eval_frequency": 200, "patience": 2000},
        }

    big = schedule_overrides(config(1.0))  # 4,500 steps a pass
    assert big == {"training.eval_frequency": 200, "training.patience": PATIENCE_PASSES * 4500}
    small = schedule_overrides(config(0.01))  # 300 kept: 45 steps a pass
    assert small == {"training.eval_frequency": 45, "training.patience": 2000}
    tiny = schedule_overrides(config(0.001))  # 30 kept: 5 steps a pass
    assert tiny["training.eval_frequency"] == MIN_EVAL_FREQUENCY
    assert schedule_overrides(config(0.01, target_prob=1.0))["training.eval_frequency"] == 60  # half the steps
    # what the task sampler refuses (E040), a target left out (rate 0) and a bad batch size (E038)
    bad_settings = [({"rate": 1.5}, "E040"), ({"rate": None}, "E040"), ({"target_prob": 0}, "E040"),
                    ({"target_prob": "abc"}, "E040"), ({"rate": 0}, "E038"), ({"size": 0}, "E038"), ({"size": None}, "E038")]
    for bad, code in bad_settings:
        with pytest.raises(ValueError, match=code):
            schedule_overrides(config(**{"rate": 0.01, **bad}))
    # the grid records the rule's version with each run: a new rule gets a new version
    assert (SCHEDULE_VERSION, MIN_EVAL_FREQUENCY, PATIENCE_PASSES) == (1, 20, 5), (
        "the schedule rule changed: bump SCHEDULE_VERSION in experiments/schedule.py and this test"
    )


def test_the_summary_says_which_rule_stopped_training_and_what_model_best_holds():
    training = {"eval_frequency": 100, "patience": 300, "max_steps": 0}
    # patience counts from the first best (200; 200 + 300 < 600, the next evaluation), while
    # model-best is saved again at the tie (400), as spaCy's loop does both
    evaluations = [(0, 0.1), (100, 0.5), (200, 0.7), (300, 0.6), (400, 0.7), (500, 0.65)]
    assert stop_summary(evaluations, training, budget_spent=False) == (
        "Stopped by patience: no better dev score in the 300 steps after step 200 (last evaluation at step 500); "
        "model-best holds step 400, dev score 0.7000."
    )
    capped = {**training, "patience": 0, "max_steps": 500}
    assert stop_summary(evaluations, capped, budget_spent=False).startswith("Stopped at max_steps (500); model-best holds step 400")
    assert stop_summary(evaluations[:4], training, budget_spent=True) == (
        "The last dev evaluation was at step 300; model-best holds step 200, dev score 0.7000."
    )
    assert stop_summary(evaluations[:4], training, budget_spent=False).startswith("Stopped after the evaluation at step 300;")
    assert "model-best is the pipeline as initialized" in stop_summary([], training, budget_spent=False)


def test_spacy_train_stops_cleanly_at_the_budget(tmp_path):
    from spacy.cli.init_config import init_config
    from typer.testing import CliRunner

    from spacy_xfer.cli import app

    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words=["Eat", "blue", "ham"], tags=["VB", "JJ", "NN"]) for _ in range(4)]
    DocBin(docs=docs).to_disk(tmp_path / "data.spacy")
    init_config(lang="en", pipeline=["tagger"], optimize="efficiency").to_disk(tmp_path / "config.cfg")
    result = CliRunner().invoke(app, [
        "spacy-train", str(tmp_path / "config.cfg"), "--output", str(tmp_path / "out"), "--max-seconds", "0.001",
        "--paths.train", str(tmp_path / "data.spacy"), "--paths.dev", str(tmp_path / "data.spacy"),
    ])
    assert result.exit_code == 0, result.output
    assert "Wall-time budget of 0.001 s spent at step 1" in result.output
    assert "Aborting" not in result.output and "Training pipeline" in result.output  # spaCy's own lines pass
    assert spacy.load(tmp_path / "out" / "model-best")("Eat ham")  # the step-0 checkpoint


def test_train_sizes_the_schedule_to_the_training_set_the_run_reads(tmp_path, monkeypatch):
    """`train` sizes the schedule to the target's training set the run reads (its
    prepared one, or the one a `--set paths.target_train=...` gives instead) and to the
    batch size and labelling rate a `--set` gives."""
    from typer.testing import CliRunner

    from spacy_xfer.cli import app, experiment

    seen = {}
    monkeypatch.setattr(experiment, "train_within_budget", lambda *args: seen.update(args[-1]))
    vocab = spacy.blank("en").vocab
    corpus = tmp_path / "corpus" / "twitter_pos"
    corpus.mkdir(parents=True)

    def docs(n):
        return [Doc(vocab, words=["w"] * 3, tags=["NN"] * 3) for _ in range(n)]

    DocBin(docs=docs(3000)).to_disk(corpus / "train.spacy")  # 30 kept at 0.01: 3 steps a pass
    DocBin(docs=docs(100)).to_disk(corpus / "dev.spacy")
    DocBin(docs=docs(40000)).to_disk(tmp_path / "big_train.spacy")  # 400 kept: 40 steps a pass
    args = ["train", str(REPO / "configs" / "single.cfg"), str(tmp_path / "out"), "--target", "twitter_pos",
            "--corpus-dir", str(tmp_path / "corpus"), "--rate", "0.01"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["training.eval_frequency"] == MIN_EVAL_FREQUENCY
    result = CliRunner().invoke(app, args + ["--set", f"paths.target_train={tmp_path / 'big_train.spacy'}"])
    assert result.exit_code == 0, result.output
    assert seen["training.eval_frequency"] == 40 and seen["paths.target_train"] == str(tmp_path / "big_train.spacy")
    assert "Schedule: evaluate every 40 steps" in result.output
    # and to the batch size and the rate a --set gives (the config's and --rate's before)
    result = CliRunner().invoke(app, args + ["--set", f"paths.target_train={tmp_path / 'big_train.spacy'}",
                                             "--set", "training.batcher.size=5"])
    assert result.exit_code == 0, result.output
    assert seen["training.eval_frequency"] == 80 and seen["training.patience"] == 2000
    result = CliRunner().invoke(app, args + ["--set", f"paths.target_train={tmp_path / 'big_train.spacy'}",
                                             "--set", "xfer.rate=0.05", "--set", "training.batcher.size=20"])
    assert result.exit_code == 0, result.output
    assert seen["training.eval_frequency"] == 100 and seen["training.patience"] == 2000
    # a later --set wins, a whole block included, as in spaCy
    block = 'training.batcher={"@batchers":"spacy_xfer.batch_by_task.v1","size":20}'
    result = CliRunner().invoke(app, args + ["--set", f"paths.target_train={tmp_path / 'big_train.spacy'}",
                                             "--set", "training.batcher.size=5", "--set", block])
    assert result.exit_code == 0, result.output
    assert seen["training.eval_frequency"] == 20
    # a bad value is named, not a traceback
    result = CliRunner().invoke(app, args + ["--set", "training.batcher.size=null"])
    assert result.exit_code != 0 and "E038" in result.output and "training.batcher.size" in result.output
    # a --set of a section the config lacks stops `train` with spaCy's own error, before training
    seen.clear()
    result = CliRunner().invoke(app, args + ["--set", "nosuch.key=1"])
    assert result.exit_code != 0 and "not a section value that can be overridden" in result.output
    assert seen == {}
