"""`spacy-xfer prepare / train / evaluate`: the steps of an experiment on the paper's
benchmarks, as the spaCy project runs them."""

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import srsly
import typer
from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train as spacy_train
from spacy.util import load_config

from ..device import use_device
from ..experiments import BENCHMARKS, evaluate_pipeline, prepare_benchmark, train_overrides, write_json
from ..experiments.schedule import schedule_overrides
from ..training.budget import TrainingBudgetSpent
from ._util import app

BENCHMARK_HELP = f"A benchmark corpus: {', '.join(sorted(BENCHMARKS))}."


@app.command("prepare")
def prepare_command(
    name: str = typer.Argument(..., help=BENCHMARK_HELP),
    corpora_dir: Path = typer.Argument(..., help="The folder of the raw corpora (the layout of ../shared/corpora)."),
    output_dir: Path = typer.Argument(..., help="Where train.spacy, dev.spacy and test.spacy go."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random splits."),
) -> None:
    """Convert a benchmark corpus to train/dev/test DocBins (splitting it if it has no
    standard split)."""
    stats = prepare_benchmark(name, corpora_dir, output_dir, seed)
    for part, info in stats.items():
        typer.echo(f"{name} {part}: {info['sentences']} sentences, {info['tokens']} tokens")


@app.command("train")
def train_command(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="configs/single.cfg, t_a.cfg, t_b.cfg or t_c.cfg."),
    output_path: Path = typer.Argument(..., help="The training output folder (model-best, model-last)."),
    target: str = typer.Option(..., "--target", help=BENCHMARK_HELP),
    source: Optional[str] = typer.Option(None, "--source", help="The source benchmark (not for single.cfg)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus-dir", help="Where `prepare` wrote each benchmark's folder."),
    rate: float = typer.Option(1.0, "--rate", help="The target's labelling rate, in (0, 1]."),
    seed: int = typer.Option(0, "--seed", help="Seed of training and of the labelled sample."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
    vectors: Optional[str] = typer.Option(None, "--vectors", help="A pipeline or vectors folder for [initialize] vectors."),
    max_seconds: float = typer.Option(0, "--max-seconds", help="Wall-time budget of the updates in seconds (0: none); training stops at patience or at the budget, whichever comes first."),
    override: List[str] = typer.Option([], "--set", help="Extra config settings, e.g. --set training.max_steps=2000."),
) -> None:
    """Train a pipeline with spaCy's training loop, the config's corpora and settings
    filled in from the benchmark names, until the target's dev score has not improved
    for `patience` steps (sized to the target: see spacy_xfer/experiments/schedule.py)
    or the wall-time budget is spent."""
    use_device(gpu_id)  # before spaCy creates the output folder
    logging.getLogger("spacy.xfer").setLevel(logging.INFO)  # the realised task proportions
    config = load_config(config_path, interpolate=False)
    overrides = train_overrides(config, source, target, corpus_dir, rate=rate, seed=seed, vectors=vectors or None)
    overrides["xfer.rate_seed"] = seed
    overrides.update(schedule_overrides(config, Path(overrides["paths.target_train"]), rate))
    overrides.update(budget_overrides(max_seconds))
    if gpu_id >= 0:  # torch and cupy share the GPU memory pool
        overrides["system.gpu_allocator"] = "pytorch"
    for item in override:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = load_config_value(value)
    typer.echo(
        f"Schedule: evaluate every {overrides['training.eval_frequency']} steps, patience "
        f"{overrides['training.patience']} steps, wall-time budget {f'{max_seconds:g} s' if max_seconds > 0 else 'none'}"
    )
    train_within_budget(config_path, output_path, gpu_id, overrides)


@app.command(
    "spacy-train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def spacy_train_command(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Any spaCy training config."),
    output_path: Path = typer.Option(..., "--output", "-o", help="The training output folder (model-best, model-last)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
    max_seconds: float = typer.Option(0, "--max-seconds", help="Wall-time budget of the updates in seconds (0: none)."),
) -> None:
    """spaCy's `spacy train` (config overrides as `--section.key value`) with a
    wall-time budget that ends training cleanly (exit 0, model-best kept): the grid
    trains spaCy's built-in baselines with it."""
    use_device(gpu_id)
    overrides = {**parse_config_overrides(ctx.args), **budget_overrides(max_seconds)}
    train_within_budget(config_path, output_path, gpu_id, overrides)


def budget_overrides(max_seconds: float) -> Dict[str, Any]:
    """The `[training] before_update` callback of a wall-time budget (none for 0)."""
    if max_seconds <= 0:
        return {}
    return {"training.before_update": {"@callbacks": "spacy_xfer.wall_time_budget.v1", "seconds": max_seconds}}


def train_within_budget(config_path: Path, output_path: Path, gpu_id: int, overrides: Dict[str, Any]) -> None:
    """spaCy's training; a spent wall-time budget ends it with a line, not an error."""
    try:
        spacy_train(config_path, output_path, use_gpu=gpu_id, overrides=overrides)
    except TrainingBudgetSpent as spent:
        typer.echo(str(spent))


def load_config_value(value: str) -> Any:
    """A --set value parsed as spaCy parses config values (JSON, else a string)."""
    try:
        return srsly.json_loads(value)
    except ValueError:
        return value


@app.command("evaluate")
def evaluate_command(
    model: Path = typer.Argument(..., exists=True, help="A trained pipeline (e.g. training/.../model-best)."),
    output: Path = typer.Argument(..., help="The metrics JSON file to write."),
    target: str = typer.Option(..., "--target", help=BENCHMARK_HELP),
    source: Optional[str] = typer.Option(None, "--source", help="The source benchmark, to score its head too."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus-dir", help="Where `prepare` wrote each benchmark's folder."),
    part: str = typer.Option("test", "--part", help="The part to score: test or dev."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
) -> None:
    """Score each head on its own task's test set and write the scores as JSON."""
    use_device(gpu_id)
    nlp = spacy.load(model)
    names = {"source": source, "target": target}
    files = {role: corpus_dir / name / f"{part}.spacy" for role, name in names.items() if name}
    results = evaluate_pipeline(nlp, files)
    write_json(output, {"model": str(model), "part": part, **{role: {"benchmark": names[role], **r} for role, r in results.items()}})
    for role, result in results.items():
        scores = ", ".join(f"{k} {v:.4f}" for k, v in result["scores"].items() if isinstance(v, float))
        typer.echo(f"{role} ({names[role]}, {part}): {scores}")
