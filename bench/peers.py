"""The peers' rows of the README's speed table, measured in one run beside ours:

- `xfer_tagger`: our pipeline (configs/single.cfg's component and optimizer, learning
  entities), as bench/speed.py times it;
- `spacy_cnn`: spaCy's CNN NER from `spacy init config --pipeline ner --optimize
  efficiency` (tok2vec + ner, its config's optimizer), untrained (speed does not depend
  on the weights);
- `flair`: Flair's BiLSTM-256-CRF, optional, in Flair's own virtual environment
  (`--flair-python`, or $FLAIR_PYTHON; see bench/flair_worker.py); skipped with a
  message when there is none.

Same data (default: synthetic sentences with entities; `--data corpus/conll03/train.spacy`
for CoNLL03), same batch sizes, one subprocess per (system, phase, batch size), one
torch/BLAS thread each (`--threads`). With `--repeat N` the systems' runs alternate
(ours, spaCy's, Flair's, ours, ...) and each row is the median of N. It prints the rows in
bench/speed.py's format, then the README's table: each system's rate and ours over each
peer's.

    python bench/peers.py --repeat 5
    python bench/peers.py --data corpus/conll03/train.spacy --flair-python .venv-flair/bin/python
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import describe_data, load_sentences  # noqa: E402
from bench.isolation import emit, run_worker  # noqa: E402
from bench.options import SHARED, add_shared_options, parse, worker_options  # noqa: E402
from bench.machine import hardware_info, peak_rss_mb, set_threads  # noqa: E402
from bench.pipelines import COMPONENT, spacy_cnn_pipeline, xfer_pipeline  # noqa: E402
from bench.report import print_context, print_rows, ratio_table  # noqa: E402
from bench.timing import infer_count, measure_phase, rates, train_step_count  # noqa: E402

OURS = "xfer_tagger"
SPACY = "spacy_cnn"
FLAIR = "flair"


def run_phase(args: argparse.Namespace, system: str, phase: str, batch_size: int) -> Dict[str, Any]:
    """Build a system's pipeline on the data, then time one phase (in a worker process)."""
    set_threads(args.threads)
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=True)
    if system == OURS:
        nlp, examples, optimizer = xfer_pipeline(sentences, target="ents")
        component = COMPONENT
    else:
        nlp, examples, optimizer = spacy_cnn_pipeline(sentences, "ents")
        component = "ner"
    setup_rss = peak_rss_mb()
    result = measure_phase(
        nlp, examples, optimizer, phase, batch_size, component=component, seed=args.seed + 1,
        infer_sentences=args.infer_sentences, steps=args.train_steps, quick=args.quick,
    )
    return {**result, "system": system, "setup_rss_mb": round(setup_rss, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def spacy_worker(args: argparse.Namespace, system: str, phase: str, batch_size: int) -> List[str]:
    """The command line of a worker timing our pipeline or spaCy's."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--_worker", f"{system}:{phase}:{batch_size}"]
    return argv + worker_options(args, SHARED)


def flair_python(args: argparse.Namespace) -> Optional[str]:
    """The Flair environment's Python, or None (with the reason printed) if there is none."""
    python = args.flair_python or os.environ.get("FLAIR_PYTHON")
    if python and os.access(python, os.X_OK):
        return python
    where = f"{python} is not an executable" if python else "no --flair-python and no $FLAIR_PYTHON"
    print(f"flair: skipped ({where}). To include it: python -m venv .venv-flair && "
          ".venv-flair/bin/pip install flair==0.15.1, then --flair-python .venv-flair/bin/python", file=sys.stderr)
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
    parser.add_argument("--flair-python", default=None, help="the Python of Flair's virtual environment (default: $FLAIR_PYTHON)")
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
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=True)
    work = [("infer", b) for b in args.infer_batch_sizes] + [("train", b) for b in args.train_batch_sizes]
    python = flair_python(args)
    systems = [OURS, SPACY] + ([FLAIR] if python else [])
    runs: Dict[tuple, List[Dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_file = str(Path(tmp) / "sentences.json")
        Path(data_file).write_text(json.dumps(sentences), encoding="utf8")
        for _ in range(max(1, args.repeat)):
            for phase, batch_size in work:
                for system in systems:
                    if system == FLAIR:
                        result = flair_row(args, python, data_file, sentences, phase, batch_size)
                    else:
                        result = run_worker(spacy_worker(args, system, phase, batch_size), f"{system} {phase} at batch {batch_size}")
                    runs.setdefault((system, phase, batch_size), []).append(result)
                    print(f"  {system} {phase} batch {batch_size}: {result['rate']:,.0f} tok/s", file=sys.stderr, flush=True)
    results = [median_run(runs[(system, phase, b)]) for phase, b in work for system in systems]
    set_threads(args.threads)
    print()
    print_context(hardware_info(), describe_data(sentences), args.data or f"synthetic with entities (seed {args.seed})")
    print_rows(results, in_process=False)
    print(f"\nratios (ours / peer), {max(1, args.repeat)} alternating run(s) per row, one thread each:\n")
    print("\n".join(ratio_table(results, OURS, systems[1:])))
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "config": {k: v for k, v in vars(args).items() if k != "_worker"}}, indent=2), encoding="utf8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
