"""`compare`: two trained pipelines on one test set, by the paired bootstrap."""

import shlex
from pathlib import Path
from typing import List, Optional

import typer

from ..corpora.io import check_not_inputs, check_output
from ..device import use_device
from ..experiments.compare import MIN_RESAMPLES, compare_pipelines
from ..experiments.steps import write_json
from ..pipeline.serialization import load_trained, model_files
from ._util import app


@app.command("compare")
def compare_command(
    model_a: str = typer.Argument(..., metavar="MODEL_A", help="A trained pipeline (a folder such as model-best, or a package name)."),
    model_b: str = typer.Argument(..., metavar="MODEL_B", help="The pipeline to compare it with, e.g. spaCy's built-in trained on the same data."),
    data: Path = typer.Argument(..., metavar="DATA", exists=True, dir_okay=False, help="The gold docs to score both on (a .spacy file, e.g. a prepared test.spacy), one sentence per doc."),
    target: Optional[str] = typer.Option(None, "--target", help="What to score: tag, pos, ents, spans:KEY or ext:NAME (default: the one layer of tag, pos, ents and span groups that the gold has and both pipelines predict)."),
    resamples: int = typer.Option(1000, "--resamples", min=MIN_RESAMPLES, help="Bootstrap samples of the docs."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap's draws."),
    output: Optional[Path] = typer.Option(None, "--output", dir_okay=False, help="Also write the result and this command as JSON here."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
) -> None:
    """Score two pipelines on the same gold docs and say how sure their difference is:
    the paired bootstrap over docs (Koehn 2004) gives a 95% interval of score(A) -
    score(B) and the share of resamples where A is not better. The interval covers the
    test set's sampling, not training's randomness (train with several seeds for that)."""
    if output is not None:
        check_output(output)
        check_not_inputs([output], [data, *model_files(model_a), *model_files(model_b)], "--output")
    use_device(gpu_id)
    names = [model_a, model_b]
    result = compare_pipelines(load_trained(model_a), load_trained(model_b), names, data, target, resamples=resamples, seed=seed)
    low, high = result["interval"]
    n_docs = result["docs"]
    not_better = round(result["share_a_not_better"] * result["resamples"])
    typer.echo(f"{result['target']} on {data} ({n_docs} doc{'s' * (n_docs != 1)}), {result['metric']}:")
    typer.echo(f"  A {model_a}: {result['score_a']:.4f}")
    typer.echo(f"  B {model_b}: {result['score_b']:.4f}")
    typer.echo(
        f"  A - B: {result['difference']:+.4f}, {result['level']:.0%} interval [{low:+.4f}, {high:+.4f}]; "
        f"A not better in {not_better} of {result['resamples']} resamples ({result['share_a_not_better']:.1%})"
    )
    if output is not None:
        options: List[str] = [f"--target={result['target']}", f"--resamples={resamples}", f"--seed={seed}", f"--output={output}"]
        positional = [model_a, model_b, str(data)]
        if any(arg.startswith("-") for arg in positional):  # after "--", not to be read as options
            args = [*options, "--", *positional]
        else:
            args = [*positional, *options]
        command = shlex.join(["python", "-m", "spacy_xfer", "compare", *args])
        write_json(output, {"command": command, **result})
        typer.echo(f"wrote {output}")
