"""The simulated active-learning experiment on tiny corpora: training and scoring are
faked (model-best is a tiny tagger trained once), selection is `select.rank` for real."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Sequence

import numpy
import pytest
import spacy
import srsly
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_xfer.annotate.select import uncertainty
from spacy_xfer.docbin import read_docs
from spacy_xfer.experiments import grid as grid_module
from spacy_xfer.experiments.active_learning import (
    Round,
    active_learning_table,
    draw_active_learning,
    load_spec,
    run_active_learning,
)
from spacy_xfer.experiments.grid import THREAD_VARIABLES, Grid, RunFailed

from ..util import NER_DATA, TAG_DATA, examples_for, tiny_model, train
from .fake_runner import option, write_docs
from .util import CONFIGS, failure, run

N_TRAIN = 30
EMPTY = 5  # the index of the empty doc of each prepared train set
STRATEGIES = ["random", "least_confidence", "margin", "entropy"]
SPEC = {
    "description": "tiny",
    "initial": 4,
    "per_round": 3,
    "rounds": 3,
    "max_steps": 10,
    "eval_frequency": 5,
    "diversity": 1.0,
    "strategies": STRATEGIES,
    "benchmarks": {
        "pos": {"source": None, "target": "twitter_pos", "arch": "single"},
        "ner": {"source": "conll03", "target": "twitter_ner", "arch": "t_a"},
    },
}


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory) -> Path:
    """A tiny trained tagger whose head is named `target`, as in the configs."""
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="target", config={"target": "tag", "model": tiny_model()})
    train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=10)
    path = tmp_path_factory.mktemp("al") / "tiny"
    nlp.to_disk(path)
    return path


def varied_docs(n_docs: int) -> List[Doc]:
    """Tagged docs of 2 to 6 words drawn from the test sentences (seeded), so that the
    tiny tagger is more or less sure of them."""
    vocab = Vocab()
    words = sorted({word for text, _ in TAG_DATA + NER_DATA for word in text.split()})
    docs = []
    for i in range(n_docs):
        drawn = numpy.random.default_rng(i).choice(words, size=2 + i % 5).tolist()
        docs.append(Doc(vocab, words=drawn, tags=["NN"] * len(drawn)))
    return docs


class Runner:
    """Prepares tiny corpora; "trains" by copying the tiny pipeline to model-best, with
    a dev and test score of (labelled sentences + seed - 13) / 100; records what each
    training read. `fail_at` makes that training (counting from 1) fail."""

    def __init__(self, pipeline: Path, fail_at: int = 0):
        self.pipeline = pipeline
        self.trained: List[Dict] = []
        self.fail_at = fail_at

    def __call__(self, command: Sequence[str], log_path: Path) -> None:
        step = command[3]
        if step == "prepare":
            docs = varied_docs(N_TRAIN)
            docs.insert(EMPTY, Doc(docs[0].vocab, words=[]))
            for part in ("all", "train", "dev", "test"):
                write_docs(Path(command[6]) / f"{part}.spacy", docs)
        elif step == "train":
            if len(self.trained) + 1 == self.fail_at:
                raise RunFailed("exit code 1: the fake training failed")
            labelled = [[t.text for t in doc] for doc in read_docs(option(command, "paths.target_train"), Vocab())]
            self.trained.append({"command": list(command), "words": labelled})
            best = Path(command[5]) / "model-best"
            shutil.copytree(self.pipeline, best)
            score = (len(labelled) + int(option(command, "--seed")) - 13) / 100
            meta = srsly.read_json(best / "meta.json")
            srsly.write_json(best / "meta.json", {**meta, "performance": {"target_score": score}})
        elif step == "evaluate":
            score = srsly.read_json(Path(command[4]) / "meta.json")["performance"]["target_score"]
            srsly.write_json(Path(command[5]), {"target": {"component": "target", "scores": {"target_score": score}}})


@pytest.fixture
def spec(tmp_path):
    return load_spec(write_spec(tmp_path / "spec.json", SPEC))


def write_spec(path: Path, spec: Dict) -> Path:
    path.write_text(json.dumps(spec), encoding="utf8")
    return path


def make_grid(root: Path) -> Grid:
    return Grid(root / "corpora", root / "work", root / "results", configs_dir=CONFIGS)


def rounds_of(grid: Grid, benchmark: str, strategy: str, seed: int, n_rounds: int = 3) -> List[Dict]:
    first = [srsly.read_json(Round(benchmark, None, seed, 0).results_path(grid))]
    return first + [srsly.read_json(Round(benchmark, strategy, seed, n).results_path(grid)) for n in range(1, n_rounds + 1)]


def test_each_round_adds_per_round_new_sentences_and_trains_on_exactly_them(tiny_pipeline, spec, tmp_path):
    grid, runner = make_grid(tmp_path), Runner(tiny_pipeline)
    summary = run_active_learning(spec, ["pos"], STRATEGIES, [13], grid, runner=runner, echo=lambda _: None)
    assert summary.failed == {} and summary.chains == ["pos-s13"]
    assert len(runner.trained) == 1 + len(STRATEGIES) * 3  # round 0 is shared
    train_docs = read_docs(grid.corpus_dir(13) / "twitter_pos" / "train.spacy", Vocab())
    trained = {tuple(map(tuple, t["words"])) for t in runner.trained}
    for strategy in STRATEGIES:
        rounds = rounds_of(grid, "pos", strategy, 13)
        assert [r["labelled"] for r in rounds] == [4, 7, 10, 13]
        for before, after in zip(rounds, rounds[1:]):
            added = [p["index"] for p in after["added"]]
            assert added == [p["index"] for p in before["selected"][strategy]]
            assert len(set(added)) == 3 and not set(added) & set(before["labelled_indices"])
            assert after["labelled_indices"] == before["labelled_indices"] + added
        assert EMPTY not in rounds[-1]["labelled_indices"]
        assert rounds[-1]["selected"] == {}  # nothing is picked after the last round
        for r in rounds:
            words = tuple(tuple(t.text for t in train_docs[i]) for i in r["labelled_indices"])
            assert words in trained
    for t in runner.trained:  # the same budget for every round and strategy
        assert option(t["command"], "training.max_steps") == "10" and option(t["command"], "training.patience") == "0"


def test_uncertainty_strategies_pick_the_highest_ranked_of_the_pool(tiny_pipeline, spec, tmp_path):
    grid = make_grid(tmp_path)
    run_active_learning(spec, ["pos"], ["least_confidence", "margin"], [13], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    nlp = spacy.load(tiny_pipeline)
    docs = read_docs(grid.corpus_dir(13) / "twitter_pos" / "train.spacy", nlp.vocab)
    for strategy, higher_first in (("least_confidence", True), ("margin", False)):
        rounds = rounds_of(grid, "pos", strategy, 13)
        for before in rounds[:-1]:
            picked = {p["index"] for p in before["selected"][strategy]}
            pool = [i for i, doc in enumerate(docs) if len(doc) and i not in before["labelled_indices"]]
            k = 2 if strategy == "margin" else 1
            bests = nlp.get_pipe("target").nbest([docs[i] for i in pool], k)
            scores = {i: uncertainty(strategy, best) for i, best in zip(pool, bests)}
            reported = [(p["score"], scores[p["index"]]) for p in before["selected"][strategy]]
            assert [r for r, _ in reported] == pytest.approx([s for _, s in reported], abs=1e-6)
            assert len({round(score, 6) for score in scores.values()}) > 10  # the ranking can go wrong
            chosen, rest = [scores[i] for i in picked], [scores[i] for i in pool if i not in picked]
            if higher_first:
                assert min(chosen) >= max(rest)
            else:
                assert max(chosen) <= min(rest)


def test_random_picks_depend_on_the_seed_only(tiny_pipeline, spec, tmp_path):
    picks = {}
    for name, seed in (("a", 13), ("b", 13), ("c", 14)):
        grid = make_grid(tmp_path / name)
        run_active_learning(spec, ["pos"], ["random"], [seed], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
        picks[name] = [r["labelled_indices"] for r in rounds_of(grid, "pos", "random", seed)]
    assert picks["a"] == picks["b"]
    assert picks["a"] != picks["c"]


class BrokenRunner(Runner):
    """Its trainings for seed 13 stop with an unexpected error (not RunFailed)."""

    def __call__(self, command: Sequence[str], log_path: Path) -> None:
        if command[3] == "train" and option(command, "--seed") == "13":
            raise OSError("disk full")
        super().__call__(command, log_path)


def test_a_chain_stopped_by_any_error_is_reported_and_the_others_finish(tiny_pipeline, spec, tmp_path):
    grid, lines = make_grid(tmp_path), []
    summary = run_active_learning(
        spec, ["pos"], STRATEGIES, [13, 14], grid, runner=BrokenRunner(tiny_pipeline), workers=2, echo=lines.append,
    )
    assert summary.failed == {"pos-s13": "OSError: disk full"}
    assert summary.chains == ["pos-s14"]
    assert "pos-s13: FAILED: OSError: disk full" in lines


@pytest.mark.parametrize("cores,workers,user,threads", [(4, 2, None, "2"), (2, 2, None, "1"), (2, 4, None, "1"), (4, 2, "3", "3")])
def test_chains_run_at_a_time_share_the_cores(tmp_path, monkeypatch, cores, workers, user, threads):
    """`--workers` chains at a time: each command gets cores // workers torch/BLAS
    threads (the cores this process may use; torch's default, one per core, would
    oversubscribe them), or the user's."""
    seen = []

    def fake_run(command, **kwargs):
        seen.append(kwargs["env"])
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(grid_module.subprocess, "run", fake_run)
    monkeypatch.setattr(grid_module.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    for name in THREAD_VARIABLES:
        if user is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, user)
    with pytest.raises(RunFailed, match="E070"):
        run_active_learning(SPEC, ["pos"], ["random"], [13], make_grid(tmp_path), workers=workers, echo=lambda _: None)
    assert seen and [seen[0][name] for name in THREAD_VARIABLES] == [threads] * 2


def test_an_interrupted_experiment_resumes_at_the_first_missing_round(tiny_pipeline, spec, tmp_path):
    whole = make_grid(tmp_path / "whole")
    run_active_learning(spec, ["pos"], STRATEGIES, [13], whole, runner=Runner(tiny_pipeline), echo=lambda _: None)
    grid, failing = make_grid(tmp_path / "resumed"), Runner(tiny_pipeline, fail_at=6)
    summary = run_active_learning(spec, ["pos"], STRATEGIES, [13], grid, runner=failing, echo=lambda _: None)
    assert list(summary.failed) == ["pos-s13"] and "fake training failed" in summary.failed["pos-s13"]
    assert len(failing.trained) == 5
    again = Runner(tiny_pipeline)
    summary = run_active_learning(spec, ["pos"], STRATEGIES, [13], grid, runner=again, echo=lambda _: None)
    assert summary.failed == {}
    assert len(again.trained) == 1 + len(STRATEGIES) * 3 - 5  # the finished rounds are not trained again
    for strategy in STRATEGIES:
        resumed = [r["labelled_indices"] for r in rounds_of(grid, "pos", strategy, 13)]
        assert resumed == [r["labelled_indices"] for r in rounds_of(whole, "pos", strategy, 13)]
    assert not list((grid.work_dir / "active_learning").glob("*/training"))  # models deleted


def test_results_of_other_settings_are_not_continued(tiny_pipeline, spec, tmp_path):
    grid = make_grid(tmp_path)
    run_active_learning(spec, ["pos"], ["random"], [13], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    summary = run_active_learning({**spec, "max_steps": 20}, ["pos"], ["random"], [13], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    assert "[E076] run with other settings (max_steps: 10 -> 20)" in summary.failed["pos-s13"]


def test_a_strategy_missing_from_round_0_is_an_error(tiny_pipeline, spec, tmp_path):
    grid = make_grid(tmp_path)
    run_active_learning(spec, ["pos"], ["random"], [13], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    summary = run_active_learning(spec, ["pos"], ["margin"], [13], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    assert "pos-s13-r0.json: [E077] has no picks for 'margin'" in summary.failed["pos-s13"]


def test_table_and_figures_show_mean_and_spread_over_seeds_per_strategy(tiny_pipeline, spec, tmp_path):
    spec_path = write_spec(tmp_path / "spec.json", SPEC)
    grid = make_grid(tmp_path)
    assert active_learning_table(grid.results_dir, spec_path).startswith("Not run yet.")
    run_active_learning(spec, ["pos", "ner"], ["random", "entropy"], [13, 14], grid, runner=Runner(tiny_pipeline), echo=lambda _: None)
    table = active_learning_table(grid.results_dir, spec_path)
    lines = table.splitlines()
    for name, title in (("pos", "twitter_pos (no transfer), test accuracy (%)"), ("ner", "conll03 -> twitter_ner (T-A), test F1 (%)")):
        start = lines.index(f"{name}: {title}")
        assert lines[start + 2] == "| labelled sentences | random | entropy |"
        # fake scores: labelled + seed - 13, in %: seeds 13 and 14 give n and n + 1
        assert lines[start + 4 : start + 8] == [
            f"| {n} | {n + 0.5:.2f} ± 0.71 (n=2) | {n + 0.5:.2f} ± 0.71 (n=2) |" for n in (4, 7, 10, 13)
        ]
    assert "10 steps (dev evaluated every 5" in table and "(13/14)" in table
    pytest.importorskip("matplotlib")
    written = draw_active_learning(grid.results_dir, tmp_path / "figures", spec_path)
    assert written == [tmp_path / "figures" / "active_learning-pos.png", tmp_path / "figures" / "active_learning-ner.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_a_budget_that_ends_between_evaluations_is_refused(spec, tmp_path):
    with pytest.raises(ValueError, match=r"\[E080\] max_steps 12 is not a multiple of eval_frequency 5"):
        run_active_learning({**spec, "max_steps": 12}, ["pos"], ["random"], [13], make_grid(tmp_path))


def test_unknown_strategy_is_a_one_line_error(tmp_path):
    result = run("active-learning", "--strategies", "loudest", "--results", tmp_path / "results", "--work-dir", tmp_path / "work")
    assert result.exit_code == 1
    assert "[E039] Unknown benchmarks or strategies ['loudest']" in failure(result)


def test_a_benchmark_of_ones_own_is_refused_with_the_route_that_takes_it(tmp_path):
    """The simulation prepares built-in benchmarks; the message names `select`, which
    serves a corpus of one's own."""
    path = write_spec(tmp_path / "spec.json", {**SPEC, "benchmarks": {"mine": {"source": None, "target": "mine", "arch": "single"}}})
    with pytest.raises(ValueError, match=r"\[E069\] benchmark 'mine': unknown benchmark 'mine'; expected one of .*built-in benchmarks only; .*spacy_xfer select"):
        load_spec(path)
