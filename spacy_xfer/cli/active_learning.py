"""`spacy-xfer active-learning`: the simulated active-learning experiment (rounds of
training, scoring and choosing what to label next), its results shown by `report`.

    python -m spacy_xfer active-learning --seeds 3
    python -m spacy_xfer report --readme README.md --figures figures/
"""

from pathlib import Path
from typing import List, Optional

import typer

from ..experiments.active_learning import SPEC_FILE, load_spec, run_active_learning
from ..experiments.grid import Grid, seed_list
from ._util import app


@app.command("active-learning")
def active_learning_command(
    spec_path: Path = typer.Option(SPEC_FILE, "--spec", exists=True, dir_okay=False, help="The experiment's settings and benchmarks (the schema of spacy_xfer/experiments/active_learning.json)."),
    benchmarks: Optional[str] = typer.Option(None, "--benchmarks", help="Benchmarks of the spec, comma-separated (default: all)."),
    strategies: Optional[str] = typer.Option(None, "--strategies", help="Strategies, comma-separated (default: the spec's: random, least_confidence, margin, entropy)."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Run the first N seeds: 13, 14, 15, ..."),
    seed: List[int] = typer.Option([], "--seed", help="Run this seed (repeatable); overrides --seeds."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Steps of every round's training (default: the spec's)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Chains (benchmark and seed) run at a time, each command on cores // N torch/BLAS threads unless OMP_NUM_THREADS or MKL_NUM_THREADS is set (an unset MKL_NUM_THREADS follows OMP_NUM_THREADS)."),
    vectors: Optional[str] = typer.Option(None, "--vectors", help="A pipeline or vectors folder for every training run (default: none)."),
    results: Path = typer.Option(Path("results"), "--results", help="Results go to RESULTS/active_learning/*.json."),
    work_dir: Path = typer.Option(Path("grid"), "--work-dir", help="Prepared corpora (shared with the grid) and round folders."),
    corpora_dir: Path = typer.Option(Path("../shared/corpora"), "--corpora-dir", help="The raw corpora (the layout of ../shared/corpora)."),
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help="The folder of single.cfg and t_a.cfg."),
) -> None:
    """Per benchmark, seed and strategy: train on `initial` labelled target sentences,
    score dev and test, let the strategy pick `per_round` more from the rest of train
    with the trained model, and again for `rounds` rounds, the same step budget each
    time. Each round writes RESULTS/active_learning/*.json; finished rounds are skipped.
    Exits with 1 if a chain failed."""
    spec = load_spec(spec_path)
    if max_steps is not None:
        spec["max_steps"] = max_steps
    grid = Grid(corpora_dir, work_dir, results, configs_dir=configs_dir, vectors=vectors or None)
    summary = run_active_learning(
        spec,
        benchmarks.split(",") if benchmarks else list(spec["benchmarks"]),
        strategies.split(",") if strategies else spec["strategies"],
        seed_list(seeds, seed),
        grid,
        workers=workers,
        echo=typer.echo,
    )
    typer.echo(f"{len(summary.chains)} chains finished, {len(summary.failed)} failed")
    if summary.failed:
        raise typer.Exit(1)
