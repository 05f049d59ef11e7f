"""The paper's benchmarks as named corpora, and the steps of an experiment on them:
prepare (convert and split), train (fill a config's settings from the corpus names) and
evaluate (per-task test scores). The spaCy project (`project.yml`) runs these."""

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import srsly
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example

from ..corpora import ReadOptions, convert_corpus, split_corpus
from ..corpora.io import write_atomic
from ..pipeline.xfer_tagger import XferTagger
from ..training.task_sampler import make_example

BENCHMARKS: Dict[str, Dict[str, Any]] = json.loads((Path(__file__).parent / "benchmarks.json").read_text())
ROLES = ("source", "target")


def get_benchmark(name: str) -> Dict[str, Any]:
    """A benchmark's entry in benchmarks.json, or a clear error."""
    if name not in BENCHMARKS:
        raise ValueError(f"Unknown benchmark {name!r}: expected one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


def find_file(name: str, part: str, corpora_dir: Path, paths: Union[str, List[str]]) -> Path:
    """The first of a benchmark part's candidate paths that exists under corpora_dir."""
    candidates = [Path(corpora_dir) / path for path in ([paths] if isinstance(paths, str) else paths)]
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(
        f"Benchmark {name!r}: {part} file not found (looked for {', '.join(map(str, candidates))}): "
        f"expected the folder layout of ../shared/corpora under corpora_dir"
    )


def prepare_benchmark(name: str, corpora_dir: Path, output_dir: Path, seed: int) -> Dict[str, Any]:
    """Convert a benchmark corpus into `train.spacy`, `dev.spacy` and `test.spacy`.

    Corpora without a standard split are split at random (seeded); the labelling rate is
    applied later, by the task sampler, so one conversion serves every rate.
    """
    bench = get_benchmark(name)
    files = {part: find_file(name, part, corpora_dir, paths) for part, paths in bench["files"].items()}
    options = ReadOptions(conllu_tag=bench.get("conllu_tag", "upos"))
    common: Dict[str, Any] = {"options": options, "lenient": bench.get("lenient", False), "progress": True}
    output_dir = Path(output_dir)
    stats: Dict[str, Any] = {}
    if "all" in files:
        stats.update(split_corpus(bench["format"], files["all"], output_dir, ratios=bench["split"], seed=seed, **common))
        return stats
    if "dev_from_train" in bench:
        share = bench["dev_from_train"]
        parts = split_corpus(bench["format"], files["train"], output_dir, ratios=(1 - share, share, 0.0), seed=seed, **common)
        stats.update(train=parts["train"], dev=parts["dev"])
    for part, path in files.items():
        if part not in stats:
            stats[part] = convert_corpus(bench["format"], path, output_dir / f"{part}.spacy", **common)
    return stats


def train_overrides(
    config: Dict[str, Any],
    source: Optional[str],
    target: str,
    corpus_dir: Path,
    *,
    rate: float,
    seed: int,
    vectors: Optional[str],
) -> Dict[str, Any]:
    """The settings of a config (`single`, `t_a`, `t_b`, `t_c`) for a source and target
    benchmark prepared under `corpus_dir/NAME/`; FileNotFoundError if a corpus the config
    reads is not there."""
    names = {"source": source, "target": target}
    overrides: Dict[str, Any] = {"xfer.rate": rate, "system.seed": seed, "paths.vectors": vectors}
    overrides["nlp.lang"] = get_benchmark(target)["lang"]
    for role, name in names.items():
        for part in ("train", "dev"):
            key = f"{role}_{part}"
            if key in config["paths"]:
                if name is None:
                    raise ValueError(f"This config needs a {role} corpus: pass --{role}")
                path = Path(corpus_dir) / name / f"{part}.spacy"
                if not path.exists():
                    get_benchmark(name)  # an unknown name is the clearer error
                    raise FileNotFoundError(
                        f"{path} not found: expected the output of `python -m spacy_xfer "
                        f"prepare {name} CORPORA_DIR {Path(corpus_dir) / name}` (or --corpus-dir)"
                    )
                overrides[f"paths.{key}"] = str(path)
        if f"{role}_target" in config["xfer"] and name is not None:
            overrides[f"xfer.{role}_target"] = get_benchmark(name)["target"]
    if "label_map" in config["xfer"] and source is not None:
        overrides["xfer.label_map"] = get_benchmark(target).get("t_a_label_maps", {}).get(source, {})
    return overrides


def task_examples(nlp: Language, path: Path, task: str) -> List[Example]:
    """A DocBin's docs as Examples tagged with their task, words as given."""
    return [make_example(nlp.vocab, doc, task) for doc in DocBin().from_disk(path).get_docs(nlp.vocab)]


def evaluate_pipeline(nlp: Language, test_files: Dict[str, Path]) -> Dict[str, Any]:
    """Score each head on its own task's test file.

    test_files (Dict[str, Path]): task ("source", "target") -> `.spacy` file. A head with
        no `task` setting (single, T-A) is the target's.
    RETURNS (Dict[str, Any]): per task: the head's scores, sentences, tokens, words/s.
    """
    results: Dict[str, Any] = {}
    for name, pipe in nlp.pipeline:
        if not isinstance(pipe, XferTagger):
            continue
        task = pipe.cfg["task"] or "target"
        if task not in test_files:
            continue
        examples = task_examples(nlp, test_files[task], task)
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
        }
    return results


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    write_atomic(Path(path), srsly.json_dumps(data, indent=2).encode("utf8"))
