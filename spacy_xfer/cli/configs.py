"""`spacy-xfer render-configs` and `rehash-results`: write the shipped configs from their
template, and carry results files over the change of the grid's config hash.

    python -m spacy_xfer render-configs [--check]
    python -m spacy_xfer rehash-results --results results [--dry-run]
"""

from pathlib import Path

import typer

from ..corpora.io import write_atomic
from ..experiments.configs import TEMPLATE, stale_configs
from ..experiments.grid import Grid
from ..experiments.rehash import rehash_results
from ._util import app

CONFIGS_HELP = "The folder of the template and the shipped configs."


@app.command("render-configs")
def render_configs_command(
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help=CONFIGS_HELP),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit with 1 if a config differs from its rendering."),
) -> None:
    """Write every shipped config (configs/*.cfg) from configs/template.cfg.jinja."""
    stale = stale_configs(configs_dir)
    for name, text in stale.items():
        path = configs_dir / f"{name}.cfg"
        if check:
            typer.echo(f"{path}: differs from {configs_dir / TEMPLATE}")
        else:
            write_atomic(path, text.encode("utf8"))
            typer.echo(f"wrote {path}")
    if not stale:
        typer.echo(f"{configs_dir}: every config is its template's rendering")
    elif check:
        typer.echo("run `python -m spacy_xfer render-configs` and commit the configs", err=True)
        raise typer.Exit(1)


@app.command("rehash-results")
def rehash_results_command(
    results: Path = typer.Option(Path("results"), "--results", help="The folder of the grid's results files."),
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help=CONFIGS_HELP),
    repo: Path = typer.Option(Path("."), "--repo", help="The git checkout whose history has the results' commits."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say which files would be rewritten."),
) -> None:
    """Give results files written before the grid hashed interpolated configs the hash
    it computes now, each only after checking that the config it ran resolves as the
    current config does (see spacy_xfer/experiments/rehash.py). Exits with 1 if a file
    was not rewritten for a failed check."""
    grid = Grid(Path("unused"), Path("unused"), results, configs_dir=configs_dir)
    summary = rehash_results(results, grid, repo, dry_run=dry_run, echo=typer.echo)
    typer.echo(
        f"{len(summary.rehashed)} {'to rehash' if dry_run else 'rehashed'}, "
        f"{len(summary.current)} current, {len(summary.refused)} not rehashed"
    )
    if summary.refused:
        raise typer.Exit(1)
