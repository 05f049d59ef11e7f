"""Convert a corpus to DocBins: the functions behind `spacy-xfer convert` and `split`."""

from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..errors import Errors
from ..labelling_rate import sample_rate
from .docs import annotated_layers, sentences_to_docs
from .errors import ProblemLog
from .io import write_docbin
from .readers import ReadOptions, input_files, read_corpus
from .sampling import SPLIT_NAMES, split_items
from .stats import corpus_stats

PathLike = Union[str, Path]


def read_docs(
    fmt: str,
    input_path: PathLike,
    options: ReadOptions = ReadOptions(),
    *,
    lenient: bool = False,
    progress: bool = False,
) -> Tuple[List[Doc], ProblemLog]:
    """Read a corpus into annotated Docs.

    fmt (str): The format, e.g. `conll2003` (see `readers.FORMATS`).
    input_path (PathLike): The corpus file (or folder, for `ptb` and `conllu`).
    options (ReadOptions): Column spec, CoNLL-U tag field, label mapping, encoding.
    lenient (bool): Repair or skip malformed lines instead of raising CorpusFormatError.
    progress (bool): Show a progress bar (on a terminal).
    RETURNS (Tuple[List[Doc], ProblemLog]): The Docs and the log of what was touched.
    """
    log = ProblemLog(lenient)
    sentences = read_corpus(input_path, fmt, options, log=log, progress=progress)
    return list(sentences_to_docs(Vocab(), sentences)), log


def _write(
    docs: Sequence[Doc],
    output: Path,
    log: ProblemLog,
    info: Dict[str, Any],
    layers: Sequence[str],
    progress: bool,
    inputs: Sequence[Path],
) -> Dict[str, Any]:
    stats = {**info, **corpus_stats(docs, layers), "problems": log.to_dict()}
    write_docbin(docs, output, stats, progress=progress, inputs=inputs)
    return stats


def corpus_inputs(input_path: PathLike, fmt: str, options: ReadOptions) -> List[Path]:
    """The files a conversion reads: the corpus (a folder's files of the format,
    `readers.input_files`) and a label mapping table given as a file.

    RAISES (OSError, ValueError): as `readers.input_files`.
    """
    label_map = [Path(options.label_map)] if options.label_map and Path(options.label_map).is_file() else []
    return input_files(Path(input_path), fmt) + label_map


def convert_corpus(
    fmt: str,
    input_path: PathLike,
    output_path: PathLike,
    options: ReadOptions = ReadOptions(),
    *,
    rate: float = 1.0,
    seed: int = 0,
    lenient: bool = False,
    progress: bool = False,
) -> Dict[str, Any]:
    """Convert a corpus to a `.spacy` DocBin, keeping a fraction `rate` of its sentences,
    and write the statistics to `OUTPUT.stats.json` beside it. Both writes are atomic.

    fmt (str): The format, e.g. `conll2003`.
    input_path (PathLike): The corpus file (or folder, for `ptb` and `conllu`).
    output_path (PathLike): The `.spacy` file to write.
    options (ReadOptions): Column spec, CoNLL-U tag field, label mapping, encoding.
    rate (float): The labelling rate in (0, 1]: the nested sample `sample_rate` keeps.
    seed (int): The seed of the sample.
    lenient (bool): Repair or skip malformed lines instead of raising CorpusFormatError.
    progress (bool): Show a progress bar (on a terminal).
    RETURNS (Dict[str, Any]): The statistics written.
    """
    docs, log = read_docs(fmt, input_path, options, lenient=lenient, progress=progress)
    kept = sample_rate(docs, rate, seed)
    info: Dict[str, Any] = {"format": fmt, "input": str(input_path), "seed": seed}
    info.update(rate=rate, sentences_read=len(docs))
    return _write(kept, Path(output_path), log, info, annotated_layers(docs), progress, corpus_inputs(input_path, fmt, options))


def split_corpus(
    fmt: str,
    input_path: PathLike,
    output_dir: PathLike,
    options: ReadOptions = ReadOptions(),
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    order: str = "random",
    rate: float = 1.0,
    lenient: bool = False,
    progress: bool = False,
) -> Dict[str, Dict[str, Any]]:
    """Split a corpus (at random or in file order, see `split_items`) into `train.spacy`,
    `dev.spacy` and `test.spacy` (with statistics files) in `output_dir`, keeping a
    fraction `rate` of the train part.

    fmt (str): The format, e.g. `twitter-pos`.
    input_path (PathLike): The corpus file (or folder, for `ptb` and `conllu`).
    output_dir (PathLike): The folder to write to (created if needed).
    options (ReadOptions): Column spec, CoNLL-U tag field, label mapping, encoding.
    ratios (Sequence[float]): The train, dev and test ratios, summing to 1.
    seed (int): The seed of the split (in random order) and of the train sample.
    order (str): `random` (seeded) or `file` (train first, then dev, then test).
    rate (float): The labelling rate of the train part, in (0, 1].
    lenient (bool): Repair or skip malformed lines instead of raising CorpusFormatError.
    progress (bool): Show a progress bar (on a terminal).
    RETURNS (Dict[str, Dict[str, Any]]): The statistics written, per part.
    """
    if len(ratios) != len(SPLIT_NAMES):
        expected = f"{len(SPLIT_NAMES)} ratios, for {', '.join(SPLIT_NAMES)}"
        raise ValueError(Errors.E038.format(setting="split ratios", value=list(ratios), expected=expected))
    docs, log = read_docs(fmt, input_path, options, lenient=lenient, progress=progress)
    parts = split_items(docs, ratios, seed, order)
    parts[0] = sample_rate(parts[0], rate, seed)
    info: Dict[str, Any] = {"format": fmt, "input": str(input_path), "seed": seed}
    info.update(ratios=list(ratios), order=order, train_rate=rate)
    layers = annotated_layers(docs)
    inputs = corpus_inputs(input_path, fmt, options)
    stats: Dict[str, Dict[str, Any]] = {}
    for name, part in zip(SPLIT_NAMES, parts):
        output = Path(output_dir) / f"{name}.spacy"
        stats[name] = _write(part, output, log, {**info, "part": name}, layers, progress, inputs)
    return stats
