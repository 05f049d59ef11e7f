"""Simulated active learning: does labelling the sentences the model is least sure of
beat labelling at random, at the same training budget?

Per benchmark of `active_learning.json` (a target, with a transfer source or without),
seed and strategy (those of `annotate/select.py`: least_confidence, margin, entropy,
and random as the control):

- round 0 labels `initial` sentences drawn at random (seeded) from the target's prepared
  train set; the same sentences and the same trained model start every strategy;
- every round trains `python -m spacy_xfer train` on the labelled sentences (and on the
  source, for transfer) for exactly `max_steps` steps (patience off, the same budget in
  every round and for every strategy; model-best chosen on the target's dev set,
  evaluated every `eval_frequency` steps) and scores model-best on dev and test;
- then, except in the last round, the strategy ranks the rest of the train set with
  model-best (`select.rank`, its diversity filter at `diversity`) and the `per_round`
  sentences it chooses are labelled (their gold is the prepared train set's);
- after `rounds` rounds: `initial + rounds * per_round` labelled sentences.

Each round writes `RESULTS/active_learning/<benchmark>-s<seed>-r0.json` (round 0, shared)
or `<benchmark>-<strategy>-s<seed>-r<round>.json` atomically: its commands, seed, commit,
wall time, scores, the labelled sentences (indices into the prepared `train.spacy`) and
the picks of the next round per strategy. A round whose file exists is skipped and the
next round's labelled set is read from it, so an interrupted experiment resumes at the
first missing round; the trained models are deleted once the file is written.
"""

import functools
import hashlib
import shutil
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple

import numpy
import spacy
import srsly
from spacy.tokens import Doc, DocBin
from spacy.util import load_config
from spacy.vocab import Vocab

from ..annotate.inputs import Item
from ..annotate.select import STRATEGIES, choose_head, rank
from ..corpora.io import write_atomic
from ..docbin import read_docs
from ..errors import Errors
from .benchmarks import BENCHMARKS, get_benchmark
from .grid import (
    TOKEN_TARGETS,
    Grid,
    Runner,
    RunFailed,
    git_state,
    is_prepared,
    machine_info,
    prepare_command,
    run_env,
    run_subprocess,
    run_timed,
    usable_cores,
)
from .report import commits_line, format_cell, plot_mean_band, pyplot, save_png
from .steps import write_json

SPEC_FILE = Path(__file__).parent / "active_learning.json"
SUBDIR = "active_learning"
ARCHS = ("single", "t_a", "t_b", "t_c")
COUNTS = ("initial", "per_round", "rounds", "max_steps", "eval_frequency")
HEAD = "target"  # the target head's name in every config


def load_spec(path: Path = SPEC_FILE) -> Dict[str, Any]:
    """The experiment's settings and benchmarks (the schema of `active_learning.json`).

    RAISES (ValueError): E069 for a missing or bad setting, naming the file and the entry.
    """
    spec = srsly.read_json(path)

    def fail(problem: str, expected: str) -> NoReturn:
        raise ValueError(Errors.E069.format(path=path, problem=problem, expected=expected))

    for key in COUNTS:
        if not isinstance(spec.get(key), int) or spec[key] < 1:
            fail(f"{key} is {spec.get(key)!r}", "a positive integer")
    if not isinstance(spec.get("diversity"), (int, float)) or not 0 < spec["diversity"] <= 1:
        fail(f"diversity is {spec.get('diversity')!r}", "a number in (0, 1] (1: no filter)")
    unknown = [s for s in spec.get("strategies", []) if s not in STRATEGIES]
    if unknown or not spec.get("strategies"):
        fail(f"strategies {spec.get('strategies')!r}", f"some of {list(STRATEGIES)}")
    for name, bench in spec.get("benchmarks", {}).items():
        if sorted(bench) != ["arch", "source", "target"] or bench["arch"] not in ARCHS:
            fail(f"benchmark {name!r} is {bench}", f"source (or null), target and arch ({', '.join(ARCHS)})")
        if (bench["source"] is None) != (bench["arch"] == "single"):
            fail(f"benchmark {name!r} has source {bench['source']!r} with arch {bench['arch']!r}", "a source with a transfer arch, none with 'single'")
        for corpus in filter(None, (bench["source"], bench["target"])):
            if corpus not in BENCHMARKS:
                fail(
                    f"benchmark {name!r}: unknown benchmark {corpus!r}",
                    f"one of {sorted(BENCHMARKS)} (the simulation prepares built-in benchmarks only; "
                    "on a corpus of your own, `python -m spacy_xfer select` picks the sentences to label)",
                )
    return spec


@dataclass(frozen=True)
class Round:
    """One training round: of a benchmark, a strategy (None for round 0, which the
    strategies share) and a seed."""

    benchmark: str
    strategy: Optional[str]
    seed: int
    number: int

    @property
    def name(self) -> str:
        if self.strategy is None:
            return f"{self.benchmark}-s{self.seed}-r{self.number}"
        return f"{self.benchmark}-{self.strategy}-s{self.seed}-r{self.number}"

    def results_path(self, grid: Grid) -> Path:
        return grid.results_dir / SUBDIR / f"{self.name}.json"

    def run_dir(self, grid: Grid) -> Path:
        return grid.work_dir / SUBDIR / self.name


def round_settings(benchmark: str, spec: Dict[str, Any], grid: Grid) -> Dict[str, Any]:
    """What a round's result depends on (beside its strategy and seed); a results file
    with other settings cannot be continued."""
    config = grid.configs_dir / f"{spec['benchmarks'][benchmark]['arch']}.cfg"
    config_text = load_config(config, interpolate=False).to_str()
    return {
        "benchmark": benchmark,
        **spec["benchmarks"][benchmark],
        **{key: spec[key] for key in ("initial", "per_round", "max_steps", "eval_frequency", "diversity")},
        "config": str(config),
        "config_sha256": hashlib.sha256(config_text.encode("utf8")).hexdigest(),
        "vectors": grid.vectors_name,
    }


def finished(rnd: Round, settings: Dict[str, Any], grid: Grid) -> Optional[Dict[str, Any]]:
    """The round's results, if its file exists.

    RAISES (ValueError): E076 if the file has other settings, listing the differences.
    """
    path = rnd.results_path(grid)
    if not path.exists():
        return None
    results = srsly.read_json(path)
    old = results.get("settings", {})
    changed = [f"{key}: {old.get(key)!r} -> {value!r}" for key, value in settings.items() if old.get(key) != value]
    if changed:
        raise ValueError(Errors.E076.format(path=path, changed="; ".join(changed)))
    return results


def initial_sample(docs: Sequence[Doc], n: int, seed: int, *, where: str) -> List[int]:
    """`n` indices of non-empty docs, drawn without replacement (seeded), sorted.

    where (str): Where the docs come from, for the error message.
    RAISES (ValueError): E078 if there are fewer than `n` non-empty docs.
    """
    candidates = [i for i, doc in enumerate(docs) if len(doc)]
    if len(candidates) < n:
        raise ValueError(Errors.E078.format(where=where, available=len(candidates), n=n))
    return sorted(int(i) for i in numpy.random.default_rng(seed).choice(candidates, size=n, replace=False))


def pick(
    nlp: spacy.Language, docs: Sequence[Doc], labelled: Sequence[int], strategy: str, *,
    n: int, diversity: float, seed: int, where: str,
) -> List[Dict[str, Any]]:
    """The next `n` sentences to label: the strategy's choice (`select.rank`) among the
    non-empty docs not yet labelled.

    RETURNS (List[Dict[str, Any]]): {index (into `docs`), score (the strategy's)}, in
        selection order.
    RAISES (ValueError): E079 if fewer than `n` sentences can be chosen.
    """
    taken = set(labelled)
    pool = [i for i, doc in enumerate(docs) if i not in taken and len(doc)]
    items = (
        Item(f"{where}:doc {i}", words=[t.text for t in docs[i]], spaces=[bool(t.whitespace_) for t in docs[i]])
        for i in pool
    )
    head = choose_head(nlp, HEAD)
    chosen = rank(nlp, head, items, n=n, strategy=strategy, diversity=diversity, seed=seed)
    if len(chosen) < n:
        raise ValueError(Errors.E079.format(where=where, strategy=strategy, chosen=len(chosen), n=n))
    return [{"index": pool[c.position], "score": c.score} for c in chosen]


def selection_seed(rnd: Round) -> int:
    """The seed of the picks made after a round (ties; the random strategy's draw)."""
    return 1000 * rnd.seed + rnd.number


def train_command(rnd: Round, spec: Dict[str, Any], grid: Grid, labelled_path: Path) -> List[str]:
    """`spacy_xfer train` on the labelled sentences for exactly `max_steps` steps."""
    bench = spec["benchmarks"][rnd.benchmark]
    command = [
        grid.python, "-m", "spacy_xfer", "train", str(grid.configs_dir / f"{bench['arch']}.cfg"),
        str(rnd.run_dir(grid) / "training"),
        "--target", bench["target"], *(["--source", bench["source"]] if bench["source"] else []),
        "--corpus-dir", str(grid.corpus_dir(rnd.seed)), "--seed", str(rnd.seed),
        "--set", f"paths.target_train={labelled_path}",
        "--set", f"training.max_steps={spec['max_steps']}",
        "--set", f"training.eval_frequency={spec['eval_frequency']}",
        "--set", "training.patience=0",
    ]
    return command + (["--vectors", grid.vectors] if grid.vectors else [])


def evaluate_command(rnd: Round, spec: Dict[str, Any], grid: Grid) -> List[str]:
    """`spacy_xfer evaluate` of model-best on the target's test set."""
    run_dir = rnd.run_dir(grid)
    return [
        grid.python, "-m", "spacy_xfer", "evaluate", str(run_dir / "training" / "model-best"), str(run_dir / "test.json"),
        "--target", spec["benchmarks"][rnd.benchmark]["target"], "--corpus-dir", str(grid.corpus_dir(rnd.seed)),
    ]


def execute_round(
    rnd: Round, labelled: List[int], added: List[Dict[str, Any]], strategies: Sequence[str],
    docs: Sequence[Doc], spec: Dict[str, Any], grid: Grid, runner: Runner,
) -> Dict[str, Any]:
    """Train on the labelled sentences, score, pick the next ones for each of
    `strategies` (none after the last round), write the round's results file.

    labelled (List[int]): indices into `docs`, the target's prepared train set.
    added (List[Dict[str, Any]]): the picks that were added in this round.
    RETURNS (Dict[str, Any]): The results written.
    RAISES (RunFailed): If a command fails.
    """
    start = time.perf_counter()
    bench = spec["benchmarks"][rnd.benchmark]
    run_dir = rnd.run_dir(grid)
    shutil.rmtree(run_dir, ignore_errors=True)
    labelled_path = run_dir / "labelled.spacy"
    write_atomic(labelled_path, DocBin(docs=[docs[i] for i in labelled], store_user_data=True).to_bytes())
    commands: List[Dict[str, Any]] = []
    train_seconds = run_timed(runner, train_command(rnd, spec, grid, labelled_path), run_dir / "train.log", commands)
    run_timed(runner, evaluate_command(rnd, spec, grid), run_dir / "evaluate.log", commands)
    model = run_dir / "training" / "model-best"
    test = srsly.read_json(run_dir / "test.json")["target"]
    key = f"{test['component']}_score"
    select_start = time.perf_counter()
    nlp = spacy.load(model) if strategies else None
    where = str(grid.corpus_dir(rnd.seed) / bench["target"] / "train.spacy")
    selected = {
        strategy: pick(
            nlp, docs, labelled, strategy, n=spec["per_round"], diversity=spec["diversity"],
            seed=selection_seed(rnd), where=where,
        )
        for strategy in strategies
    }
    results = {
        "round": rnd.number,
        "benchmark": rnd.benchmark,
        "strategy": rnd.strategy,
        "seed": rnd.seed,
        "settings": round_settings(rnd.benchmark, spec, grid),
        "metric": "accuracy" if get_benchmark(bench["target"])["target"] in TOKEN_TARGETS else "F1",
        "labelled": len(labelled),
        "labelled_indices": labelled,
        "added": added,
        "dev_score": srsly.read_json(model / "meta.json")["performance"].get(key),
        "test_score": test["scores"].get(key),
        "selected": selected,
        "train_seconds": round(train_seconds, 1),
        "select_seconds": round(time.perf_counter() - select_start, 1),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "commands": commands,
        "git": git_state(Path(__file__).resolve().parents[2], grid.results_dir),
        "machine": machine_info(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json(rnd.results_path(grid), results)
    shutil.rmtree(run_dir / "training")
    return results


def run_chain(
    benchmark: str, seed: int, strategies: Sequence[str], spec: Dict[str, Any], grid: Grid,
    runner: Runner, echo: Callable[[str], None],
) -> List[Dict[str, Any]]:
    """Round 0 of a benchmark and seed, then every round of each strategy; finished
    rounds are read, not run.

    RETURNS (List[Dict[str, Any]]): Every round's results, round 0 first.
    RAISES (ValueError): For a results file with other settings (E076), or a round 0
        that has no picks for a strategy (E077); RunFailed: if a command fails.
    """
    bench = spec["benchmarks"][benchmark]
    settings = round_settings(benchmark, spec, grid)
    train_path = grid.corpus_dir(seed) / bench["target"] / "train.spacy"
    docs = read_docs(train_path, Vocab())

    def run(rnd: Round, labelled: List[int], added: List[Dict[str, Any]], choose: Sequence[str]) -> Dict[str, Any]:
        results = finished(rnd, settings, grid)
        if results is not None:
            echo(f"{rnd.name}: done ({rnd.results_path(grid)})")
            return results
        results = execute_round(rnd, labelled, added, choose, docs, spec, grid, runner)
        echo(
            f"{rnd.name}: {results['labelled']} labelled, dev {results['dev_score']}, "
            f"test {results['test_score']} ({results['wall_seconds']:.0f} s)"
        )
        return results

    first = Round(benchmark, None, seed, 0)
    initial = initial_sample(docs, spec["initial"], seed, where=str(train_path))
    done = [run(first, initial, [{"index": i, "score": None} for i in initial], strategies)]
    for strategy in strategies:
        previous = done[0]
        for number in range(1, spec["rounds"] + 1):
            rnd = Round(benchmark, strategy, seed, number)
            picks = previous["selected"].get(strategy)
            if picks is None:
                path = Round(benchmark, previous["strategy"], seed, number - 1).results_path(grid)
                raise ValueError(Errors.E077.format(path=path, strategy=strategy, strategies=sorted(previous["selected"])))
            labelled = previous["labelled_indices"] + [p["index"] for p in picks]
            previous = run(rnd, labelled, picks, [strategy] if number < spec["rounds"] else [])
            done.append(previous)
    return done


def shared_cores_runner(workers: int) -> Runner:
    """`run_subprocess` with each command on its share of the cores: `cores // workers`
    torch/BLAS threads (at least 1; the cores this process may use, `usable_cores`), or
    the threads the user set (`run_env`)."""
    return functools.partial(run_subprocess, env=run_env(max(1, usable_cores() // workers)))


@dataclass
class Summary:
    """What an invocation did: finished chains, and the failed ones with their error."""

    chains: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)


def run_active_learning(
    spec: Dict[str, Any], benchmarks: Sequence[str], strategies: Sequence[str], seeds: Sequence[int], grid: Grid, *,
    runner: Optional[Runner] = None, workers: int = 1, echo: Callable[[str], None] = print,
) -> Summary:
    """Prepare the corpora, then run each benchmark and seed's chain of rounds
    (`workers` chains at a time); a failed chain is reported and the others go on.
    Commands run with `runner`, by default `shared_cores_runner(workers)`.

    RAISES (ValueError): E039 for a benchmark or strategy the spec does not name, E080
        for a `max_steps` that is not a multiple of `eval_frequency`.
    """
    runner = runner or shared_cores_runner(workers)
    unknown = sorted(set(benchmarks) - set(spec["benchmarks"])) + sorted(set(strategies) - set(spec["strategies"]))
    if unknown:
        choices = f"the benchmarks {sorted(spec['benchmarks'])} and strategies {spec['strategies']} of the spec ({SPEC_FILE} by default)"
        raise ValueError(Errors.E039.format(kind="benchmarks or strategies", value=unknown, choices=choices))
    if spec["max_steps"] % spec["eval_frequency"]:
        raise ValueError(Errors.E080.format(max_steps=spec["max_steps"], eval_frequency=spec["eval_frequency"]))
    for seed in seeds:
        names = {spec["benchmarks"][b][role] for b in benchmarks for role in ("source", "target")} - {None}
        for name in sorted(names):
            if not is_prepared(name, seed, grid):
                runner(prepare_command(name, seed, grid), grid.corpus_dir(seed) / f"prepare-{name}.log")
    summary = Summary()

    def chain(job: Tuple[str, int]) -> None:
        name = f"{job[0]}-s{job[1]}"
        try:
            run_chain(*job, strategies, spec, grid, runner, echo)
        except Exception as e:  # whatever stops a chain is reported; the other chains go on
            detail = str(e) if isinstance(e, (RunFailed, ValueError)) else f"{type(e).__name__}: {e}"
            echo(f"{name}: FAILED: {detail}")
            summary.failed[name] = detail
            return
        summary.chains.append(name)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(chain, [(benchmark, seed) for seed in seeds for benchmark in benchmarks]))
    return summary


def load_rounds(results_dir: Path) -> List[Dict[str, Any]]:
    """The rounds' results files of `RESULTS/active_learning/`; none without it."""
    return [srsly.read_json(path) for path in sorted((Path(results_dir) / SUBDIR).glob("*.json"))]


def learning_curves(rounds: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, List[Tuple[int, List[float]]]]]:
    """benchmark -> strategy -> (labelled sentences, test scores in % over seeds), by
    labelled sentences; round 0 counts for each strategy that continued from it."""
    scores: Dict[str, Dict[str, Dict[int, List[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for data in rounds:
        if data["test_score"] is None:
            continue
        strategies = [data["strategy"]] if data["strategy"] else [
            s for s in data["selected"] if any(r["strategy"] == s and r["benchmark"] == data["benchmark"] for r in rounds)
        ]
        for strategy in strategies:
            scores[data["benchmark"]][strategy][data["labelled"]].append(100 * data["test_score"])
    return {
        benchmark: {strategy: sorted(points.items()) for strategy, points in by_strategy.items()}
        for benchmark, by_strategy in scores.items()
    }


def benchmark_title(name: str, bench: Dict[str, Any]) -> str:
    """e.g. "conll03 -> twitter_ner (T-A)" or "twitter_pos (no transfer)"."""
    if bench["source"]:
        return f"{bench['source']} -> {bench['target']} ({bench['arch'].replace('_', '-').upper()})"
    return f"{bench['target']} (no transfer)"


def active_learning_table(results_dir: Path, spec_path: Path = SPEC_FILE) -> str:
    """The README's Markdown: per benchmark, test score (mean ± std over seeds) against
    labelled sentences, a column per strategy; with the settings and commits."""
    spec = load_spec(spec_path)
    rounds = load_rounds(results_dir)
    command = "`python -m spacy_xfer active-learning`, then `python -m spacy_xfer report --readme README.md`"
    if not rounds:
        return f"Not run yet. Run: {command}.\n"
    curves = learning_curves(rounds)
    lines: List[str] = []
    for name, bench in spec["benchmarks"].items():
        if name not in curves:
            continue
        by_strategy = {s: dict(curves[name][s]) for s in spec["strategies"] if s in curves[name]}
        metric = next(r["metric"] for r in rounds if r["benchmark"] == name)
        counts = sorted({count for points in by_strategy.values() for count in points})
        lines += [f"{name}: {benchmark_title(name, bench)}, test {metric} (%)", ""]
        lines += [f"| labelled sentences | {' | '.join(by_strategy)} |", "| --- |" + " --- |" * len(by_strategy)]
        for count in counts:
            lines.append(f"| {count} | {' | '.join(format_cell(points.get(count, [])) for points in by_strategy.values())} |")
        lines.append("")
    settings = sorted({(r["settings"]["max_steps"], r["settings"]["eval_frequency"], r["settings"]["diversity"]) for r in rounds})
    seeds = sorted({r["seed"] for r in rounds})
    lines += [
        "Test scores (%) of model-best (chosen on the target's dev set), mean ± sample standard "
        "deviation over n seeds (" + "/".join(map(str, seeds)) + "). Every round trains from scratch for "
        + " / ".join(f"{steps} steps (dev evaluated every {every}; selection's diversity filter {diversity})" for steps, every, diversity in settings)
        + "; the first line (round 0, a random sample) is shared by the strategies. "
        f"Regenerate: {command}; plots: `python -m spacy_xfer report --figures figures/`.",
        "",
        commits_line(rounds),
    ]
    return "\n".join(lines) + "\n"


def draw_active_learning(results_dir: Path, output_dir: Path, spec_path: Path = SPEC_FILE) -> List[Path]:
    """One PNG per benchmark with results: test score against labelled sentences, a
    line through the mean over seeds and a band from the lowest to the highest seed,
    per strategy.

    RETURNS (List[Path]): The PNG files written.
    RAISES (ImportError): Without matplotlib.
    """
    spec = load_spec(spec_path)
    rounds = load_rounds(results_dir)
    curves = learning_curves(rounds)
    written = []
    for name, bench in spec["benchmarks"].items():
        if name not in curves:
            continue
        fig, ax = pyplot().subplots(figsize=(5, 3.6))
        for strategy in spec["strategies"]:
            if strategy in curves[name]:
                plot_mean_band(ax, curves[name][strategy], strategy)
        metric = next(r["metric"] for r in rounds if r["benchmark"] == name)
        ax.set_xlabel("labelled target sentences")
        ax.set_ylabel(f"test {metric} (%)")
        ax.set_title(f"{benchmark_title(name, bench)}: active learning\nmean and min-max over seeds", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(save_png(fig, Path(output_dir) / f"active_learning-{name}.png"))
    return written
