"""Throughput of `python -m spacy_xfer annotate` on this machine, by parallelism: a single
process, `--n-process 2`, and a Dask `LocalCluster` of 1 and of 2 workers (worker
processes of one thread each, on loopback, passed as `--dask ADDRESS`).

Each run is the real command in a subprocess, timed from start to exit: starting Python,
importing spaCy and torch, loading the pipeline (in every worker too), reading the input
and writing the output are all in the time (annotate does not log a time of its own).
Beside each run, the same setting annotates one sentence: that time is the setting's
fixed cost (start-up and pipeline loading, in the main process and, in parallel, in the
workers), and "words/s after the fixed cost" is words / (seconds - fixed cost): the
throughput a long corpus approaches. A Dask cluster is started afresh for each run,
before the clock starts (a real cluster is up before `annotate` runs), so its workers
load the pipeline inside the timed run, as local processes do. Every process runs one
torch/BLAS thread (OMP_NUM_THREADS=1).

- Pipeline: `--model PATH`, or (default) a shipped config's component, untrained, of the
  config's sizes (`--config`, default configs/single.cfg, as bench/pipelines.py builds
  it), initialized on the first 500 sentences and saved to a temporary folder.
- Input: `--n-sentences` (default 3000) of `--data` (a DocBin, or a `word<TAB>tag` file:
  see bench/data.py) or synthetic sentences, written as JSONL `tokens` (so the pipeline's
  tokenizer is not timed), cut into `--shard-size` shards (default: 16 shards).
- `--repeat K`: the settings' runs alternate K times; each row has the medians of the
  times (and the most other processes' CPU use seen in its runs).
- The outputs of every run must be identical to the single process's, byte for byte (the
  labels; no scores are written): the script stops with the first differing line if not.

    python bench/annotate_scaling.py --data ../shared/corpora/ptb_nltk_sample/wsj_0001-0199.pos.conll --repeat 3
    python bench/annotate_scaling.py --model training/model-best --data corpus/conll03/train.spacy --json scaling.json
"""

import argparse
import itertools
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import Sentence, describe_data, load_sentences  # noqa: E402
from bench.machine import CpuMeter, hardware_info, set_threads  # noqa: E402
from bench.pipelines import DEFAULT_CONFIG, REPO, model_info, xfer_pipeline  # noqa: E402
from bench.report import print_context, scaling_table  # noqa: E402
from spacy_xfer.corpora.io import write_atomic  # noqa: E402

INIT_SENTENCES = 500  # the untrained pipeline is initialized on these (labels, vocabulary)
N_SHARDS = 16  # the default shard size cuts the input into this many shards


class Setting(NamedTuple):
    """How annotate runs: local processes, or Dask workers (0: no Dask)."""

    label: str
    n_process: int = 1
    dask_workers: int = 0


SETTINGS = (
    Setting("single process"),
    Setting("--n-process 2", n_process=2),
    Setting("Dask, 1 worker", dask_workers=1),
    Setting("Dask, 2 workers", dask_workers=2),
)


def write_input(sentences: Sequence[Sentence], path: Path) -> None:
    """The sentences' words as annotate's JSONL input (`{"tokens": [...]}` per line)."""
    lines = (json.dumps({"tokens": words}, ensure_ascii=False) + "\n" for words, _ in sentences)
    write_atomic(path, "".join(lines).encode("utf8"))


def build_model(sentences: Sequence[Sentence], config: Path, target: str, folder: Path) -> Dict[str, Any]:
    """Save the config's untrained component, initialized on the first sentences, to
    folder; RETURNS its `model_info`."""
    nlp, _, _ = xfer_pipeline(sentences[:INIT_SENTENCES], config_path=config, target=target)
    nlp.to_disk(folder)
    return model_info(nlp)


@contextmanager
def dask_cluster(n_workers: int) -> Iterator[Optional[str]]:
    """A `distributed.LocalCluster` of n_workers worker processes of one thread each, on
    loopback, for the duration; YIELDS its scheduler's address (None for 0 workers).

    RAISES (SystemExit): If distributed is not installed.
    """
    if not n_workers:
        yield None
        return
    try:
        from distributed import LocalCluster
    except ImportError as e:
        raise SystemExit('the Dask settings need distributed: pip install "spacy-xfer[dask]"') from e
    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


def run_annotate(args: argparse.Namespace, model: str, input_path: Path, output: Path, setting: Setting) -> Dict[str, Any]:
    """One timed `python -m spacy_xfer annotate` run of a setting.

    RETURNS (Dict[str, Any]): setting, seconds (the subprocess, start to exit), bg_cpu
        (other processes' CPU use in cores, from before the cluster starts to after it
        stops; the subprocess and the Dask workers count as ours).
    RAISES (SystemExit): If annotate fails, with its exit code and output.
    """
    argv = [
        sys.executable, "-m", "spacy_xfer", "annotate", model, str(input_path), str(output),
        "--input-format", "jsonl", "--batch-size", str(args.batch_size), "--shard-size", str(args.shard_size),
        "--n-process", str(setting.n_process),
    ]
    meter = CpuMeter(children=True)
    with dask_cluster(setting.dask_workers) as address:
        start = time.perf_counter()
        proc = subprocess.run(argv + (["--dask", address] if address else []), capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{setting.label}: annotate failed (exit code {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return {"setting": setting.label, "seconds": round(seconds, 3), "bg_cpu": meter.background_cores()}


def setting_row(label: str, runs: Sequence[Dict[str, Any]], words: int) -> Dict[str, Any]:
    """A setting's row: the medians of its runs' seconds and fixed costs, the words/s of
    those, the most other processes' CPU use in a run, and every run.

    RETURNS (Dict[str, Any]): setting, seconds, fixed_seconds, rate, rate_after_fixed
        (None when the fixed cost is not below the whole time), bg_cpu, runs.
    """
    seconds = statistics.median(r["seconds"] for r in runs)
    fixed = statistics.median(r["fixed_seconds"] for r in runs)
    busy = [r["bg_cpu"] for r in runs if r["bg_cpu"] is not None]
    return {
        "setting": label, "seconds": round(seconds, 3), "fixed_seconds": round(fixed, 3),
        "rate": round(words / seconds, 1), "rate_after_fixed": round(words / (seconds - fixed), 1) if seconds > fixed else None,
        "bg_cpu": max(busy) if busy else None, "runs": list(runs),
    }


def first_difference(expected: Path, got: Path) -> Optional[int]:
    """The first line (from 1) at which two files differ; None if they are identical."""
    with expected.open("rb") as a, got.open("rb") as b:
        for number, (line_a, line_b) in enumerate(itertools.zip_longest(a, b), start=1):
            if line_a != line_b:
                return number
    return None


def check_same_output(expected: Path, got: Path, label: str) -> None:
    """Stop unless a setting's output is the single process's, byte for byte.

    RAISES (SystemExit): Naming the setting and the first differing line, with both lines.
    """
    number = first_difference(expected, got)
    if number is None:
        return
    lines = []
    for path in (expected, got):
        with path.open(encoding="utf8") as file:
            line = next(itertools.islice(file, number - 1, None), "<end of file>")
            lines.append(line.rstrip("\n")[:300])
    raise SystemExit(
        f"{label}: its output differs from the single process's at line {number}: labels must not depend on "
        f"the parallelism.\n  single process: {lines[0]}\n  {label}: {lines[1]}"
    )


def measure_settings(args: argparse.Namespace, model: str, tmp: Path, n_sentences: int, words: int) -> List[Dict[str, Any]]:
    """Run every setting `--repeat` times, alternating, each run beside its 1-sentence
    run (tmp holds `input.jsonl` and `one.jsonl`); RETURNS one `setting_row` per setting.

    RAISES (SystemExit): If a run's output differs from the first single-process run's,
        or that one does not have a line per input sentence.
    """
    reference = tmp / "reference.jsonl"
    runs: Dict[str, List[Dict[str, Any]]] = {}
    for repeat in range(max(1, args.repeat)):
        for index, setting in enumerate(SETTINGS):
            fixed = run_annotate(args, model, tmp / "one.jsonl", tmp / f"one-{index}-{repeat}.jsonl", setting)
            output = reference if not runs else tmp / f"out-{index}-{repeat}.jsonl"
            run = run_annotate(args, model, tmp / "input.jsonl", output, setting)
            run["fixed_seconds"] = fixed["seconds"]
            runs.setdefault(setting.label, []).append(run)
            print(f"  {setting.label}: {run['seconds']:.1f}s, of which fixed {fixed['seconds']:.1f}s", file=sys.stderr, flush=True)
            if output == reference:
                n_lines = sum(1 for _ in reference.open("rb"))
                if n_lines != n_sentences:
                    raise SystemExit(f"{setting.label}: {n_lines} output lines for {n_sentences} input sentences")
            else:
                check_same_output(reference, output, setting.label)
                output.unlink()
    return [setting_row(setting.label, runs[setting.label], words) for setting in SETTINGS]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Words/s of `python -m spacy_xfer annotate`: single process, --n-process 2, Dask 1 and 2 workers."
    )
    parser.add_argument("--model", help="the pipeline to run (default: an untrained one of --config's sizes)")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG),
                        help="the config of the untrained pipeline (default: configs/single.cfg)")
    parser.add_argument("--target", choices=["tag", "ents"], default=None,
                        help="what the untrained pipeline predicts (default: ents for a DocBin, else tag)")
    parser.add_argument("--data", help="a DocBin (.spacy) or a word<TAB>tag file (default: synthetic sentences)")
    parser.add_argument("--n-sentences", type=int, default=3000, help="sentences to annotate (default: 3000)")
    parser.add_argument("--batch-size", type=int, default=64, help="annotate's --batch-size (default: 64)")
    parser.add_argument("--shard-size", type=int, default=None,
                        help=f"annotate's --shard-size (default: the input cut into {N_SHARDS} shards)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs per setting; the median is reported (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic sentences (default: 0)")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file (atomically)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    # every process started from here on (annotate, its workers, Dask's workers) runs one
    # torch/BLAS thread and imports this tree's spacy_xfer
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    set_threads(1)
    is_docbin = bool(args.data and args.data.endswith(".spacy"))
    target = args.target or ("ents" if is_docbin else "tag")
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=target == "ents")
    args.shard_size = args.shard_size or math.ceil(len(sentences) / N_SHARDS)
    words = sum(len(w) for w, _ in sentences)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        write_input(sentences, tmp / "input.jsonl")
        write_input(sentences[:1], tmp / "one.jsonl")
        model_sizes = None
        model = args.model
        if not model:
            model = str(tmp / "model")
            model_sizes = build_model(sentences, Path(args.config), target, Path(model))
        results = measure_settings(args, model, tmp, len(sentences), words)
    hardware = hardware_info()
    data = describe_data(sentences)
    print()
    print_context(hardware, data, args.data or f"synthetic (seed {args.seed})")
    described = f"untrained, {model_sizes['parameters']:,} parameters, {args.config}" if model_sizes else "given"
    print(f"model: {args.model or 'built'} ({described}), target {target}; batch size {args.batch_size}, "
          f"shard size {args.shard_size} ({math.ceil(len(sentences) / args.shard_size)} shards)")
    print(f"\n`python -m spacy_xfer annotate`, {words:,} words, one thread per process, "
          f"median of {max(1, args.repeat)} alternating run(s) per setting:\n")
    print("\n".join(scaling_table(results)))
    print("\nseconds: the whole command (Python start, imports, pipeline loading in every process, reading, writing);")
    print("fixed: the same setting annotating 1 sentence; after fixed: words / (seconds - fixed).")
    print("bg cpu: other processes' CPU use during the run (the most of the repeats), in cores.")
    if any((r["bg_cpu"] or 0) > 0.3 for r in results):
        print("WARNING: other processes used CPU during some runs (bg cpu > 0.3): those rates are low.")
    print(f"outputs: identical (byte for byte) in all {len(SETTINGS)} settings and {max(1, args.repeat)} repeat(s).")
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    if args.json:
        report = {
            "hardware": hardware, "data": data, "words": words, "model": model_sizes,
            "config": vars(args), "target": target,
            "identical_outputs": True, "results": results,
        }
        write_atomic(Path(args.json), json.dumps(report, indent=2).encode("utf8"))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
