"""Time from `spacy train` start to its first step, today's tree beside older checkouts.

One run is `PY -m spacy train ROOT/configs/CONFIG` in a fresh process (imports, config
resolution, reading the corpora, `nlp.initialize`, the first batch), stopped by the
`before_update` callback of bench/first_step.py just before the first update. The time
is from just before the process is launched to that callback. Today's tree runs with
this Python; each `--baseline-root ROOT --baseline-python PY` adds an older checkout,
run by the Python of an environment where ROOT is installed (`pip install -e ROOT`),
with ROOT's config (the options and their checks are bench/peers.py's). Runs alternate
(today, baseline, ..., today, ...) and each system's time is the median of `--repeat`
runs; one torch/BLAS thread each (`--threads`). It prints one row per system with its
time over today's (2.00: today starts twice as fast).

    python bench/startup.py --source-train grid/corpus/s13/ptb/train.spacy \
        --source-dev grid/corpus/s13/ptb/dev.spacy --target-train grid/corpus/s13/conll03/train.spacy \
        --target-dev grid/corpus/s13/conll03/dev.spacy --repeat 3 \
        --baseline-root ../old --baseline-python ../venv-old/bin/python
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

BENCH = Path(__file__).resolve().parent
TODAY = BENCH.parent
sys.path.insert(0, str(TODAY))

from bench.peers import Baseline, add_baseline_options, baselines, checkout_label  # noqa: E402
from spacy_xfer.experiments.grid import git_state  # noqa: E402


def train_command(system: Baseline, args: argparse.Namespace, output: Path) -> List[str]:
    """`spacy train` on system's config, stopped at its first step by bench/first_step.py."""
    paths = {"source_train": args.source_train, "source_dev": args.source_dev,
             "target_train": args.target_train, "target_dev": args.target_dev}
    command = [system.python, "-m", "spacy", "train", str(system.root / "configs" / args.config),
               "--output", str(output), "--code", str(BENCH / "first_step.py"),
               "--training.before_update", '{"@callbacks":"bench.first_step.v1"}',
               "--xfer.source_target", args.source_target, "--xfer.target_target", args.target_target,
               "--xfer.rate", str(args.rate)]
    for key, path in paths.items():
        command += [f"--paths.{key}", str(Path(path).resolve())]
    return command


def time_to_first_step(system: Baseline, args: argparse.Namespace) -> float:
    """Seconds from launching system's `spacy train` to its first step.

    RAISES (SystemExit): If the run ended without reaching its first step, with its output.
    """
    with tempfile.TemporaryDirectory() as tmp:
        stamp = Path(tmp) / "first_step"
        env = {**os.environ, "BENCH_FIRST_STEP_FILE": str(stamp), "OMP_NUM_THREADS": str(args.threads),
               "MKL_NUM_THREADS": str(args.threads), "PYTHONPATH": str(system.root)}
        start = time.time()
        proc = subprocess.run(train_command(system, args, Path(tmp) / "training"), cwd=system.root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if not stamp.exists():
            raise SystemExit(f"{system.label}: spacy train ended (exit code {proc.returncode}) before its first "
                             f"step:\n{proc.stdout[-4000:]}")
        return float(stamp.read_text(encoding="utf8")) - start


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="t_b.cfg", help="a config in each root's configs/ (default: t_b.cfg)")
    for name in ("source-train", "source-dev", "target-train", "target-dev"):
        parser.add_argument(f"--{name}", required=True, help=f"the {name.replace('-', ' ')} DocBin")
    parser.add_argument("--source-target", default="tag", help="the source head's target (default: tag)")
    parser.add_argument("--target-target", default="ents", help="the target head's target (default: ents)")
    parser.add_argument("--rate", type=float, default=1.0, help="the target's labelling rate (default: 1.0)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per system, alternating (default: 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per run (default: 1)")
    add_baseline_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    today = Baseline(f"{checkout_label(git_state(TODAY))} (today)", sys.executable, TODAY)
    systems = [today, *baselines(args)]
    seconds: Dict[str, List[float]] = {system.label: [] for system in systems}
    for run in range(args.repeat):
        for system in systems:
            seconds[system.label].append(time_to_first_step(system, args))
            print(f"run {run + 1}/{args.repeat} {system.label}: {seconds[system.label][-1]:.2f}s", flush=True)
    ours = statistics.median(seconds[today.label])
    print(f"\nconfig {args.config}, target rate {args.rate}, {args.threads} thread(s), median of {args.repeat}\n")
    print("| system | seconds to the first step (median) | runs | its time / today's |")
    print("| --- | --- | --- | --- |")
    for system in systems:
        median = statistics.median(seconds[system.label])
        runs = ", ".join(f"{s:.1f}" for s in seconds[system.label])
        print(f"| {system.label} | {median:.2f} | {runs} | {median / ours:.2f} |")


if __name__ == "__main__":
    main()
