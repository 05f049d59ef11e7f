"""Two trained pipelines on one test set: the difference of their scores and how
sure it is, by the paired bootstrap over docs (Koehn 2004; Berg-Kirkpatrick, Burkett
and Klein 2012).

Each resample draws the test set's docs with replacement, the same draw for both
pipelines, and scores both on it. The spread of the difference over the resamples is
what the test set's size leaves open: a small test set (Twitter POS test is 1,470
tokens) gives a wide interval. It says nothing of training's own randomness, which
the grid's seeds show; the two are reported side by side.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy
import srsly
from spacy.language import Language
from spacy.training import Example

from ..docbin import read_docs
from ..errors import Errors
from ..pipeline.targets import gold_targets, make_target
from ..tasks import make_example

# the columns of `doc_counts`
COUNTS = ("tp", "fp", "fn")
# the folder of RESULTS that `report` reads comparisons from
COMPARE_DIR = "compare"


def f_score(counts: numpy.ndarray) -> numpy.ndarray:
    """The F-score 2tp / (2tp + fp + fn) of summed counts: (..., 3) -> (...,), 0.0
    where there is nothing to count. For a token target (fp = fn = the wrong tokens)
    it is the accuracy, as the targets' `score` reports it."""
    tp, fp, fn = numpy.moveaxis(numpy.asarray(counts, dtype="float64"), -1, 0)
    denominator = 2 * tp + fp + fn
    return numpy.divide(2 * tp, denominator, out=numpy.zeros_like(denominator), where=denominator > 0)


def choose_target(references: Sequence[Any], target: Optional[str], path: Path) -> str:
    """The target to score: `target` if the gold has it, else the only one it has.

    RAISES (ValueError): E118 if the gold lacks `target`, or has none or several and
        `target` is None.
    """
    found = gold_targets(references)
    if target is not None and target in found:
        return target
    if target is None and len(found) == 1:
        return found[0]
    wanted = f"gold for {target!r}" if target else "gold for exactly one target (or --target)"
    raise ValueError(Errors.E118.format(path=path, found=", ".join(found) or "none", wanted=wanted))


def doc_counts(nlp: Language, name: str, examples: Sequence[Example], target: str) -> numpy.ndarray:
    """The pipeline's predictions on the examples' docs, scored doc by doc: (n_docs, 3)
    int64 counts in `COUNTS` order, as the target's `score` counts them (`counts`).
    Docs are copied, as `Language.evaluate` does, so the examples stay as they are.

    name (str): the pipeline as the user gave it, for the error.
    RAISES (ValueError): E119 if no predicted doc carries annotation of the target
        (a pipeline that does not predict it).
    """
    scorer = make_target(target, target, {})
    predicted = list(nlp.pipe(eg.predicted.copy() for eg in examples))
    if examples and not any(scorer.has_annotation(doc) for doc in predicted):
        raise ValueError(Errors.E119.format(model=name, target=target, pipes=", ".join(nlp.pipe_names) or "none"))
    rows = []
    for doc, eg in zip(predicted, examples):
        score = scorer.counts(Example(doc, eg.reference))
        rows.append((score.tp, score.fp, score.fn))
    return numpy.asarray(rows, dtype="int64").reshape(len(rows), len(COUNTS))


def paired_bootstrap(
    counts_a: numpy.ndarray, counts_b: numpy.ndarray, *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> Dict[str, Any]:
    """The paired bootstrap of the F-score difference A - B over docs.

    counts_a, counts_b (ndarray): (n_docs, 3) `doc_counts` of the same docs.
    resamples (int): bootstrap samples, each n_docs docs drawn with replacement
        (numpy's `Generator.multinomial` with `seed`: the same seed, the same draws).
    level (float): the interval's coverage (percentile interval).
    RETURNS (Dict[str, Any]): `score_a`, `score_b`, `difference` (A - B on the test
        set itself), `interval` ([low, high] of the resampled differences),
        `share_a_not_better` (the share of resamples where A - B <= 0) and the settings.
    RAISES (ValueError): E038 for counts of other shapes, no docs, resamples < 1 or a
        level outside (0, 1).
    """
    a, b = numpy.asarray(counts_a), numpy.asarray(counts_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != len(COUNTS) or not len(a):
        raise ValueError(Errors.E038.format(
            setting="doc counts", value=f"shapes {a.shape} and {b.shape}", expected=f"the same (n_docs, {len(COUNTS)}), n_docs >= 1"
        ))
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(Errors.E038.format(setting="resamples", value=resamples, expected="an integer >= 1"))
    if not 0 < level < 1:
        raise ValueError(Errors.E038.format(setting="level", value=level, expected="a number between 0 and 1"))
    n_docs = len(a)
    # each row: how often each doc is drawn in one resample
    weights = numpy.random.default_rng(seed).multinomial(n_docs, numpy.full(n_docs, 1.0 / n_docs), size=resamples)
    differences = f_score(weights @ a) - f_score(weights @ b)
    tail = (1 - level) / 2 * 100
    low, high = numpy.percentile(differences, [tail, 100 - tail])
    score_a, score_b = float(f_score(a.sum(0))), float(f_score(b.sum(0)))
    return {
        "score_a": score_a,
        "score_b": score_b,
        "difference": score_a - score_b,
        "interval": [float(low), float(high)],
        "level": level,
        "share_a_not_better": float((differences <= 0).mean()),
        "resamples": resamples,
        "seed": seed,
        "docs": n_docs,
    }


def compare_pipelines(
    models: Sequence[Language], names: Sequence[str], data: Path, target: Optional[str], **bootstrap: Any
) -> Dict[str, Any]:
    """Score two pipelines on the gold docs of `data` (a `.spacy` file) and compare
    them by the paired bootstrap (`paired_bootstrap`, which takes `bootstrap`).

    The docs are given to each pipeline with the gold's words (as `evaluate` scores)
    and tagged as the target task, so the target head of a T-B or T-C pipeline
    predicts them and its source head does not.

    RETURNS (Dict[str, Any]): `paired_bootstrap`'s result with `target`, `data` and
        per pipeline its name and summed counts.
    RAISES (ValueError): E118 (`choose_target`), E119 (`doc_counts`), E038.
    """
    chosen = None
    per_model: List[numpy.ndarray] = []
    for nlp, name in zip(models, names):
        references = read_docs(data, nlp.vocab)  # each pipeline's docs in its own vocab
        chosen = chosen or choose_target(references, target, data)
        examples = [make_example(nlp.vocab, doc, "target") for doc in references]
        per_model.append(doc_counts(nlp, name, examples, chosen))
    result = paired_bootstrap(per_model[0], per_model[1], **bootstrap)
    pipelines = {
        key: {"model": name, **dict(zip(COUNTS, (int(n) for n in counts.sum(0))))}
        for key, name, counts in zip(("a", "b"), names, per_model)
    }
    return {"target": chosen, "data": str(data), "pipelines": pipelines, **result}


def comparison_table(results_dir: Path) -> str:
    """The README's Markdown of the `compare` results files of a folder (and its
    subfolders), a line per file: both scores, A - B with its interval (%), and the
    share of resamples where A is not better."""
    files = sorted(Path(results_dir).rglob("*.json"))
    if not files:
        return "No comparisons yet. Run: `python -m spacy_xfer compare MODEL_A MODEL_B DATA --output FILE`.\n"
    lines = [
        "| results file | test docs | A | B | A - B | interval | A not better |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    levels, resamples = set(), set()
    for path in files:
        data = srsly.read_json(path)
        low, high = (100 * bound for bound in data["interval"])
        levels.add(data["level"])
        resamples.add(data["resamples"])
        lines.append(
            f"| `{path.relative_to(results_dir).with_suffix('')}` | {data['docs']} | {100 * data['score_a']:.2f} | "
            f"{100 * data['score_b']:.2f} | {100 * data['difference']:+.2f} | [{low:+.2f}, {high:+.2f}] | "
            f"{data['share_a_not_better']:.1%} |"
        )
    coverage = "/".join(f"{level:.0%}" for level in sorted(levels))
    counts = "/".join(str(n) for n in sorted(resamples))
    lines += [
        "",
        f"Test scores (%) of pipelines A and B (each file's `pipelines`; a file named `X-vs-Y` holds A = X, "
        f"B = Y), their difference and its {coverage} interval by the paired bootstrap over the test docs "
        f"({counts} resamples), and the share of resamples in which A is not better. Regenerate: each "
        f"file's `command` (`python -m spacy_xfer compare ... --output FILE`), then "
        f"`python -m spacy_xfer report --readme README.md`.",
    ]
    return "\n".join(lines) + "\n"
