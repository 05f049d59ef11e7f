"""`spacy-xfer annotate` and `select`: tag a corpus with a trained pipeline, on this
machine or a Dask cluster, and choose the sentences to label next.

    python -m spacy_xfer annotate MODEL input.txt out.jsonl
    python -m spacy_xfer annotate MODEL in/ out/ --n-process 2
    python -m spacy_xfer annotate MODEL in/ out/ --dask tcp://HOST:8786
    python -m spacy_xfer select MODEL unlabelled.jsonl to_label.jsonl --n 100 --strategy margin
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..annotate.inputs import INPUT_FORMATS
from ..annotate.outputs import OUTPUT_SUFFIXES
from ..annotate.run import annotate as run_annotate
from ..annotate.select import STRATEGIES
from ..annotate.select import select as run_select
from ._util import app

ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="A trained pipeline (path or package) with an xfer_tagger.")]
InputArg = Annotated[Path, typer.Argument(metavar="INPUT", help="A file, or a folder whose files are read in name order.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Docs per model batch.")]


@app.command("annotate")
def annotate_command(
    model: ModelArg,
    input_path: InputArg,
    output: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT",
            help="One file if it has a suffix (out.jsonl: shards merged in order at the end), "
            "else a folder of shard files.",
        ),
    ],
    input_format: Annotated[
        str, typer.Option("--input-format", help=f"One of {', '.join(INPUT_FORMATS)}: a text or space-tokenized "
                          "sentence per line, JSONL with 'text' or 'tokens', or a DocBin.")
    ] = "text",
    output_format: Annotated[
        str, typer.Option("--output-format", help=f"One of {', '.join(OUTPUT_SUFFIXES)}.")
    ] = "jsonl",
    n_process: Annotated[int, typer.Option("--n-process", help="Local worker processes.")] = 1,
    batch_size: BatchOpt = 64,
    shard_size: Annotated[
        int, typer.Option("--shard-size", help="Docs per shard: the unit of parallel work, output files and resume.")
    ] = 1000,
    n_best: Annotated[
        int, typer.Option("--n-best", help="Also write each head's K best label sequences with log-probabilities (JSONL).")
    ] = 0,
    confidence: Annotated[
        bool, typer.Option("--confidence", help="Also write token confidences and span probabilities.")
    ] = False,
    dask: Annotated[
        Optional[str], typer.Option("--dask", metavar="ADDRESS", help="Run the shards on this Dask scheduler (tcp://host:8786).")
    ] = None,
) -> None:
    """Annotate a corpus: streamed, in shards written atomically, resumable (finished
    shards are skipped), with the same labels whatever the parallelism."""
    summary = run_annotate(
        model, input_path, output, input_format, output_format,
        n_process=n_process, batch_size=batch_size, shard_size=shard_size,
        n_best=n_best, confidence=confidence, dask=dask,
    )
    typer.echo(
        f"{summary.n_docs} docs annotated in {summary.n_shards - summary.n_skipped} shards "
        f"({summary.n_skipped} of {summary.n_shards} already done) -> {output}"
    )


@app.command("select")
def select_command(
    model: ModelArg,
    input_path: InputArg,
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="The JSONL file of the chosen sentences.")],
    n: Annotated[int, typer.Option("--n", help="How many sentences to choose.")] = 100,
    strategy: Annotated[str, typer.Option("--strategy", help=f"One of {', '.join(STRATEGIES)}.")] = "least_confidence",
    diversity: Annotated[
        float, typer.Option("--diversity", help="Skip a sentence whose token-set Jaccard similarity to a chosen one exceeds this (1: keep all).")
    ] = 0.8,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of tie-breaking and of the random strategy.")] = 0,
    input_format: Annotated[str, typer.Option("--input-format", help=f"One of {', '.join(INPUT_FORMATS)}.")] = "jsonl",
    batch_size: BatchOpt = 64,
    component: Annotated[
        Optional[str], typer.Option("--component", help="The xfer_tagger to rank by (needed when there are several).")
    ] = None,
) -> None:
    """Choose the sentences to label next, by the model's uncertainty, as Prodigy-style JSONL."""
    records = run_select(
        model, input_path, output, n=n, strategy=strategy, diversity=diversity, seed=seed,
        input_format=input_format, batch_size=batch_size, component=component,
    )
    typer.echo(f"{len(records)} sentences chosen by {strategy} -> {output}")
    if len(records) < n:
        why = "" if diversity >= 1 else (
            f" that are not near duplicates (token-set Jaccard similarity above --diversity {diversity:g}) of one chosen"
        )
        typer.echo(f"  fewer than --n {n}: the input has no more sentences with words{why}", err=True)
