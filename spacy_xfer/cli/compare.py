"""`compare`: two trained pipelines on one test set, by the paired bootstrap."""

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from ..corpora.io import check_not_inputs
from ..device import use_device
from ..experiments.compare import compare_pipelines
from ..experiments.steps import write_json
from ..pipeline.serialization import load_trained, model_files
from ._util import app


@app.command("compare")
def compare_command(
    model_a: str = typer.Argument(..., metavar="MODEL_A", help="A trained pipeline (a folder such as model-best, or a package name)."),
    model_b: str = typer.Argument(..., metavar="MODEL_B", help="The pipeline to compare it with, e.g. spaCy's built-in trained on the same data."),
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="The gold docs to score both on (a .spacy file, e.g. a prepared test.spacy)."),
    target: Optional[str] = typer.Option(None, "--target", help="What to score: tag, pos, ents or spans:KEY (default: the one the gold annotates)."),
    resamples: int = typer.Option(1000, "--resamples", min=1, help="Bootstrap samples of the docs."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap's draws."),
    output: Optional[Path] = typer.Option(None, "--output", dir_okay=False, help="Also write the result as JSON here."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
) -> None:
    """Score two pipelines on the same gold docs and say how sure their difference is:
    the paired bootstrap over docs (Koehn 2004; Berg-Kirkpatrick et al. 2012) gives a
    95% interval of score(A) - score(B) and the share of resamples where A is not
    better. The interval covers the test set's sampling, not training's randomness
    (train with several seeds for that)."""
    inputs = [data, *model_files(model_a), *model_files(model_b)]
    if output is not None:
        check_not_inputs([output], inputs, "--output")
    use_device(gpu_id)
    models = [load_trained(model_a), load_trained(model_b)]
    result = compare_pipelines(models, [model_a, model_b], data, target, resamples=resamples, seed=seed)
    low, high = result["interval"]
    typer.echo(f"{result['target']} on {data} ({result['docs']} docs), F-score (accuracy for tags):")
    typer.echo(f"  A {model_a}: {result['score_a']:.4f}")
    typer.echo(f"  B {model_b}: {result['score_b']:.4f}")
    typer.echo(
        f"  A - B: {result['difference']:+.4f}, {result['level']:.0%} interval [{low:+.4f}, {high:+.4f}]; "
        f"A not better in {result['share_a_not_better']:.1%} of {result['resamples']} resamples"
    )
    if output is not None:
        command = shlex.join([Path(sys.executable).name, "-m", "spacy_xfer", *sys.argv[1:]])
        write_json(output, {"command": command, **result})
