"""The steps of an experiment on a benchmark: prepare (convert and split), train (fill a
config's settings from the corpus names), evaluate (per-task test scores) and save a
trained pipeline to package, its source heads disabled. The spaCy project
(`project.yml`) and the CLI run these.
"""

import shutil
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import srsly
from spacy.language import Language
from spacy.training import Example
from spacy.vocab import Vocab

from ..corpora import ReadOptions, convert_corpus, split_corpus
from ..corpora.io import staged_folder, write_atomic, write_docbin
from ..corpora.sampling import SPLIT_NAMES
from ..corpora.stats import corpus_stats
from ..docbin import read_docs
from ..errors import Errors, listed
from ..pipeline.xfer_tagger import XferTagger
from ..tasks import make_example
from .benchmarks import (
    DEFINITION_FILE,
    READ_OPTIONS,
    TARGET_LAYERS,
    Benchmark,
    find_file,
    get_benchmark,
    prepared_benchmark,
)
from .vectors import vectors_info, vectors_width_overrides


def prepare_benchmark(
    name: str,
    corpora_dir: Optional[Path],
    output_dir: Path,
    seed: int,
    *,
    benchmarks: Optional[Mapping[str, Benchmark]] = None,
    read: Sequence[Path] = (),
) -> Dict[str, Any]:
    """Convert a benchmark corpus into `train.spacy`, `dev.spacy` and `test.spacy`, and
    write the definition used (file paths as read) to `benchmark.json` beside them.

    Corpora without a standard split are split at random (seeded) or in file order
    (`split_order`); the labelling rate is applied later, by the task sampler, so one
    conversion serves every rate. A `merge` benchmark's members are each prepared so
    (with the same seed) and concatenated part by part, in the merge's order; its
    `benchmark.json` holds the members' definitions too.

    name (str): The benchmark's name.
    corpora_dir (Optional[Path]): The folder relative paths are read from; None if the
        benchmark's paths are absolute.
    output_dir (Path): The folder to write to, normally CORPUS_DIR/NAME.
    seed (int): The seed of random splits.
    benchmarks (Optional[Mapping[str, Benchmark]]): Where `name` is looked up (default:
        the built-in benchmarks; see `load_benchmarks`).
    read (Sequence[Path]): other files read (the benchmarks files), which like the
        corpus files must not be among those written.
    RETURNS (Dict[str, Any]): The statistics of each part written (of a merge: with its
        benchmarks' statistics of that part under `merged`).
    RAISES (ValueError): E083 for a part without sentences, E063 if the train part has no
        gold for the benchmark's target (see `check_prepared`); E038 if `output_dir` is a
        file, or if a file written would replace one read (e.g. the benchmarks file
        as `output_dir`/benchmark.json); E114 for a merge that `get_benchmark` refuses.
        Every file is written to a staging folder first and moved into `output_dir`
        only when all are there, so a failure leaves `output_dir` as it was.
    """
    bench = get_benchmark(name, benchmarks)
    members = {member: get_benchmark(member, benchmarks) for member in bench.get("merge", [name])}
    files = {
        member: {part: find_file(member, part, corpora_dir, paths) for part, paths in definition["files"].items()}
        for member, definition in members.items()
    }
    inputs = [path for member_files in files.values() for path in member_files.values()]
    with staged_folder(Path(output_dir), inputs=[*inputs, *read]) as staging:
        if "merge" in bench:
            stats = _prepare_merge(members, files, staging, seed)
        else:
            stats = _convert_benchmark(name, bench, files[name], staging, seed)
        definitions = {
            member: {**definition, "files": {part: str(path.resolve()) for part, path in files[member].items()}}
            for member, definition in members.items()
        }
        write_json(staging / DEFINITION_FILE, {name: bench, **definitions} if "merge" in bench else definitions)
    return stats


def _convert_benchmark(name: str, bench: Benchmark, files: Mapping[str, Path], output_dir: Path, seed: int) -> Dict[str, Any]:
    """Convert (and split) one benchmark read from corpus files into `output_dir`."""
    options = ReadOptions(**{key: bench[key] for key in READ_OPTIONS if key in bench})
    common: Dict[str, Any] = {"options": options, "lenient": bench.get("lenient", False), "progress": True}
    split = {"seed": seed, "order": bench.get("split_order", "random"), **common}
    stats: Dict[str, Any] = {}
    if "all" in files:
        stats.update(split_corpus(bench["format"], files["all"], output_dir, ratios=bench["split"], **split))
    elif "dev_from_train" in bench:
        share = bench["dev_from_train"]
        split_stats = split_corpus(bench["format"], files["train"], output_dir, ratios=(1 - share, share, 0.0), **split)
        stats.update(train=split_stats["train"], dev=split_stats["dev"])
    for part, path in files.items():
        if part not in stats and part != "all":
            stats[part] = convert_corpus(bench["format"], path, output_dir / f"{part}.spacy", **common)
    check_prepared(name, bench, files, stats)
    return stats


def _prepare_merge(
    members: Mapping[str, Benchmark], files: Mapping[str, Mapping[str, Path]], output_dir: Path, seed: int
) -> Dict[str, Any]:
    """Convert each benchmark of a merge into a folder of its own under `output_dir`
    (named by position, not by the user's name), then write their train, dev and test
    parts concatenated (in `members`' order) to `output_dir`, and remove those folders."""
    folders = {member: output_dir / f".merge-{i}" for i, member in enumerate(members)}
    stats_of = {}
    for member, folder in folders.items():
        folder.mkdir()
        stats_of[member] = _convert_benchmark(member, members[member], files[member], folder, seed)
    vocab = Vocab()
    stats: Dict[str, Any] = {}
    for part in SPLIT_NAMES:
        docs = [doc for folder in folders.values() for doc in read_docs(folder / f"{part}.spacy", vocab)]
        each = {member: stats_of[member][part] for member in members}
        layers = list(dict.fromkeys(layer for info in each.values() for layer in info["layers"]))
        inputs = ", ".join(info["input"] for info in each.values())  # each member's under `merged`
        stats[part] = {"input": inputs, "seed": seed, **corpus_stats(docs, layers)}
        # a doc id is its file's name, which members' files may share (two train.txt)
        stats[part].update(documents=sum(info["documents"] for info in each.values()), merged=each)
        write_docbin(docs, output_dir / f"{part}.spacy", stats[part], progress=True)
    for folder in folders.values():
        shutil.rmtree(folder)
    return stats


def check_prepared(name: str, bench: Benchmark, files: Mapping[str, Path], stats: Mapping[str, Any]) -> None:
    """Check the parts a benchmark's conversion made before any is written out.

    RAISES (ValueError): E083 for a part without sentences (a split share too small for
        the file, or every sentence skipped as malformed); E063 if the train part has no
        gold for the benchmark's target.
    """
    for part in ("train", "dev", "test"):
        if not stats[part]["sentences"]:
            if "all" in files:
                source = f"a {bench['split'][SPLIT_NAMES.index(part)]:g} share of {files['all']}"
            elif part == "dev" and "dev_from_train" in bench:
                source = f"a {bench['dev_from_train']:g} share of {files['train']}"
            elif part == "train" and "dev_from_train" in bench:
                source = f"{files['train']} after a {bench['dev_from_train']:g} share went to dev"
            else:
                source = f"{files[part]} gave none"
            raise ValueError(Errors.E083.format(name=name, part=part, source=source))
    layer = TARGET_LAYERS[bench["target"]]
    if not stats["train"]["labels"].get(layer):
        found = stats["train"]["labels"]
        raise ValueError(Errors.E063.format(
            name=name, target=bench["target"], format=bench["format"], path=files.get("train", files.get("all")),
            layer=layer, found=", ".join(found) or "none",
            targets=f"a target among {[t for t, l in TARGET_LAYERS.items() if l in found]}" if found else "a train file with gold labels",
        ))


def prepared_label_notes(bench: Benchmark, stats: Mapping[str, Any]) -> List[str]:
    """What a user should know about the dev and test parts' gold for the benchmark's
    target, against train's (from `prepare_benchmark`'s statistics): a part with no
    label at all scores 0 (and dev selects the model), and labels train lacks are
    never predicted (a typo, or a split that left a rare label out of train).

    Of a merge, also each member's train labels that no other member's train has, asking
    whether the members use one tag set when most of a member's labels are its own: the
    members are concatenated without mapping tags, so two tag sets (UPOS and PTB) would
    both be learnt as one.

    RETURNS (List[str]): one note per problem, naming the part and its labels.
    """
    layer = TARGET_LAYERS[bench["target"]]
    train = stats["train"]["labels"].get(layer, {})
    notes = []
    members = {member: info["labels"].get(layer, {}) for member, info in stats["train"].get("merged", {}).items()}
    for member, labels in members.items():
        others = {label for other, more in members.items() if other != member for label in more}
        own = [label for label in labels if label not in others]
        if own:
            note = (
                f"member {member}'s train has {len(own)} of its {len(labels)} {layer} labels in no other member "
                f"({_with_occurrences(labels, own)}): the merge learns them as they are (it maps no tags)"
            )
            if 2 * len(own) > len(labels):
                note += "; most of its labels are its own: do the members use one tag set?"
            notes.append(note)
    for part in ("dev", "test"):
        if part not in stats:
            continue
        labels = stats[part]["labels"].get(layer, {})
        where = f"{part} ({stats[part]['input']})"
        if not labels:
            notes.append(f"{where} has no {layer} labels: every score on it is 0" + (" and it cannot select a model" if part == "dev" else ""))
            continue
        unseen = [label for label in labels if label not in train]
        if unseen:
            notes.append(f"{where} has {layer} labels that train has not ({_with_occurrences(labels, unseen)}): the model cannot predict them")
    return notes


def _with_occurrences(counts: Mapping[str, int], labels: Sequence[str]) -> str:
    """"'A', 'B'; 7 occurrences": the first six labels and their summed counts."""
    return f"{listed((repr(label) for label in labels), 6)}; {sum(counts[label] for label in labels)} occurrences"


def load_config_value(value: str) -> Any:
    """A --set value parsed as spaCy parses config values (JSON, else a string)."""
    try:
        return srsly.json_loads(value)
    except ValueError:
        return value


def train_overrides(
    config: Dict[str, Any],
    source: Optional[str],
    target: str,
    corpus_dir: Path,
    *,
    rate: Optional[float],
    seed: Optional[int],
    vectors: Optional[str],
) -> Dict[str, Any]:
    """The settings of a config (`single`, `t_a`, `t_b`, `t_c`) for a source and target
    benchmark prepared under `corpus_dir/NAME/`: corpus paths, `nlp.lang` (the target's
    language), each head's target, the T-A label map, and those given: the labelling
    rate, the seed of training and of the labelled sample (`xfer.rate_seed`), and
    `vectors` with the word embeddings' width (the vectors' own: see `vectors.py`); a
    setting given as None keeps the config's value. The benchmarks' definitions come
    from their prepared folders (see `prepared_benchmark`).

    RAISES (ValueError): If the config needs a source and there is none (E064) or has
        none and one is given (E091), a benchmark
        is neither prepared with a definition nor built in (E058), `vectors` is no pipeline
        with vectors (E062), or the source of a T-A config (one head for both tasks)
        annotates another target than the target benchmark (E107).
    RAISES (FileNotFoundError): E065 if a corpus file the config reads is not there.
    """
    names = {"source": source, "target": target}
    if source is not None and "source_train" not in config["paths"]:
        raise ValueError(Errors.E091.format(role="source", name=source))
    benches = {role: prepared_benchmark(name, corpus_dir) for role, name in names.items() if name is not None}
    overrides: Dict[str, Any] = {"nlp.lang": benches["target"]["lang"]}
    if rate is not None:
        overrides["xfer.rate"] = rate
    if seed is not None:
        overrides.update({"xfer.rate_seed": seed, "system.seed": seed})
    if vectors is not None:
        overrides["paths.vectors"] = vectors
        overrides.update(vectors_width_overrides(config, vectors_info(vectors).width))
    for role, name in names.items():
        for part in ("train", "dev"):
            key = f"{role}_{part}"
            if key in config["paths"]:
                if name is None:
                    raise ValueError(Errors.E064.format(role=role))
                path = Path(corpus_dir) / name / f"{part}.spacy"
                if not path.exists():
                    raise FileNotFoundError(Errors.E065.format(path=path, name=name, folder=Path(corpus_dir) / name))
                overrides[f"paths.{key}"] = str(path)
        if f"{role}_target" in config["xfer"] and role in benches:
            overrides[f"xfer.{role}_target"] = benches[role]["target"]
    if "label_map" in config["xfer"] and source is not None:
        if benches["source"]["target"] != benches["target"]["target"]:
            raise ValueError(Errors.E107.format(
                source=source, source_target=benches["source"]["target"], target=target, target_target=benches["target"]["target"]
            ))
        # as [source, target] pairs: a config's keys cannot hold every label (PTB's ":"
        # and "#" are a delimiter and a comment there), its JSON values can
        label_map = benches["target"].get("t_a_label_maps", {}).get(source, {})
        overrides["xfer.label_map"] = [[label, mapped] for label, mapped in label_map.items()]
    return overrides


def task_examples(nlp: Language, path: Path, task: str) -> List[Example]:
    """A DocBin's docs as Examples tagged with their task, words as given."""
    return [make_example(nlp.vocab, doc, task) for doc in read_docs(path, nlp.vocab)]


def head_tasks(nlp: Language) -> Dict[str, str]:
    """Each tagger head's name -> the task it learns ("target" for a head with no
    `task` setting: single, T-A)."""
    return {name: pipe.cfg["task"] or "target" for name, pipe in nlp.pipeline if isinstance(pipe, XferTagger)}


def evaluate_pipeline(
    nlp: Language, test_files: Dict[str, Path], targets: Optional[Mapping[str, str]] = None
) -> Dict[str, Any]:
    """Score each head on its own task's test file.

    test_files (Dict[str, Path]): task ("source", "target") -> `.spacy` file. A head with
        no `task` setting (single, T-A) is the target's.
    targets (Optional[Mapping[str, str]]): task -> the target its benchmark annotates
        (e.g. `ents`), to check each scored head against.
    RETURNS (Dict[str, Any]): per task: the head's scores, sentences, tokens, words/s,
        and how the gold labels meet the head's (see `check_gold_labels`).
    RAISES (ValueError): E066 if a head predicts another target than its benchmark
        annotates, E099 if its test file is of another label set (see `check_gold_labels`).
    """
    results: Dict[str, Any] = {}
    for name, task in head_tasks(nlp).items():
        pipe = nlp.get_pipe(name)
        if task not in test_files:
            continue
        expected = (targets or {}).get(task, pipe.cfg["target"])
        if pipe.cfg["target"] != expected:
            raise ValueError(Errors.E066.format(
                name=name, task=task, target=pipe.cfg["target"], path=test_files[task], expected=expected
            ))
        examples = task_examples(nlp, test_files[task], task)
        gold = check_gold_labels(name, pipe, examples, test_files[task])
        start = time.perf_counter()
        scores = nlp.evaluate(examples)
        seconds = time.perf_counter() - start
        n_words = sum(len(eg.reference) for eg in examples)
        own = {key: value for key, value in scores.items() if key.startswith(f"{name}_")}
        results[task] = {
            "component": name,
            "scores": own,
            "sentences": len(examples),
            "tokens": n_words,
            "words_per_second": n_words / seconds if seconds else None,
            "gold_labels": gold,
        }
    return results


def check_gold_labels(name: str, pipe: XferTagger, examples: List[Example], path: Path) -> Dict[str, Any]:
    """How the examples' gold labels meet the head's: how many labelled tokens its
    `label_map` maps (e.g. PTB tags scored by a T-A head that learnt UPOS) and how many
    carry labels it has not learnt (which it cannot predict). Fail if the examples are of
    another label set than the head's (e.g. UPOS for a PTB tagger), which would score
    near 0 without saying why: over 90% of their labelled tokens have labels the head
    has not learnt, and most of its labels are not among theirs. (A head trained on a
    small sample lacks some of a test file's labels, but the ones it has are frequent
    there.)

    RETURNS (Dict[str, Any]): "labelled_tokens"; "mapped_tokens" and "mapped_labels"
        (label -> the head's label, those of the examples the map changes);
        "unknown_labels" (label after the map -> tokens, most frequent first).
    RAISES (ValueError): E099, naming the file and the labels the head does not know.
    """
    counts = pipe.gold_label_counts(examples)
    known = set(pipe.labels)
    total = sum(counts.values())
    unknown = sorted((label for label in counts if label not in known), key=lambda label: (-counts[label], str(label)))
    n_unknown = sum(counts[label] for label in unknown)
    if 10 * (total - n_unknown) < total and 2 * len(known & set(counts)) < len(known):
        raise ValueError(Errors.E099.format(
            name=name, path=path, n=n_unknown, total=total, unknown=listed(unknown, 8), labels=listed(sorted(known), 8)
        ))
    label_map = pipe.target.label_map
    raw = pipe.gold_label_counts(examples, mapped=False) if label_map else {}
    mapped = {label: label_map[label] for label in sorted(raw, key=str) if label_map.get(label, label) != label}
    return {
        "labelled_tokens": total,
        "mapped_tokens": sum(raw[label] for label in mapped),
        "mapped_labels": mapped,
        "unknown_labels": {label: counts[label] for label in unknown},
    }


def gold_label_notes(gold: Mapping[str, Any]) -> List[str]:
    """What a user should know about a score from `check_gold_labels`' summary: the
    tokens scored through the head's label map, and those of labels it has not learnt
    (counted in tokens, also for span targets, whose scores count spans). Labels are
    quoted, as tag sets have "(" and ")"."""
    total = gold["labelled_tokens"]

    def share(n: int) -> str:
        return f"{n} of {total} labelled tokens ({'<0.1%' if n / total < 0.001 else format(n / total, '.1%')})"

    notes = []
    if gold["mapped_tokens"]:
        pairs = [f"{label!r} -> {mapped!r}" for label, mapped in gold["mapped_labels"].items()]
        notes.append(f"{share(gold['mapped_tokens'])} are scored with their gold label mapped by the head's label_map ({listed(pairs, 6)})")
    n_unknown = sum(gold["unknown_labels"].values())
    if n_unknown:
        unknown = [repr(label) for label in gold["unknown_labels"]]
        notes.append(f"{share(n_unknown)} have labels the head has not learnt ({listed(unknown, 6)}), which it cannot predict")
    return notes


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    write_atomic(Path(path), srsly.json_dumps(data, indent=2).encode("utf8"))


def secondary_heads(nlp: Language) -> List[str]:
    """The names of the pipeline's enabled `xfer_tagger` heads that are not primary:
    those that write their own key (`Doc.spans[NAME]`, `Token._.NAME`), not their
    target (e.g. a T-B source head)."""
    return [name for name, pipe in nlp.pipeline if isinstance(pipe, XferTagger) and not pipe.cfg["primary"]]


def save_with_heads_disabled(
    nlp: Language, output: Path, heads: Optional[Sequence[str]] = None, *, model: Optional[Path] = None
) -> List[str]:
    """Save the pipeline to `output` with `heads` disabled: loaded with it but not run
    (spaCy's `[nlp] disabled`; `nlp.enable_pipe(name)`, or `spacy.load(path, config={"nlp":
    {"disabled": []}})`, runs one again), so a pipeline packaged from it serves its targets alone. The copy
    is written beside `output` and then takes its place (`staged_folder` with `replace`),
    replacing a pipeline folder there; the pipeline given is left as it was.

    heads (Optional[Sequence[str]]): the components to disable; default
        `secondary_heads(nlp)`.
    model (Optional[Path]): the folder the pipeline was loaded from, which `output`
        must neither be, hold nor lie in.
    RETURNS (List[str]): the components the copy has disabled (with any the pipeline
        had disabled before).
    RAISES (ValueError): E122 for a name that is not an enabled component of the
        pipeline, E123 for a component that enabled components listen to (a shared
        encoder); as `check_output`, and E038 for an output that is a symbolic link,
        is `model`, holds it or lies in it, or a folder that holds files but no
        pipeline (no config.cfg), which would be lost.
    """
    output = Path(output)
    heads = list(dict.fromkeys(secondary_heads(nlp) if heads is None else heads))
    unknown = [name for name in heads if name not in nlp.pipe_names]
    if unknown:
        raise ValueError(Errors.E122.format(names=unknown, pipes=", ".join(nlp.pipe_names)))
    for name in heads:
        listening = [pipe for pipe in getattr(nlp.get_pipe(name), "listening_components", []) if pipe not in heads]
        if listening:
            raise ValueError(Errors.E123.format(name=name, listening=", ".join(listening)))
    with staged_folder(output, replace=True) as staging:
        problem = None
        if output.is_symlink():
            problem = "a path that is not a symbolic link (the copy would replace the link, not its folder)"
        elif model is not None and Path(model).resolve() in (output.resolve(), *output.resolve().parents):
            problem = f"a folder that is not {model} and does not lie in it"
        elif model is not None and output.resolve() in Path(model).resolve().parents:
            problem = f"a folder that does not hold {model}, which replacing it would delete"
        elif output.exists() and any(output.iterdir()) and not (output / "config.cfg").is_file():
            problem = "a new folder, an empty one or a saved pipeline's (config.cfg) to replace"
        if problem:
            raise ValueError(Errors.E038.format(setting="output folder", value=str(output), expected=problem))
        with nlp.select_pipes(disable=heads):
            disabled = list(nlp.disabled)
            nlp.to_disk(staging)
    return disabled
