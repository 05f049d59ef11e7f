"""`spacy-xfer prepare / train / evaluate`: the steps of an experiment on the paper's
benchmarks or on a corpus of one's own, as the spaCy project runs them.

    python -m spacy_xfer prepare conll03 ../shared/corpora corpus/conll03
    python -m spacy_xfer prepare mine corpus/mine --format wnut --train train.txt \
        --dev dev.txt --test test.txt --lang en --target ents
    python -m spacy_xfer prepare mine corpus/mine --benchmarks my_benchmarks.json
    python -m spacy_xfer train configs/t_b.cfg training/mine --source conll03 --target mine
    python -m spacy_xfer evaluate training/mine/model-best metrics/mine.json --target mine
    python -m spacy_xfer disable-heads training/mine/model-best training/mine/model-served
"""

import configparser
import logging
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

import typer
from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train as spacy_train
from spacy.util import dot_to_object, load_config
from thinc.api import Config, ConfigValidationError

from ..corpora.io import STATS_SUFFIX, check_not_inputs, check_output
from ..corpora.sampling import SPLIT_NAMES, SPLIT_ORDERS
from ..device import use_device
from ..errors import Errors
from ..experiments.benchmarks import (
    BENCHMARKS,
    DEFINITION_FILE,
    TARGET_LAYERS,
    check_benchmark,
    get_benchmark,
    load_benchmarks,
    prepared_benchmark,
)
from ..experiments.steps import (
    evaluate_pipeline,
    gold_label_notes,
    head_tasks,
    load_config_value,
    prepare_benchmark,
    prepared_label_notes,
    save_with_heads_disabled,
    train_overrides,
    write_json,
)
from ..experiments.schedule import CONSOLE_LOGGERS, TRAIN_LOG, logged_evaluations, schedule_overrides, stop_summary
from ..pipeline.serialization import load_trained, model_files
from ..pipeline.xfer_transformer import check_transformers_installed
from ..training.budget import TrainingBudgetSpent
from ..training.task_sampler import left_out_tasks
from ._util import app, lenient_summary

BENCHMARK_HELP = (
    f"A benchmark: built in ({', '.join(sorted(BENCHMARKS))}), or one of your own prepared "
    f"with its definition (CORPUS_DIR/NAME/{DEFINITION_FILE}, written by `prepare`)."
)
# what `train` reads and fills in (see train_overrides and schedule_overrides)
# the target's training task: the schedule is sized to its data, rate and prob
TRAIN_SECTIONS = ("paths", "xfer", "nlp", "training", "training.batcher", "corpora.train.tasks.target")
TRAIN_SETTINGS = ("paths.target_train", "training.eval_frequency", "training.patience", "training.batcher.size")
OWN = "Your own corpus, defined on the fly (--format --train --test --lang --target)"


@app.command("prepare")
def prepare_command(
    name: str = typer.Argument(
        ..., metavar="NAME", help="A built-in benchmark, one in --benchmarks, or a new name to define with --format etc."
    ),
    dirs: List[Path] = typer.Argument(
        ...,
        metavar="[CORPORA_DIR] OUTPUT_DIR",
        help="The folder of the raw corpora (the layout of ../shared/corpora; not needed when "
        "the benchmark's paths are absolute, as for --benchmarks and --format, unless a merge there "
        "has a built-in member), and where "
        f"train.spacy, dev.spacy, test.spacy and {DEFINITION_FILE} go (CORPUS_DIR/NAME, e.g. corpus/NAME).",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random splits."),
    benchmarks_files: Optional[List[Path]] = typer.Option(
        None,
        "--benchmarks",
        exists=True,
        dir_okay=False,
        help="A JSON file of benchmarks of your own, the schema of spacy_xfer/experiments/benchmarks.json "
        "(paths absolute or relative to the file), merged over the built-in ones; repeat it to read "
        "several files (a name may be defined in one of them only).",
    ),
    fmt: Optional[str] = typer.Option(None, "--format", help="The corpus format, as for `convert`.", rich_help_panel=OWN),
    train: Optional[Path] = typer.Option(None, "--train", exists=True, help="The train file.", rich_help_panel=OWN),
    dev: Optional[Path] = typer.Option(
        None, "--dev", exists=True, help="The dev file (or --dev-from-train).", rich_help_panel=OWN
    ),
    test: Optional[Path] = typer.Option(None, "--test", exists=True, help="The test file.", rich_help_panel=OWN),
    dev_from_train: Optional[float] = typer.Option(
        None, "--dev-from-train", help="Without --dev: this share of train becomes dev.", rich_help_panel=OWN
    ),
    split_order: Optional[str] = typer.Option(
        None,
        "--split-order",
        help=f"How --dev-from-train picks dev: {' or '.join(SPLIT_ORDERS)} (the last share of train). Default: random.",
        rich_help_panel=OWN,
    ),
    lang: Optional[str] = typer.Option(None, "--lang", help="The spaCy language code, e.g. en.", rich_help_panel=OWN),
    target: Optional[str] = typer.Option(
        None, "--target", help=f"What the target head tags: {', '.join(TARGET_LAYERS)}.", rich_help_panel=OWN
    ),
    conllu_tag: Optional[str] = typer.Option(
        None, "--conllu-tag", help="For conllu: the tag field, upos or xpos (default upos).", rich_help_panel=OWN
    ),
    columns: Optional[str] = typer.Option(
        None, "--columns", help="For the columns format: the column spec, as for `convert`.", rich_help_panel=OWN
    ),
    lenient: bool = typer.Option(False, "--lenient", help="Repair or skip malformed lines.", rich_help_panel=OWN),
    encoding: Optional[str] = typer.Option(
        None, "--encoding", help="The files' encoding, e.g. latin-1 (default utf-8).", rich_help_panel=OWN
    ),
) -> None:
    """Convert a benchmark corpus to train/dev/test DocBins (splitting it if it has no
    standard split), and write its definition beside them for `train` and `evaluate`."""
    if not 1 <= len(dirs) <= 2:
        raise typer.BadParameter(f"expected [CORPORA_DIR] OUTPUT_DIR, got {len(dirs)} paths", param_hint="dirs")
    corpora_dir, output_dir = (None, dirs[0]) if len(dirs) == 1 else dirs
    files = {part: str(path.resolve()) for part, path in (("train", train), ("dev", dev), ("test", test)) if path}
    own = {"lang": lang, "target": target, "files": files, "dev_from_train": dev_from_train}
    own.update(split_order=split_order, conllu_tag=conllu_tag, columns=columns, lenient=lenient or None)
    own.update(encoding=encoding)
    if fmt is None and any(own.values()):
        raise typer.BadParameter("--train, --dev, --test, --lang, --target etc. define a benchmark with --format")
    read = benchmarks_files or []
    if fmt is not None and read:
        raise typer.BadParameter("define the benchmark with --benchmarks or with --format etc., not both")
    benchmarks = load_benchmarks(*read)
    if fmt is not None:
        missing = [flag for flag, value in (("--train", train), ("--test", test), ("--lang", lang), ("--target", target)) if value is None]
        if dev is None and dev_from_train is None:
            missing.append("--dev or --dev-from-train")
        if fmt == "columns" and columns is None:
            missing.append("--columns (the column spec)")
        if missing:
            raise typer.BadParameter(f"a benchmark defined with --format {fmt} also needs {', '.join(missing)}")
        benchmarks[name] = {key: value for key, value in {"format": fmt, **own}.items() if value is not None}
        check_benchmark(name, benchmarks[name], "prepare --format etc.")
    stats = prepare_benchmark(name, corpora_dir, output_dir, seed, benchmarks=benchmarks, read=read)
    summaries = {}  # parts split from one file share its reading, so report it once
    for part, info in stats.items():
        members = ", ".join(f"{each['sentences']} from {member}" for member, each in info.get("merged", {}).items())
        typer.echo(f"{name} {part}: {info['sentences']} sentences, {info['tokens']} tokens" + (f" ({members})" if members else ""))
        for read_info in info.get("merged", {name: info}).values():
            summaries.setdefault(read_info["input"], lenient_summary(read_info["problems"]))
    for path, summary in summaries.items():
        if summary:
            typer.echo(f"{name} {path}: {summary}", err=True)
    bench = get_benchmark(name, benchmarks)
    typer.echo(f"{name}: lang {bench['lang']}, target {bench['target']}; definition in {output_dir / DEFINITION_FILE}")
    for note in prepared_label_notes(bench, stats):
        typer.echo(f"{name}: warning: {note}", err=True)
    for member in [name, *bench.get("merge", [])]:
        if member in BENCHMARKS and benchmarks[member] != BENCHMARKS[member]:
            typer.echo(f"{member}: your definition, not the built-in benchmark of that name", err=True)
    if output_dir.name != name:
        typer.echo(
            f"{name}: warning: `train` and `evaluate` read benchmark {name!r} from CORPUS_DIR/{name} (a folder named "
            f"after it), not from {output_dir}: rename the folder to {name!r} or prepare into "
            f"{output_dir.parent / name}",
            err=True,
        )
    else:
        typer.echo(f"{name}: `train` and `evaluate` read it with --corpus-dir {output_dir.parent}", err=True)


def _labelling_rate(value: Optional[float]) -> Optional[float]:
    """Check --rate before training starts (and creates its output folder)."""
    if value is not None and not 0 < value <= 1:
        raise typer.BadParameter(f"{value:g} is not a labelling rate: expected a share in (0, 1]")
    return value


@app.command("train")
def train_command(
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="configs/single.cfg, t_a.cfg, t_b.cfg or t_c.cfg (or their *_trf.cfg); `init-config` writes them without the repo."),
    output_path: Path = typer.Argument(..., help="The training output folder (model-best, model-last)."),
    target: str = typer.Option(..., "--target", help=BENCHMARK_HELP),
    source: Optional[str] = typer.Option(None, "--source", help="The source benchmark (not for single.cfg)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus-dir", help="Where `prepare` wrote each benchmark's folder."),
    rate: Optional[float] = typer.Option(None, "--rate", callback=_labelling_rate, help="The target's labelling rate, in (0, 1] (default: the config's xfer.rate)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Seed of training and of the labelled sample (default: the config's system.seed and xfer.rate_seed)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
    vectors: Optional[str] = typer.Option(None, "--vectors", help="A pipeline with static vectors (folder or package) as initialize.vectors; the word embeddings take the vectors' width (--set ...width=50 projects them instead). Default, or '': the config's paths.vectors."),
    max_seconds: float = typer.Option(0, "--max-seconds", min=0, help="Wall-time budget of the updates in seconds (0: none); training stops at patience or at the budget, whichever comes first."),
    override: List[str] = typer.Option([], "--set", help="Extra config settings, e.g. --set training.max_steps=2000."),
) -> None:
    """Train a pipeline with spaCy's training loop, the config's corpora and settings
    (language, each head's target, labelling rate and its seed) filled in from the
    prepared benchmarks' definitions, until the target's dev score has not improved
    for `patience` steps (sized to the target: see spacy_xfer/experiments/schedule.py)
    or the wall-time budget is spent."""
    use_device(gpu_id)  # before spaCy creates the output folder
    check_output(output_path, folder=True)
    logging.getLogger("spacy.xfer").setLevel(logging.INFO)  # the realised task proportions
    config = read_config(config_path, TRAIN_SECTIONS, TRAIN_SETTINGS)
    overrides = train_overrides(config, source, target, corpus_dir, rate=rate, seed=seed, vectors=vectors or None)
    given = {}
    for item in override:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set {item!r}: expected KEY=VALUE")
        given[key] = load_config_value(value)
    # sized to what the run trains with: the config file with the filled-in settings and
    # the --set ones, applied and interpolated by spaCy's `load_config` as training will
    run = load_config(config_path, overrides={**overrides, **given}, interpolate=True)
    overrides.update(schedule_overrides(run))
    overrides.update(budget_overrides(max_seconds))
    if gpu_id >= 0:  # torch and cupy share the GPU memory pool
        overrides["system.gpu_allocator"] = "pytorch"
    log = run["training"].get("logger") or {}
    if log.get("@loggers") in CONSOLE_LOGGERS and not log.get("output_file"):
        # spaCy's console table, and each evaluation in a file for the summary below
        overrides["training.logger.@loggers"] = "spacy.ConsoleLogger.v2"
        overrides["training.logger.output_file"] = str(output_path / TRAIN_LOG)
    overrides.update(given)
    check_left_out_tasks(run)  # the schedule's and the budget's settings leave the corpora alone
    typer.echo(
        f"Schedule: evaluate every {overrides['training.eval_frequency']} steps, patience "
        f"{overrides['training.patience']} steps, wall-time budget {f'{max_seconds:g} s' if max_seconds > 0 else 'none'}"
    )
    spent = train_within_budget(config, config_path, output_path, gpu_id, overrides)
    log_file = overrides.get("training.logger.output_file", log.get("output_file"))
    if log_file and Path(log_file).exists():
        training = {
            "eval_frequency": overrides["training.eval_frequency"],
            "patience": overrides["training.patience"],
            "max_steps": overrides.get("training.max_steps", run["training"].get("max_steps", 0)),
        }
        typer.echo(stop_summary(logged_evaluations(log_file), training, budget_spent=spent))


@app.command(
    "spacy-train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def spacy_train_command(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Any spaCy training config."),
    output_path: Path = typer.Option(..., "--output", "-o", help="The training output folder (model-best, model-last)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
    max_seconds: float = typer.Option(0, "--max-seconds", min=0, help="Wall-time budget of the updates in seconds (0: none)."),
) -> None:
    """spaCy's `spacy train` (config overrides as `--section.key value`) with a
    wall-time budget that ends training cleanly (exit 0, model-best kept): the grid
    trains spaCy's built-in baselines with it."""
    use_device(gpu_id)
    overrides = {**parse_config_overrides(ctx.args), **budget_overrides(max_seconds)}
    train_within_budget(read_config(config_path), config_path, output_path, gpu_id, overrides)


def check_left_out_tasks(filled: Config) -> None:
    """Refuse a labelling rate of 0 (a task a finite `spacy_xfer.TaskSampler.v1` reader
    leaves out) where it would silently spoil training: on the target's dev task, which
    the model is selected on, and in an initialize corpus, which gives the components
    their labels and the word tables their words. A config without the dev reader its
    `[training] dev_corpus` names is left for spaCy to report.

    filled (Config): The training config with its overrides, interpolated, as `spacy
        train` reads it (`spacy.util.load_config(path, overrides=..., interpolate=True)`).
    RAISES (ValueError): E096 naming the setting.
    """
    try:
        dev_corpus = filled["training"].get("dev_corpus", "corpora.dev")
        dev = dot_to_object(filled, dev_corpus)
    except KeyError:
        return
    readers = [(dev_corpus, dev, "the dev evaluations", "the target's dev score the model is selected on")]
    for name, component in filled.get("initialize", {}).get("components", {}).items():
        if isinstance(component, dict) and "corpus" in component:
            readers.append(
                (f"initialize.components.{name}.corpus", component["corpus"], f"the initialize corpus of '{name}'",
                 "which gives the components their labels and the word tables their words")
            )
    for section, reader, where, why in readers:
        for task in left_out_tasks(reader):
            if section != dev_corpus or task == "target":
                raise ValueError(Errors.E096.format(setting=f"{section}.tasks.{task}.rate", task=task, reader=where, why=why))


def budget_overrides(max_seconds: float) -> Dict[str, Any]:
    """The `[training] before_update` callback of a wall-time budget (none for 0)."""
    if max_seconds <= 0:
        return {}
    return {"training.before_update": {"@callbacks": "spacy_xfer.wall_time_budget.v1", "seconds": max_seconds}}


class WithoutBudgetWarning:
    """A text stream that passes everything on but spaCy's training loop's warning
    "Aborting and saving the final best model. Encountered exception:
    TrainingBudgetSpent(...)" (`spacy.training.loop.train`): the budget's stop is
    reported by `train_within_budget`'s own line, not as a failure."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if "Encountered exception:" in text and f"{TrainingBudgetSpent.__name__}(" in text:  # one write, wrapped
            return len(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def train_within_budget(
    config: Config, config_path: Path, output_path: Path, gpu_id: int, overrides: Dict[str, Any]
) -> bool:
    """spaCy's training of the config at `config_path` (`config`: that file as read,
    not interpolated); a spent wall-time budget ends it with a line, not an error.
    A config that needs a missing spacy-transformers stops it first (E086), before
    spaCy creates the output folder.

    RETURNS (bool): Whether the wall-time budget stopped training.
    """
    check_transformers_installed(config, config_path)
    try:
        with redirect_stdout(WithoutBudgetWarning(sys.stdout)):  # type: ignore[type-var]
            spacy_train(config_path, output_path, use_gpu=gpu_id, overrides=overrides)
    except TrainingBudgetSpent as spent:
        typer.echo(str(spent))
        return True
    return False


def read_config(path: Path, sections: Sequence[str] = (), settings: Sequence[str] = ()) -> Config:
    """The config file at `path`, not interpolated (spaCy's `load_config`).

    sections (Sequence[str]): dotted names of sections the config must have.
    settings (Sequence[str]): dotted names of settings (values) it must have.
    RAISES (ValueError): E093 naming the file and line, for a file that is not a
        UTF-8 config (spaCy's own message names the file '<string>'); E094 naming the
        sections and settings missing.
    """
    try:
        config = load_config(path, interpolate=False)
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        problem = f"bytes that are not UTF-8 ({e.reason})"
        raise ValueError(Errors.E093.format(path=path, line=line, problem=problem)) from e
    except (ConfigValidationError, configparser.Error) as e:
        # configparser's error knows the line; spaCy wraps some of them
        cause = e.__context__ if isinstance(e, ConfigValidationError) else e
        if isinstance(cause, configparser.MissingSectionHeaderError):
            line, problem = cause.lineno, f"{cause.line.strip()!r} comes before any [section]"
        elif isinstance(cause, configparser.ParsingError) and cause.errors:
            line, text = cause.errors[0]  # text: the line's repr
            problem = f"{text} is neither a [section] nor a `key = value` line"
        elif isinstance(cause, configparser.DuplicateSectionError):
            line, problem = cause.lineno, f"section [{cause.section}] appears twice"
        elif isinstance(cause, configparser.DuplicateOptionError):
            line, problem = cause.lineno, f"{cause.option!r} appears twice in [{cause.section}]"
        else:
            line, problem = 1, str(cause or e).strip().splitlines()[0].rstrip(".")
        raise ValueError(Errors.E093.format(path=path, line=line, problem=problem)) from e
    missing = [f"[{name}]" for name in sections if not _has(config, name, section=True)]
    missing += [f"`{name}`" for name in settings if not _has(config, name, section=False)]
    if missing:
        raise ValueError(Errors.E094.format(path=path, missing=", ".join(missing)))
    return config


def _has(config: Config, dotted: str, section: bool) -> bool:
    """Whether the config has a value (any, null included) or a section at a dotted name."""
    try:
        value = dot_to_object(config, dotted)
    except KeyError:
        return False
    return isinstance(value, dict) or not section


@app.command("evaluate")
def evaluate_command(
    model: Path = typer.Argument(..., exists=True, help="A trained pipeline (e.g. training/.../model-best)."),
    output: Path = typer.Argument(..., dir_okay=False, help="The metrics JSON file to write."),
    target: str = typer.Option(..., "--target", help=BENCHMARK_HELP),
    source: Optional[str] = typer.Option(None, "--source", help="The source benchmark, to score its head too."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus-dir", help="Where `prepare` wrote each benchmark's folder."),
    part: str = typer.Option("test", "--part", help="The part to score: test or dev."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id; -1 for CPU."),
) -> None:
    """Score each head on its own task's test set and write the scores (with each
    benchmark's definition) as JSON."""
    if part not in ("test", "dev"):
        raise typer.BadParameter(f"--part {part!r}: expected test or dev")
    use_device(gpu_id)
    names = {role: name for role, name in {"source": source, "target": target}.items() if name}
    benches = {role: prepared_benchmark(name, corpus_dir) for role, name in names.items()}
    files = {role: corpus_dir / name / f"{part}.spacy" for role, name in names.items()}
    prepared = [  # every file `prepare` wrote there, the part scored and the definition read among them
        corpus_dir / name / file for name in names.values()
        for file in (DEFINITION_FILE, *(f"{part}{suffix}" for part in SPLIT_NAMES for suffix in (".spacy", STATS_SUFFIX)))
    ]
    check_not_inputs([output], [*model_files(model), *prepared], "OUTPUT")
    nlp = load_trained(model)
    for role in sorted(set(head_tasks(nlp).values()) & set(files)):
        if not files[role].exists():
            raise FileNotFoundError(Errors.E065.format(path=files[role], name=names[role], folder=corpus_dir / names[role]))
    results = evaluate_pipeline(nlp, files, {role: bench["target"] for role, bench in benches.items()})
    per_task = {role: {"benchmark": names[role], "definition": benches[role], **r} for role, r in results.items()}
    write_json(output, {"model": str(model), "part": part, **per_task})
    for role, result in results.items():
        scores = ", ".join(f"{k} {v:.4f}" for k, v in result["scores"].items() if isinstance(v, float))
        typer.echo(f"{role} ({names[role]}, {part}): {scores}")
        for note in gold_label_notes(result["gold_labels"]):
            typer.echo(f"  note: {note}", err=True)
    for role in sorted(set(names) - set(results)):
        typer.echo(f"{role} ({names[role]}): not scored, no head of {model} learns the {role} task (a head without a task, as in single-task and T-A pipelines, is scored as the target's)")


@app.command("disable-heads")
def disable_heads_command(
    model: Path = typer.Argument(..., exists=True, help="A trained pipeline (e.g. training/.../model-best)."),
    output: Path = typer.Argument(..., help="The folder to save the copy in (a pipeline folder there is replaced)."),
    heads: Optional[str] = typer.Option(
        None, "--heads", help="The components to disable, comma-separated (default: the xfer_tagger heads that are not primary, e.g. a T-B source head)."
    ),
) -> None:
    """Save a copy of a trained pipeline with heads disabled (loaded but not run), to
    package: a T-B or T-C pipeline then serves its target without decoding the source
    task; `nlp.enable_pipe(NAME)` runs a head again (at load: `spacy.load(PATH,
    config={"nlp": {"disabled": []}})`)."""
    nlp = load_trained(model)
    names = None if heads is None else [name.strip() for name in heads.split(",") if name.strip()]
    disabled = save_with_heads_disabled(nlp, output, names, model=model)
    running = [name for name in nlp.component_names if name not in disabled]
    typer.echo(f"{output}: {', '.join(disabled) or 'nothing'} disabled; runs {', '.join(running) or 'nothing'}")
