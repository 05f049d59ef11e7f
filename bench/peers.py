"""The peers' rows of the README's speed table, measured in one run beside ours:

- `xfer_tagger`: our pipeline (configs/single.cfg's component and optimizer, learning
  entities), as bench/speed.py times it;
- `spacy_cnn`: spaCy's CNN NER from `spacy init config --pipeline ner --optimize
  efficiency` (tok2vec + ner, its config's optimizer), untrained (speed does not depend
  on the weights);
- `flair`: Flair's BiLSTM-256-CRF, optional, in Flair's own virtual environment
  (`--flair-python`, or $FLAIR_PYTHON; see bench/flair_worker.py); skipped with a
  message when there is none;
- `xfer_tagger_int8`, optional (`--quantized`): our pipeline after `spacy_xfer.quantize`
  (int8 GRUs and linear layers, dynamic quantization), inference only (a quantized
  pipeline does not train); its rates over spaCy's are printed under the table;
- `ours @COMMIT`, optional: our pipeline at an older checkout of this repository
  (`--baseline-root`, a `git worktree` of that commit), with that checkout's code and
  configs/single.cfg, run by the Python of an environment where that checkout is
  installed (`--baseline-python`; see bench/checkout_worker.py). Repeat both options for
  several commits, one environment each (one Python serves several roots only if their
  entry points are the same: spaCy loads every factory entry point an environment
  declares). `--baseline-set KEY=VALUE` overrides the older configs (e.g. to time an
  older commit with today's training recipe). The ratio column `ours / ours @COMMIT` is today's rate over that
  commit's: the before/after check of a change ("within 5%, median of 5").

Same data (default: synthetic sentences with entities; `--data corpus/conll03/train.spacy`
for CoNLL03), same batch sizes, one subprocess per (system, phase, batch size), one
torch/BLAS thread each (`--threads`). With `--repeat N` the systems' runs alternate
(ours, spaCy's, Flair's, ours, ...) and each row is the median of N. It prints the rows in
bench/speed.py's format, then the README's table: each system's rate and ours over each
peer's.

    python bench/peers.py --repeat 5
    python bench/peers.py --data corpus/conll03/train.spacy --flair-python .venv-flair/bin/python
    git worktree add --detach ../old HEAD~5 && python -m venv ../venv-old \
        && ../venv-old/bin/pip install torch==2.13.0 -e ../old
    python bench/peers.py --repeat 5 --baseline-root ../old --baseline-python ../venv-old/bin/python
    python bench/peers.py ... --baseline-set xfer.word_dropout=0.1 \
        --baseline-set training.optimizer.@optimizers=spacy_xfer.Adam.v1 --baseline-set training.optimizer.learn_rate=0.001
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from functools import partial
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import describe_data, load_sentences  # noqa: E402
from bench.isolation import emit, run_worker  # noqa: E402
from bench.options import SHARED, add_shared_options, config_overrides, parse, worker_options  # noqa: E402
from bench.machine import hardware_info, peak_rss_mb, set_threads  # noqa: E402
from bench.pipelines import COMPONENT, CONFIG_IN_REPO, DEFAULT_CONFIG, model_info, spacy_cnn_pipeline, xfer_pipeline  # noqa: E402
from bench.report import print_context, print_rows, ratio_table  # noqa: E402
from bench.timing import infer_count, measure_phase, rates, train_step_count  # noqa: E402

OURS = "xfer_tagger"
QUANTIZED = "xfer_tagger_int8"
SPACY = "spacy_cnn"
FLAIR = "flair"


def run_phase(
    args: argparse.Namespace, system: str, phase: str, batch_size: int, *,
    config_path: Path = DEFAULT_CONFIG, overrides: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Build a system's pipeline on the data, then time one phase (in a worker process).
    Ours is built from config_path with the overrides, and its row has its parameter
    count (the sizes of pipelines compared must match)."""
    set_threads(args.threads)
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=True)
    size: Dict[str, Any] = {}
    if system in (OURS, QUANTIZED):
        nlp, examples, optimizer = xfer_pipeline(sentences, config_path=config_path, target="ents", overrides=overrides)
        component = COMPONENT
        size = {"parameters": model_info(nlp)["parameters"]}
        if system == QUANTIZED:
            # imported here: bench/checkout_worker.py imports this file with older code
            from spacy_xfer import quantize

            quantize(nlp)
    else:
        nlp, examples, optimizer = spacy_cnn_pipeline(sentences, "ents")
        component = "ner"
    setup_rss = peak_rss_mb()
    result = measure_phase(
        nlp, examples, optimizer, phase, batch_size, component=component, seed=args.seed + 1,
        infer_sentences=args.infer_sentences, steps=args.train_steps, quick=args.quick,
    )
    return {**result, **size, "system": system, "setup_rss_mb": round(setup_rss, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def spacy_row(args: argparse.Namespace, system: str, phase: str, batch_size: int) -> Dict[str, Any]:
    """Our row (today's code) or spaCy's for one phase, from a worker running this file."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--_worker", f"{system}:{phase}:{batch_size}"]
    return run_worker(argv + worker_options(args, SHARED), f"{system} {phase} at batch {batch_size}")


class Baseline(NamedTuple):
    """Our pipeline at an older checkout: its column's label, the Python that runs it,
    the checkout."""

    label: str
    python: str
    root: Path


def add_baseline_options(parser: argparse.ArgumentParser) -> None:
    """--baseline-root and --baseline-python, the older checkouts `baselines` reads."""
    parser.add_argument("--baseline-root", action="append", default=[], metavar="DIR",
                        help="an older checkout of this repository (git worktree) to time as 'ours @COMMIT'; repeatable")
    parser.add_argument("--baseline-python", action="append", default=[], metavar="PYTHON",
                        help="the Python of an environment where that checkout is installed (pip install -e DIR); "
                        "one per root (one for all only if their entry points are the same)")


def checkout_label(state: Dict[str, Any]) -> str:
    """"ours @COMMIT" (7 hex digits; "+dirty" when tracked files have changes) of a
    checkout's `git_state`."""
    return f"ours @{(state['commit'] or 'unknown')[:7]}{'+dirty' if state['dirty'] else ''}"


def baselines(args: argparse.Namespace) -> List[Baseline]:
    """The checkouts of --baseline-root, each with its --baseline-python (one for all
    roots, or one per root), labelled "ours @COMMIT" (7 hex digits; "+dirty" when its
    tracked files have changes).

    RAISES (SystemExit): If the counts do not pair up, a Python is not an executable,
        a root has no configs/single.cfg or git cannot read its commit.
    """
    from spacy_xfer.experiments.grid import git_state

    roots, pythons = args.baseline_root, args.baseline_python
    if pythons and not roots:
        raise SystemExit("--baseline-python needs --baseline-root (the checkout it runs)")
    if len(pythons) == 1:
        pythons = pythons * len(roots)
    if len(pythons) != len(roots):
        raise SystemExit(f"{len(roots)} --baseline-root and {len(pythons)} --baseline-python: "
                         "give one Python for all roots, or one per root, in the same order")
    found = []
    for root_arg, python in zip(roots, pythons):
        root = Path(root_arg).resolve()
        if not os.access(python, os.X_OK):
            raise SystemExit(f"--baseline-python {python}: not an executable")
        if not (root / CONFIG_IN_REPO).is_file():
            raise SystemExit(f"--baseline-root {root_arg}: no {CONFIG_IN_REPO} there")
        state = git_state(root)
        if state["commit"] is None:
            raise SystemExit(f"--baseline-root {root_arg}: git cannot read its commit (not a checkout?)")
        found.append(Baseline(checkout_label(state), python, root))
    return found


def baseline_row(args: argparse.Namespace, baseline: Baseline, phase: str, batch_size: int) -> Dict[str, Any]:
    """Our row for one phase at an older checkout (bench/checkout_worker.py under its
    Python; PYTHONPATH is dropped so that nothing of this tree leaks in)."""
    argv = [
        baseline.python, str(Path(__file__).resolve().parent / "checkout_worker.py"), "--root", str(baseline.root),
        "--_worker", f"{OURS}:{phase}:{batch_size}", *worker_options(args, SHARED),
        *(f"--set={pair}" for pair in args.baseline_set),
    ]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**run_worker(argv, f"{baseline.label} {phase} at batch {batch_size}", env=env), "system": baseline.label}


def size_lines(results: Sequence[Dict[str, Any]]) -> List[str]:
    """Our pipelines' parameter counts, with a warning if they differ (a speed ratio of
    pipelines of different sizes does not compare the code)."""
    counts = {r["system"]: r["parameters"] for r in results if "parameters" in r}
    lines = ["parameters of the timed component: " + "; ".join(f"{s} {n:,}" for s, n in counts.items())]
    if len(set(counts.values())) > 1:
        lines.append("WARNING: our pipelines differ in size: the ratios compare more than the code")
    return lines


def flair_python(args: argparse.Namespace) -> Optional[str]:
    """The Flair environment's Python, or None (with the reason printed) if there is none."""
    python = args.flair_python or os.environ.get("FLAIR_PYTHON")
    if python and os.access(python, os.X_OK):
        return python
    where = f"{python} is not an executable" if python else "no --flair-python and no $FLAIR_PYTHON"
    print(f"flair: skipped ({where}). To include it: python -m venv .venv-flair && "
          ".venv-flair/bin/pip install torch==2.13.0 && .venv-flair/bin/pip install flair==0.15.1, then --flair-python .venv-flair/bin/python", file=sys.stderr)
    return None


def flair_row(args: argparse.Namespace, python: str, data_file: str, sentences: Sequence[Any], phase: str, batch_size: int) -> Dict[str, Any]:
    """Flair's row for one phase, its rates computed as ours (`timing.rates`)."""
    mean_len = sum(len(words) for words, _ in sentences) / len(sentences)
    argv = [
        python, str(Path(__file__).resolve().parent / "flair_worker.py"), "--sentences", data_file, "--phase", phase,
        "--batch-size", str(batch_size), "--threads", str(args.threads or 1), "--seed", str(args.seed),
        "--steps", str(train_step_count(batch_size, mean_len, explicit=args.train_steps, quick=args.quick)),
        "--infer-sentences", str(infer_count(batch_size, len(sentences), explicit=args.infer_sentences, quick=args.quick)),
    ]
    raw = run_worker(argv, f"flair {phase} at batch {batch_size}")
    tokens, seconds = raw.pop("batch_tokens"), raw.pop("batch_seconds")
    return {**raw, **rates(tokens, seconds), "tokens": sum(tokens), "steps": len(seconds), "seconds": round(sum(seconds), 3)}


def quantized_lines(results: Sequence[Dict[str, Any]], peer: str) -> List[str]:
    """Per inference batch size, the quantized pipeline's rate over ours in float32 and
    over the peer's (the issue's target: >= 1.2x spaCy's CNN at batch 256)."""
    rate = {(r["system"], r["phase"], r["batch_size"]): r["rate"] for r in results}
    lines = []
    for (system, phase, batch_size), int8 in rate.items():
        if system == QUANTIZED and rate.get((OURS, phase, batch_size)) and rate.get((peer, phase, batch_size)):
            lines.append(
                f"int8 inference, batch {batch_size}: {int8:,.0f} words/s, {int8 / rate[(OURS, phase, batch_size)]:.2f}x "
                f"ours in float32, {int8 / rate[(peer, phase, batch_size)]:.2f}x {peer}"
            )
    return lines


def median_run(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The run with the median rate (the lower median for an even count), with every
    run's rate."""
    ordered = sorted(runs, key=lambda r: r["rate"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        chosen["runs"] = [r["rate"] for r in runs]
        chosen["median_of_rates"] = statistics.median(r["rate"] for r in runs)
    return chosen


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Our tagger's speed beside spaCy's CNN NER and Flair's BiLSTM-CRF, with ratios.")
    parser.add_argument("--infer-batch-sizes", type=int, nargs="*", default=[256, 1], help="default: 256 1")
    parser.add_argument("--train-batch-sizes", type=int, nargs="*", default=[32, 10], help="default: 32 10 (10: the paper's)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs per row; the median is reported (default: 1)")
    parser.add_argument("--quantized", action="store_true",
                        help="also time our pipeline quantized to int8 (spacy_xfer.quantize), inference only")
    parser.add_argument("--flair-python", default=None, help="the Python of Flair's virtual environment (default: $FLAIR_PYTHON)")
    add_baseline_options(parser)
    parser.add_argument("--baseline-set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a value of the older checkouts' {CONFIG_IN_REPO} (e.g. xfer.word_dropout=0.1); repeatable")
    add_shared_options(parser, threads=1, data_help="a DocBin with entities, e.g. corpus/conll03/train.spacy "
                       "(default: synthetic)")
    return parse(parser, argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args._worker:
        system, phase, batch_size = args._worker.split(":")
        emit(run_phase(args, system, phase, int(batch_size)))
        return
    started = time.perf_counter()
    config_overrides(args.baseline_set)  # a malformed override fails now, not in the first worker
    older = baselines(args)
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=True)
    work = [("infer", b) for b in args.infer_batch_sizes] + [("train", b) for b in args.train_batch_sizes]
    python = flair_python(args)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = str(Path(tmp) / "sentences.json")
        Path(data_file).write_text(json.dumps(sentences), encoding="utf8")
        # one row-maker per column, in the order the runs alternate (ours today and at
        # older checkouts side by side)
        row_makers: Dict[str, Callable[[str, int], Dict[str, Any]]] = {OURS: partial(spacy_row, args, OURS)}
        if args.quantized:
            row_makers[QUANTIZED] = partial(spacy_row, args, QUANTIZED)
        row_makers.update({baseline.label: partial(baseline_row, args, baseline) for baseline in older})
        row_makers[SPACY] = partial(spacy_row, args, SPACY)
        if python:
            row_makers[FLAIR] = partial(flair_row, args, python, data_file, sentences)
        systems = list(row_makers)
        runs: Dict[tuple, List[Dict[str, Any]]] = {}
        for _ in range(max(1, args.repeat)):
            for phase, batch_size in work:
                for system in systems:
                    if system == QUANTIZED and phase == "train":
                        continue  # a quantized pipeline does not train
                    result = row_makers[system](phase, batch_size)
                    runs.setdefault((system, phase, batch_size), []).append(result)
                    print(f"  {system} {phase} batch {batch_size}: {result['rate']:,.0f} tok/s", file=sys.stderr, flush=True)
    results = [median_run(runs[key]) for key in ((system, phase, b) for phase, b in work for system in systems) if key in runs]
    set_threads(args.threads)
    print()
    print_context(hardware_info(), describe_data(sentences), args.data or f"synthetic with entities (seed {args.seed})")
    print_rows(results, in_process=False)
    print("\n".join(size_lines(results)))
    print(f"\nratios (ours / peer), {max(1, args.repeat)} alternating run(s) per row, one thread each:\n")
    print("\n".join(ratio_table(results, OURS, systems[1:])))
    print("\n".join(quantized_lines(results, SPACY)))
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "config": {k: v for k, v in vars(args).items() if k != "_worker"}}, indent=2), encoding="utf8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
