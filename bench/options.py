"""The command-line options bench/speed.py and bench/peers.py share, and how a worker
process gets them again."""

import argparse
import json
from typing import Any, Dict, List, Optional, Sequence

# the shared options a worker needs to rebuild the same data and run sizes
SHARED = ("data", "n_sentences", "train_steps", "infer_sentences", "threads", "seed")


def add_shared_options(parser: argparse.ArgumentParser, *, data_help: str, threads: Optional[int]) -> None:
    """Data, run sizes, threads, seed, --quick, --json and the hidden --_worker."""
    parser.add_argument("--data", help=data_help)
    parser.add_argument("--n-sentences", type=int, default=None,
                        help="sentences to generate or read (default: 2000 synthetic, all of --data); "
                        "used to initialize, train on and run inference over")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="timed update steps per run (default: ~50k tokens' worth, 10..200 steps; --quick: 2..25)")
    parser.add_argument("--infer-sentences", type=int, default=None,
                        help="sentences per inference run (default: all; 250 at batch 1)")
    parser.add_argument("--threads", type=int, default=threads,
                        help=f"torch.set_num_threads (default: {threads or 'one per core, torch default'})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and batches (default: 0)")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)


def parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The parsed options; --quick means 300 sentences unless --n-sentences says otherwise."""
    args = parser.parse_args(argv)
    if args.quick and args.n_sentences is None:
        args.n_sentences = 300
    return args


def worker_options(args: argparse.Namespace, names: Sequence[str]) -> List[str]:
    """The options `names` (and --quick) as they were given, for a worker's command line."""
    argv: List[str] = []
    for name in names:
        if getattr(args, name) is not None:
            argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return argv + (["--quick"] if args.quick else [])


def config_overrides(pairs: Sequence[str]) -> Dict[str, Any]:
    """`KEY=VALUE` strings as config overrides (dotted key -> value), each value read as
    JSON where it is (numbers, true, "quoted") and kept as a string otherwise, as
    `spacy train` reads its command-line overrides.

    RAISES (SystemExit): If a string has no "=" or an empty key.
    """
    overrides: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"config override {pair!r}: expected KEY=VALUE, e.g. xfer.word_dropout=0.1")
        try:
            overrides[key.strip()] = json.loads(value)
        except ValueError:
            overrides[key.strip()] = value
    return overrides
