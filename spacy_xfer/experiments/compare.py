"""Two trained pipelines on one test set: the difference of their scores and how
sure it is, by the paired bootstrap over docs (Koehn 2004: paired bootstrap
resampling; the percentile interval of Efron and Tibshirani 1993).

Each resample draws the test set's docs with replacement, the same draw for both
pipelines, and scores both on it. The spread of the difference over the resamples is
what the test set's size leaves open: a small test set (Twitter POS test is 79
tweets) gives a wide interval. The doc is the unit drawn, so a file of a few long
docs says little (a single doc: nothing). It says nothing of training's own
randomness, which the grid's seeds show; the two are reported side by side.
"""

import numbers
import warnings
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy
import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..errors import Errors, Warnings
from ..pipeline.targets import Target, gold_targets, make_target
from ..pipeline.xfer_tagger import XferTagger
from ..training.task_sampler import is_number
from .steps import task_examples

# the columns of `doc_counts`
COUNTS = ("tp", "fp", "fn")
# the folder of RESULTS that `report` reads comparisons from
COMPARE_DIR = "compare"
# fewer docs than this: the bootstrap's interval says little (W004)
MIN_DOCS = 20
MIN_RESAMPLES = 100
# resamples drawn at a time: memory of BLOCK x n_docs counts
BLOCK = 100
# the keys `compare_pipelines` writes that `comparison_table` reads
TABLE_KEYS = ("target", "metric", "docs", "score_a", "score_b", "difference", "interval", "level", "share_a_not_better", "resamples")


def f_score(counts: numpy.ndarray) -> numpy.ndarray:
    """The F-score 2tp / (2tp + fp + fn) of summed counts: (..., 3) -> (...,), 0.0
    where there is nothing to count. For a token target (fp = fn = the wrong tokens)
    it is the accuracy, as the targets' `score` reports it."""
    tp, fp, fn = numpy.moveaxis(numpy.asarray(counts, dtype="float64"), -1, 0)
    denominator = 2 * tp + fp + fn
    return numpy.divide(2 * tp, denominator, out=numpy.zeros_like(denominator), where=denominator > 0)


def metric_name(target: str) -> str:
    """What `f_score` is for a target: accuracy for token targets, else F1."""
    return "F1" if make_target(target, target, {}).spans else "accuracy"


def predict(nlp: Language, data: Path) -> List[Example]:
    """The gold docs of `data` (in the pipeline's vocab) with the pipeline's
    predictions: the docs keep the gold's words and are tagged as the target task, so
    the target head of a T-B or T-C pipeline predicts them and its source head does
    not (as `evaluate` scores)."""
    examples = task_examples(nlp, data, "target")
    predicted = nlp.pipe(eg.predicted for eg in examples)
    return [Example(doc, eg.reference) for doc, eg in zip(predicted, examples)]


def _annotated(target: str, docs: Sequence[Doc]) -> bool:
    """Whether a doc with tokens carries the target."""
    scorer = make_target(target, target, {})
    return any(len(doc) and scorer.has_annotation(doc) for doc in docs)


def choose_target(runs: Sequence[List[Example]], models: Sequence[Language], names: Sequence[str], target: Any, path: Path) -> str:
    """The target to score: `target` if given; else the one the gold has and every
    pipeline predicts.

    runs (Sequence[List[Example]]): each pipeline's `predict`.
    models, names: the pipelines and their names as the user gave them, for messages.
    RAISES (ValueError): E003 for an unknown target; E118 if the gold lacks `target`,
        or without it, if no target or several are both in the gold and predicted;
        E119 if a pipeline predicts no annotation of `target`.
    """
    # spaCy's `has_annotation` holds for a doc of no tokens: such docs say nothing here
    references = [eg.reference for eg in runs[0] if len(eg.reference)]
    found = gold_targets(references)
    if target is not None:
        make_target(target, target, {})  # E003 for an unknown one
        if not _annotated(target, references):
            raise ValueError(Errors.E118.format(path=path, found=", ".join(found) or "none", wanted=f"gold for {target!r}"))
        for examples, nlp, name in zip(runs, models, names):
            if not _annotated(target, [eg.predicted for eg in examples]):
                raise ValueError(Errors.E119.format(model=name, target=target, pipes=", ".join(nlp.pipe_names) or "none"))
        return target
    shared = [t for t in found if all(_annotated(t, [eg.predicted for eg in examples]) for examples in runs)]
    if len(shared) == 1:
        return shared[0]
    wanted = f"exactly one of them predicted by both pipelines (predicted by both: {', '.join(shared) or 'none'}); give --target"
    raise ValueError(Errors.E118.format(path=path, found=", ".join(found) or "none", wanted=wanted))


def head_scorer(nlp: Language, target: str) -> Target:
    """How the pipeline's predictions of `target` are scored: by its primary
    `xfer_tagger` head of that target if it has one (whose `label_map` maps the gold
    labels, as the head's `score` and `evaluate` do), else with the labels as they are
    (spaCy's components)."""
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, XferTagger) and pipe.cfg["target"] == target and pipe.output is pipe.target:
            return pipe.target
    return make_target(target, target, {})


def check_same_gold(scorers: Sequence[Target], gold: Target, references: Sequence[Doc], names: Sequence[str]) -> None:
    """Refuse pipelines whose heads read the gold as different tasks: a head's
    `label_map` that maps several gold labels onto one (e.g. PTB tags onto the UPOS a
    T-A head learnt) scores it on an easier task than the other pipeline. A map that
    renames labels one to one (PER -> PERSON) reads the same task.

    gold (Target): the target without a label map, to read the gold labels.
    RAISES (ValueError): E121 naming the labels one pipeline merges.
    """
    labels = sorted({label for doc in references for label in gold.label_tokens(doc)})
    merges = []
    for scorer, name in zip(scorers, names):
        groups: Dict[Any, List[str]] = {}
        for label in labels:
            groups.setdefault(scorer.map_label(label), []).append(label)
        merges.append({tuple(group) for group in groups.values()})
    if merges[0] != merges[1]:
        described = "; ".join(
            f"{name} reads " + (", ".join(" and ".join(group) + " as one" for group in sorted(merged) if len(group) > 1) or "every label apart")
            for merged, name in zip(merges, names)
        )
        raise ValueError(Errors.E121.format(maps=described))


def doc_counts(examples: Sequence[Example], scorer: Target) -> numpy.ndarray:
    """The examples scored doc by doc: (n_docs, 3) int64 counts in `COUNTS` order, as
    `scorer.score` counts them (`Target.counts`)."""
    rows = [(score.tp, score.fp, score.fn) for score in map(scorer.counts, examples)]
    return numpy.asarray(rows, dtype="int64").reshape(len(rows), len(COUNTS))


def paired_bootstrap(
    counts_a: numpy.ndarray, counts_b: numpy.ndarray, *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> Dict[str, Any]:
    """The paired bootstrap of the F-score difference A - B over docs.

    counts_a, counts_b (ndarray): (n_docs, 3) `doc_counts` of the same docs.
    resamples (int): bootstrap samples (at least `MIN_RESAMPLES`), each n_docs docs
        drawn with replacement (numpy's `Generator.multinomial` seeded with `seed`:
        the same seed, the same draws), `BLOCK` at a time.
    level (float): the interval's coverage (percentile interval).
    RETURNS (Dict[str, Any]): `score_a`, `score_b`, `difference` (A - B on the test
        set itself), `interval` ([low, high] of the resampled differences),
        `share_a_not_better` (the share of resamples where A - B <= 0: ties count, so
        a pipeline against itself gives 1.0; below (1 - level) / 2 when the interval
        lies above 0) and the settings.
    RAISES (ValueError): E038 for counts of other shapes or negative, no docs, fewer
        resamples, a seed that is not an integer >= 0, or a level outside (0, 1).
    """
    a, b = numpy.asarray(counts_a), numpy.asarray(counts_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != len(COUNTS) or not len(a) or (a < 0).any() or (b < 0).any():
        raise ValueError(Errors.E038.format(
            setting="doc counts", value=f"shapes {a.shape} and {b.shape}",
            expected=f"the same (n_docs, {len(COUNTS)}) counts >= 0, n_docs >= 1",
        ))
    for setting, value, least in (("resamples", resamples, MIN_RESAMPLES), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(Errors.E038.format(setting=setting, value=value, expected=f"an integer >= {least}"))
    if not 0 < level < 1:
        raise ValueError(Errors.E038.format(setting="level", value=level, expected="a number between 0 and 1"))
    n_docs = len(a)
    rng = numpy.random.default_rng(int(seed))
    differences = []
    for start in range(0, resamples, BLOCK):
        # each row: how often each doc is drawn in one resample
        weights = rng.multinomial(n_docs, numpy.full(n_docs, 1.0 / n_docs), size=min(BLOCK, resamples - start))
        differences.append(f_score(weights @ a) - f_score(weights @ b))
    resampled = numpy.concatenate(differences)
    tail = (1 - level) / 2 * 100
    low, high = numpy.percentile(resampled, [tail, 100 - tail])
    score_a, score_b = float(f_score(a.sum(0))), float(f_score(b.sum(0)))
    return {
        "score_a": score_a,
        "score_b": score_b,
        "difference": score_a - score_b,
        "interval": [float(low), float(high)],
        "level": level,
        "share_a_not_better": float((resampled <= 0).mean()),
        "resamples": int(resamples),
        "seed": int(seed),
        "docs": n_docs,
    }


def compare_pipelines(
    model_a: Language, model_b: Language, names: Sequence[str], data: Path, target: Any = None, **bootstrap: Any
) -> Dict[str, Any]:
    """Score two pipelines on the gold docs of `data` (a `.spacy` file) and compare
    them by the paired bootstrap (`paired_bootstrap`, which takes `bootstrap`).

    names (Sequence[str]): the two pipelines as the user gave them, for messages.
    target (Optional[str]): what to score (`choose_target`).
    RETURNS (Dict[str, Any]): `paired_bootstrap`'s result with `target`, `metric`,
        `data` and per pipeline its name and summed counts.
    Only the docs with gold for the target are scored and drawn (`docs`).
    RAISES (ValueError): E003, E118, E119 (`choose_target`), E121
        (`check_same_gold`), E038; warns W004 for fewer than `MIN_DOCS` such docs.
    """
    models = (model_a, model_b)
    runs = [predict(nlp, data) for nlp in models]
    chosen = choose_target(runs, models, names, target, data)
    # the docs with gold for the target are the ones drawn (the same docs in both runs)
    gold = make_target(chosen, chosen, {})
    kept = [i for i, eg in enumerate(runs[0]) if len(eg.reference) and gold.has_annotation(eg.reference)]
    runs = [[examples[i] for i in kept] for examples in runs]
    if len(kept) < MIN_DOCS:
        warnings.warn(Warnings.W004.format(path=data, n=len(kept), least=MIN_DOCS))
    scorers = [head_scorer(nlp, chosen) for nlp in models]
    check_same_gold(scorers, gold, [eg.reference for eg in runs[0]], names)
    counts = [doc_counts(examples, scorer) for examples, scorer in zip(runs, scorers)]
    result = paired_bootstrap(counts[0], counts[1], **bootstrap)
    pipelines = {
        key: {"model": name, **dict(zip(COUNTS, (int(n) for n in summed.sum(0))))}
        for key, name, summed in zip(("a", "b"), names, counts)
    }
    return {"target": chosen, "metric": metric_name(chosen), "data": str(data), "pipelines": pipelines, **result}


def read_comparison(path: Path) -> Dict[str, Any]:
    """A `compare` results file.

    RAISES (ValueError): E120 naming the file if it is not JSON or lacks `TABLE_KEYS`.
    """
    try:
        data = srsly.read_json(path)
    except ValueError as e:
        raise ValueError(Errors.E120.format(path=path, problem=f"not JSON ({e})", keys=", ".join(TABLE_KEYS))) from e
    missing = [key for key in TABLE_KEYS if not isinstance(data, dict) or data.get(key) is None]
    if missing:
        raise ValueError(Errors.E120.format(path=path, problem=f"missing {missing}", keys=", ".join(TABLE_KEYS)))
    interval = data["interval"]
    numbers_ok = all(is_number(data[key]) for key in ("score_a", "score_b", "difference", "level", "share_a_not_better"))
    if not (
        numbers_ok and isinstance(interval, list) and len(interval) == 2 and all(map(is_number, interval))
        and all(isinstance(data[key], int) and not isinstance(data[key], bool) for key in ("docs", "resamples"))
        and all(isinstance(data[key], str) for key in ("target", "metric"))
    ):
        problem = "values of other types (numbers, an interval of two numbers, counts and names expected)"
        raise ValueError(Errors.E120.format(path=path, problem=problem, keys=", ".join(TABLE_KEYS)))
    return data


def comparison_table(results_dir: Path) -> str:
    """The README's Markdown of the `compare` results files of a folder (and its
    subfolders), a line per file: the target, both scores, A - B with its interval
    (%), and the share of resamples where A is not better.

    RAISES (ValueError): E120 for a file that is not a `compare` results file.
    """
    files = sorted(path for path in Path(results_dir).rglob("*.json") if path.is_file())
    if not files:
        return "No comparisons yet. Run: `python -m spacy_xfer compare MODEL_A MODEL_B DATA --output FILE`.\n"
    lines = [
        "| results file | target | test docs | A | B | A - B | interval | A not better |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    settings = set()
    for path in files:
        data = read_comparison(path)
        low, high = (100 * bound for bound in data["interval"])
        settings.add((data["level"], data["resamples"]))
        lines.append(
            f"| `{path.relative_to(results_dir).with_suffix('')}` | {data['target']} ({data['metric']}) | {data['docs']}"
            f"{' (W004)' if data['docs'] < MIN_DOCS else ''} | "
            f"{100 * data['score_a']:.2f} | {100 * data['score_b']:.2f} | {100 * data['difference']:+.2f} | "
            f"[{low:+.2f}, {high:+.2f}] | {data['share_a_not_better']:.1%} |"
        )
    intervals = " or ".join(f"{level:.0%} interval ({n} resamples)" for level, n in sorted(settings))
    lines += [
        "",
        f"Test scores (%) of pipelines A and B (each file's `pipelines`; a file named `X-vs-Y` holds A = X, "
        f"B = Y), their difference and its {intervals} by the paired bootstrap over the test docs, and the "
        f"share of resamples in which A is not better (ties count). Regenerate: each file's `command` "
        f"(`python -m spacy_xfer compare ... --output FILE`), then `python -m spacy_xfer report --readme README.md`.",
    ]
    return "\n".join(lines) + "\n"
