"""`spacy-xfer init-config`, `render-configs` and `rehash-results`: write one config or
every shipped config from their template, and carry results files over the change of the
grid's config hash.

    python -m spacy_xfer init-config t_b.cfg --arch t_b [--encoder trf]
    python -m spacy_xfer render-configs [--check]
    python -m spacy_xfer rehash-results --results results [--dry-run]
"""

import sys
from pathlib import Path

import typer

from ..corpora.io import write_atomic
from ..errors import Errors
from ..experiments.configs import SHIPPED, TEMPLATE, config_name, render_config, stale_configs
from ..experiments.grid import Grid
from ..experiments.rehash import rehash_results
from ._util import app

CONFIGS_HELP = "The folder of the shipped configs."
ARCHS = sorted({arch for arch, _ in SHIPPED.values()})


@app.command("init-config")
def init_config_command(
    output: Path = typer.Argument(..., help="The config file to write, or - for stdout."),
    arch: str = typer.Option(..., "--arch", help=f"The transfer architecture: {', '.join(ARCHS)} (single: no transfer)."),
    encoder: str = typer.Option("gru", "--encoder", help="gru (the paper's char and word GRUs) or trf (a transformer; the `transformers` extra)."),
) -> None:
    """Write a shipped config (the repo's configs/ARCH[_trf].cfg, its usage comment
    naming OUTPUT) from the template in the installed package, as `spacy init config`
    writes spaCy's: the route to a config without a clone of the repo. Train it with
    `python -m spacy train OUTPUT --paths.* ...` (the config's head comment shows how)
    or `python -m spacy_xfer train OUTPUT ...`."""
    name = config_name(arch, encoder)
    if str(output) == "-":
        sys.stdout.write(render_config(name))
        return
    if output.is_dir():
        raise ValueError(Errors.E087.format(path=output, example=output / f"{name}.cfg"))
    write_atomic(output, render_config(name, path=str(output)).encode("utf8"))
    typer.echo(f"wrote {output}")


@app.command("render-configs")
def render_configs_command(
    configs_dir: Path = typer.Option(Path("configs"), "--configs-dir", help=CONFIGS_HELP),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit with 1 if a config differs from its rendering."),
) -> None:
    """Write every shipped config (configs/*.cfg) from the package's template
    (spacy_xfer/experiments/template.cfg.jinja)."""
    stale = stale_configs(configs_dir)
    for name, text in stale.items():
        path = configs_dir / f"{name}.cfg"
        if check:
            typer.echo(f"{path}: {'differs from' if path.exists() else 'missing, expected'} its rendering of {TEMPLATE.name}")
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
