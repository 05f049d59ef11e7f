"""`spacy-xfer grid` and `report`: run the experiment grid, and turn its results (and
the ablation's and active learning's) into the README's tables and the plots.

    python -m spacy_xfer grid --rows table2 --seeds 3
    python -m spacy_xfer report --readme README.md
    python -m spacy_xfer report --readme README.md --check
    python -m spacy_xfer report --rows figure2 --figures figures/
"""

import json
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

import typer

from ..corpora.io import write_atomic
from ..errors import Errors
from ..experiments.grid import (
    KINDS,
    MAX_SECONDS,
    ROWS_FILE,
    VECTORS_DIR,
    Grid,
    RowSet,
    check_overrides,
    grid_root,
    load_rows,
    mark_stale_configs,
    parse_overrides,
    plan_runs,
    run_grid,
    seed_list,
    select_rows,
)
from ..experiments.ablation import DEFAULT_MAX_STEPS, ablation_table, load_ablation, run_ablation
from ..experiments.active_learning import active_learning_table, draw_active_learning
from ..experiments.compare import COMPARE_DIR, comparison_table
from ..experiments.report import Results, draw_figures, load_results, results_table, rewrite_readme
from ._util import app

RESULTS_HELP = "The folder of results files (one JSON per run)."
ROW_SETS = ", ".join(json.loads(ROWS_FILE.read_text(encoding="utf8"))["sets"])  # unchecked: `grid` checks the file


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


@app.command("grid")
def grid_command(
    rows: str = typer.Option("table2", "--rows", help=f"Row sets ({ROW_SETS}) or row ids of spacy_xfer/experiments/rows.json, comma-separated."),
    seeds: int = typer.Option(3, "--seeds", help="Run the first N seeds: 13, 14, 15, ..."),
    seed: List[int] = typer.Option([], "--seed", help="Run this seed (repeatable); overrides --seeds."),
    only: str = typer.Option(",".join(KINDS), "--only", help="Kinds of run, comma-separated: transfer, none (the same model without transfer), spacy (spaCy's built-in tagger or NER)."),
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP),
    work_dir: Path = typer.Option(Path("grid"), "--work-dir", help="Prepared corpora and training outputs."),
    corpora_dir: Path = typer.Option(Path("../shared/corpora"), "--corpora-dir", help="The raw corpora (the layout of ../shared/corpora)."),
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help="The folder of single.cfg, t_a.cfg, t_b.cfg, t_c.cfg."),
    max_seconds: int = typer.Option(MAX_SECONDS, "--max-seconds", min=1, help="Wall-time budget of each training run, in seconds."),
    vectors: Optional[str] = typer.Option(None, "--vectors", help="A pipeline or vectors folder for every kind of run (default: none)."),
    override: List[str] = typer.Option([], "--set", help="A config setting of our runs as `train --set` takes it, e.g. --set xfer.dropout=0.25 (repeatable); checked against each config before any run. spaCy's baseline takes none, so its runs are left out. Results in RESULTS/set-<hash>/, apart from the README's tables."),
    rerun_stale: bool = typer.Option(False, "--rerun-stale", help="Rerun runs whose results file has other settings (config, schedule rule, vectors, a budget that could change the run: not one it stopped within by patience)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the runs and the commands they would run."),
) -> None:
    """Train and evaluate every run of the selected rows that has no results file yet.

    Per row and seed: with transfer (configs/ARCH.cfg), without (configs/single.cfg) and
    spaCy's built-in tagger or NER (efficiency config) on the same labelled sentences.
    Each finished run writes RESULTS/<row>-<kind>-s<seed>.json; finished runs are
    skipped, so an interrupted grid resumes where it stopped. Exits with 1 if a run
    failed or a stale run was not rerun.
    """
    kinds = [k.strip() for k in only.split(",") if k.strip()]
    if override and "spacy" in kinds:
        kinds.remove("spacy")
        typer.echo(f"--set: spaCy's baseline takes no settings; its runs are those of {results}/")
        if not kinds:
            _fail("--set with --only spacy: nothing to run")
    try:
        selected = select_rows(rows)
        runs = plan_runs(selected, seed_list(seeds, seed), kinds)
        grid = Grid(corpora_dir, work_dir, results, configs_dir=configs_dir, max_seconds=max_seconds, vectors=vectors or None, overrides=parse_overrides(override))
        check_overrides(runs, grid)
    except ValueError as e:
        _fail(str(e))
    if grid.overrides:
        typer.echo(f"Results of {' '.join(grid.overrides)}: {results / grid.setting_dir}/")
    summary = run_grid(
        runs,
        grid,
        rerun_stale=rerun_stale,
        dry_run=dry_run,
        grid_command=shlex.join([Path(sys.executable).name, "-m", "spacy_xfer", *sys.argv[1:]]),
        echo=typer.echo,
    )
    typer.echo(
        f"{len(runs)} runs: {len(summary.done)} done before, {len(summary.ran)} ran, "
        f"{len(summary.stale)} stale, {len(summary.failed)} failed"
    )
    if summary.failed or summary.stale:
        raise typer.Exit(1)


@app.command("report")
def report_command(
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP),
    rows: str = typer.Option("table2", "--rows", help=f"The row set to print or plot (without --readme): {ROW_SETS}."),
    readme: Optional[Path] = typer.Option(None, "--readme", exists=True, dir_okay=False, help="Rewrite the tables between the <!-- results:SET --> markers of this file."),
    check: bool = typer.Option(False, "--check", help="With --readme: change nothing, exit with 1 if a table differs from the results."),
    figures: Optional[Path] = typer.Option(None, "--figures", help="Write the Figure 2 plots of --rows and the active-learning curves as PNGs into this folder (needs matplotlib)."),
) -> None:
    """Markdown tables (mean ± std over seeds beside the paper's numbers, the ablation,
    active learning) and plots (Figure 2, the active-learning curves) from the results
    files.

    Without --readme or --figures, print the table of --rows.
    """
    _, sets = load_rows()
    try:
        loaded = load_marked_results(results)
        if rows not in sets:
            raise ValueError(Errors.E039.format(kind="row set", value=rows, choices=", ".join(sorted(sets))))
        if readme is not None:
            text = readme.read_text(encoding="utf8")
            new = rewrite_readme(text, sets, loaded, readme_tables(results, sets), path=readme)
    except ValueError as e:
        _fail(str(e))
    if readme is not None:
        if check:
            if new != text:
                _fail(f"{readme}: the results tables differ from {results}/*.json; run `python -m spacy_xfer report --readme {readme}`")
            typer.echo(f"{readme}: results tables up to date")
        elif new != text:
            write_atomic(readme, new.encode("utf8"))
            typer.echo(f"{readme}: results tables rewritten")
        else:
            typer.echo(f"{readme}: results tables up to date")
    if figures is not None:
        for path in [*draw_figures(sets[rows], loaded, figures), *draw_active_learning(results, figures)]:
            typer.echo(f"wrote {path}")
    if readme is None and figures is None:
        typer.echo(results_table(sets[rows], loaded, with_vectors=results.name == VECTORS_DIR))


def load_marked_results(results: Path) -> Results:
    """The grid's results files of a folder (`report.load_results`), each run marked
    `stale` if today's config differs from the one it ran (config paths relative to
    the grid's working folder, `grid_root`)."""
    loaded = load_results(results)
    mark_stale_configs(loaded, grid_root(results))
    return loaded


def readme_tables(results: Path, sets: Dict[str, RowSet]) -> Dict[str, str]:
    """The README blocks beside the grid's row sets, by marker name: the ablation's, the
    active learning's and the comparisons' (`compare`, from `RESULTS/compare/`) tables,
    and each row set's table of the `--vectors` runs (`<!-- results:SET-vectors -->`,
    from `RESULTS/vectors/`)."""
    with_vectors = load_marked_results(results / VECTORS_DIR)
    return {
        "ablation": ablation_table(results),
        "ablation-patience": ablation_table(results, patience=True),
        "active_learning": active_learning_table(results),
        "compare": comparison_table(results / COMPARE_DIR),
        **{f"{name}-vectors": results_table(row_set, with_vectors, with_vectors=True) for name, row_set in sets.items()},
    }


ABLATION_SPEC = load_ablation()  # read once, for the defaults of `ablate`'s options


@app.command("ablate")
def ablate_command(
    variants: str = typer.Option(",".join(ABLATION_SPEC["variants"]), "--variants", help="Variants of spacy_xfer/experiments/ablation.json, comma-separated."),
    pairs: str = typer.Option(",".join(next(iter(ABLATION_SPEC["tables"].values()))), "--pairs", help="Pairs of ablation.json, comma-separated (default: those of its first table, the recipe pairs; its `tables` list the others)."),
    seed: int = typer.Option(13, "--seed", help="Seed of the split, the labelled sample and training."),
    max_steps: int = typer.Option(DEFAULT_MAX_STEPS, "--max-steps", min=1, help="Steps of every run (the same budget for every variant)."),
    max_seconds: int = typer.Option(0, "--max-seconds", min=0, help="Instead of --max-steps: train every run to the grid's stopping rule (patience, sized to the target by `train`), capped at this many seconds of updates; results in RESULTS/ablation-patience/."),
    workers: int = typer.Option(2, "--workers", min=1, help="Runs at a time (each on one thread)."),
    vectors: Optional[str] = typer.Option(None, "--vectors", help="The vectors of the vectors variants (a pipeline or vectors folder, e.g. en_core_web_md's)."),
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP),
    work_dir: Path = typer.Option(Path("grid"), "--work-dir", help="Prepared corpora and training outputs."),
    corpora_dir: Path = typer.Option(Path("../shared/corpora"), "--corpora-dir", help="The raw corpora (the layout of ../shared/corpora)."),
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help="The folder of t_a.cfg, t_b.cfg."),
) -> None:
    """The recipe ablation: each variant (one setting changed) trained with the same
    budget on each pair (a number of steps, or with --max-seconds to patience under a
    time cap); dev scores into RESULTS/ablation/*.json or RESULTS/ablation-patience/*.json
    (finished runs skipped), shown by `report --readme`."""
    grid = Grid(corpora_dir, work_dir, results, configs_dir=configs_dir)
    try:
        run_ablation(
            [v for v in variants.split(",") if v], [p for p in pairs.split(",") if p], seed, grid,
            max_steps=max_steps, max_seconds=max_seconds or None, vectors=vectors, workers=workers,
            echo=typer.echo,
        )
    except ValueError as e:
        _fail(str(e))
    typer.echo(ablation_table(results, patience=bool(max_seconds)))
