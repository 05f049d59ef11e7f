"""`spacy-xfer convert`, `split` and `export`: corpora to DocBins and back to columns.

    python -m spacy_xfer convert conll2003 eng.train corpus/conll03/train.spacy
    python -m spacy_xfer convert genia train.tsv corpus/genia/train.spacy --rate 0.001 --seed 13
    python -m spacy_xfer split twitter-pos pos.txt corpus/twpos/ --ratios 0.8 0.1 0.1 --seed 13
    python -m spacy_xfer split twitter-pos pos.txt corpus/twpos/ --order file
    python -m spacy_xfer export corpus/conll03/train.spacy train.txt --layers tag,chunk,ner
"""

import sys
from pathlib import Path
from typing import Annotated, Any, Dict, Optional, Tuple

import typer
from spacy.vocab import Vocab

from ..corpora.convert import convert_corpus, corpus_inputs, split_corpus
from ..corpora.docs import annotated_layers, docs_to_lines
from ..corpora.io import check_not_inputs, staged_folder, stats_path, write_atomic
from ..corpora.mappings import mapping_names
from ..corpora.readers import FORMATS, ReadOptions
from ..corpora.sampling import SPLIT_ORDERS
from ..docbin import read_docs
from ..errors import Errors
from ._util import app, lenient_summary

FORMAT_HELP = "The corpus format: " + "; ".join(f"{name}: {f.help}" for name, f in FORMATS.items())
SEPARATORS = {"tab": "\t", "space": " "}


def _check_format(name: str) -> str:
    if name not in FORMATS:
        raise typer.BadParameter(f"{name!r}: expected one of {', '.join(FORMATS)}")
    return name


def _check_rate(rate: float) -> float:
    if not 0.0 < rate <= 1.0:
        raise typer.BadParameter(f"{rate}: expected a labelling rate in (0, 1]")
    return rate


def _check_order(order: str) -> str:
    if order not in SPLIT_ORDERS:
        raise typer.BadParameter(f"{order!r}: expected one of {', '.join(SPLIT_ORDERS)}")
    return order


FormatArg = Annotated[
    str, typer.Argument(metavar="FORMAT", help=FORMAT_HELP, callback=_check_format)
]
InputArg = Annotated[
    Path,
    typer.Argument(
        metavar="INPUT", help="The corpus file (a folder of files for ptb and conllu).", exists=True
    ),
]
RateOpt = Annotated[
    float,
    typer.Option(
        "--rate",
        help="Labelling rate: keep this fraction of the (train) sentences, at least one; "
        "for one seed, the sample at a lower rate is part of the sample at a higher one.",
        callback=_check_rate,
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Seed of the sample and of the split.")]
LenientOpt = Annotated[
    bool,
    typer.Option(
        "--lenient",
        help="Repair or skip malformed lines (and count them) instead of stopping at the first.",
    ),
]
ColumnsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--columns",
        help="Column spec for the 'columns' format, e.g. 'word,tag,chunk:iob1,ner:iob2' "
        "(roles word, tag, chunk, ner, _ to skip; schemes iob1, iob2; 'upper' upper-cases).",
    ),
]
ConlluTagOpt = Annotated[
    str, typer.Option("--conllu-tag", help="The CoNLL-U field read as the tag: upos or xpos.")
]
MapOpt = Annotated[
    Optional[str],
    typer.Option(
        "--map",
        help=f"Label mapping table for the tags: {', '.join(mapping_names())}, a JSON file, or "
        "'none'. Default: the format's own (genia-ptb for genia, none otherwise).",
    ),
]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="Encoding of the input files.")]


def _report(output: Path, stats: Dict[str, Any]) -> None:
    typer.echo(
        f"{output}: {stats['sentences']} sentences, {stats['tokens']} tokens "
        f"(statistics in {stats_path(output)})"
    )
    summary = lenient_summary(stats["problems"])
    if summary:
        typer.echo(f"  {summary}", err=True)


@app.command("convert")
def convert_cli(
    fmt: FormatArg,
    input_path: InputArg,
    output_path: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="The .spacy file to write.")
    ],
    rate: RateOpt = 1.0,
    seed: SeedOpt = 0,
    lenient: LenientOpt = False,
    columns: ColumnsOpt = None,
    conllu_tag: ConlluTagOpt = "upos",
    label_map: MapOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Convert a corpus to a .spacy DocBin, with statistics beside it.

    One Doc per sentence, words as given; POS in Token.tag_, entities in Doc.ents, chunks
    in Doc.spans["chunks"], ids in Doc.user_data. Statistics go to OUTPUT.stats.json. Both
    files are written atomically: a failed or interrupted run leaves no partial file.
    """
    options = ReadOptions(
        columns=columns, conllu_tag=conllu_tag, label_map=label_map, encoding=encoding
    )
    stats = convert_corpus(
        fmt,
        input_path,
        output_path,
        options,
        rate=rate,
        seed=seed,
        lenient=lenient,
        progress=True,
    )
    _report(output_path, stats)


@app.command("split")
def split_cli(
    fmt: FormatArg,
    input_path: InputArg,
    output_dir: Annotated[
        Path, typer.Argument(metavar="OUTPUT_DIR", help="The folder for train/dev/test.spacy.")
    ],
    ratios: Annotated[
        Tuple[float, float, float],
        typer.Option("--ratios", help="Train, dev and test ratios, summing to 1."),
    ] = (0.8, 0.1, 0.1),
    seed: SeedOpt = 0,
    order: Annotated[
        str,
        typer.Option(
            "--order",
            help="random: a seeded random split; file: in file order (train the first "
            "sentences, then dev, then test).",
            callback=_check_order,
        ),
    ] = "random",
    rate: RateOpt = 1.0,
    lenient: LenientOpt = False,
    columns: ColumnsOpt = None,
    conllu_tag: ConlluTagOpt = "upos",
    label_map: MapOpt = None,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Split a corpus into train, dev and test DocBins, at random or in file order.

    For corpora without a standard split: train.spacy, dev.spacy and test.spacy in
    OUTPUT_DIR, each with its statistics file. --rate samples the train part.
    """
    options = ReadOptions(
        columns=columns, conllu_tag=conllu_tag, label_map=label_map, encoding=encoding
    )
    with staged_folder(output_dir, inputs=corpus_inputs(input_path, fmt, options)) as staging:  # all three parts, or none
        parts = split_corpus(
            fmt,
            input_path,
            staging,
            options,
            ratios=ratios,
            seed=seed,
            order=order,
            rate=rate,
            lenient=lenient,
            progress=True,
        )
        for (name, stats), ratio in zip(parts.items(), ratios):
            if ratio > 0 and not stats["sentences"]:
                raise ValueError(Errors.E095.format(path=input_path, part=name, ratios=list(ratios)))
    for name, stats in parts.items():
        _report(output_dir / f"{name}.spacy", stats)


@app.command("export")
def export_cli(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="A .spacy file.", exists=True)
    ],
    output_path: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="The column file to write; - for the standard output.")
    ],
    layers: Annotated[
        Optional[str],
        typer.Option(
            "--layers",
            help="Columns after the word, e.g. 'tag,chunk,ner'. Default: the layers annotated.",
        ),
    ] = None,
    sep: Annotated[str, typer.Option("--sep", help="Column separator: tab or space.")] = "tab",
) -> None:
    """Write a DocBin back as columns.

    The word, then tags, chunks and entities (in IOB2), `_` where a label is missing; a
    blank line after each sentence (each of a Doc's sentences when it has sentence
    starts). A Doc whose lines `convert` would not read back as it is (a word
    -DOCSTART-, a word with the separator, a line break or ASCII whitespace at either
    end, a chunk across a sentence boundary) stops the export with E110, naming the
    DocBin, the Doc and the token; nothing is written.
    """
    if sep not in SEPARATORS:
        raise ValueError(Errors.E039.format(kind="separator", value=sep, choices=", ".join(SEPARATORS)))
    to_stdout = str(output_path) == "-"
    if not to_stdout:
        check_not_inputs([output_path], [input_path], "OUTPUT")
    docs = read_docs(input_path, Vocab())
    names = layers.split(",") if layers else annotated_layers(docs)
    lines = list(docs_to_lines(docs, names, sep=SEPARATORS[sep], source=str(input_path)))
    data = "".join(f"{line}\n" for line in lines).encode("utf8")
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomic(output_path, data)
    n_sentences = lines.count("")  # the blank line after each sentence
    summary = f"{output_path}: {n_sentences} sentences of {len(docs)} docs, columns word {' '.join(names)}"
    typer.echo(summary, err=to_stdout)
