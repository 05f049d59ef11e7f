"""Speed and memory benchmark of the configs' `xfer_tagger` (GRU-CRF) on CPU, or on a
GPU with `--gpu-id N` (peak memory is then the host's).

The pipeline is a shipped config's component and optimizer (`--config`, default
configs/single.cfg: see bench/pipelines.py), untrained, initialized on the data. For each
batch size (sentences per batch) it measures

- inference: words/s of `nlp.pipe(docs, batch_size=B)` over pre-tokenized Docs (the
  tokenizer is not timed), after a warm-up;
- evaluation (`--phases evaluate`, not by default): words/s of `nlp.evaluate(examples,
  batch_size=B)`, prediction and the scorers, what training pays per dev evaluation;
- training: tokens/s of `nlp.update(batch, sgd=optimizer)` with the config's
  `[training.optimizer]` (its step included), after a warm-up;
- peak memory: `ru_maxrss` of the process. By default every (phase, batch size) runs in
  a subprocess of its own, so each peak is that phase's own; "setup" is the peak after
  building the data and initializing the pipeline, before the phase started.

"bg cpu" is the CPU time other processes used during a phase, in cores (from
/proc/stat). Numbers measured with bg cpu well above 0 are not valid: with torch's
default of one thread per core, one other busy process on a 2-core machine slows
training down ~10x (OpenMP threads wait for the descheduled one). On a shared machine
use `--wait-quiet 120 --repeat 2` (wait for a quiet moment before each timed run, keep
the fastest of two runs), or `--threads` to leave cores free.

With `--profile`, it also breaks down where the time of one inference phase (default
batch 256) and one training phase (default batch 32) goes (`torch.profiler`, see
bench/profiling.py).

Data is synthetic by default (seeded; Zipfian vocabulary of ~10k word types, sentence
lengths 5-45 averaging ~24, 45 tags), or `--data PATH`, a `word<TAB>tag` file with
blank lines between sentences, or a DocBin (`.spacy`) with `--target ents`.

Examples:
    python bench/speed.py
    python bench/speed.py --quick
    python bench/speed.py --data ../shared/corpora/ptb_nltk_sample/wsj_0001-0199.pos.conll
    python bench/speed.py --batch-sizes 32 256 --threads 1 --json speed.json --profile
    python bench/speed.py --phases --profile --profile-batch-sizes 256 256   # profile only
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import describe_data, load_sentences  # noqa: E402
from bench.isolation import emit, run_worker  # noqa: E402
from bench.options import SHARED, add_shared_options, parse, worker_options  # noqa: E402
from bench.machine import hardware_info, peak_rss_mb, set_threads  # noqa: E402
from bench.pipelines import COMPONENT, DEFAULT_CONFIG, model_info, xfer_pipeline  # noqa: E402
from bench.profiling import profile_inference, profile_training  # noqa: E402
from bench.report import Targets, print_context, print_profile, print_rows  # noqa: E402
from spacy_xfer.device import use_device  # noqa: E402
from bench.timing import batches, infer_count, measure_phase, train_step_count  # noqa: E402

TARGETS: Targets = {"infer": (256, 15000.0), "train": (None, 5000.0)}  # (batch size or any, rate)
WORKER_OPTIONS = (*SHARED, "config", "target", "warmup_steps", "vectors", "wait_quiet", "gpu_id")


def run_phase(args: argparse.Namespace, phase: str, batch_size: int, profile: bool = False) -> Dict[str, Any]:
    """Build everything, then run one phase; in a fresh process its peak RSS is its own."""
    set_threads(args.threads)
    if args.gpu_id is not None:
        use_device(args.gpu_id)  # before the pipeline is built
    sentences = load_sentences(args.data, args.n_sentences, args.seed, ents=args.target == "ents")
    start = time.perf_counter()
    nlp, examples, optimizer = xfer_pipeline(sentences, config_path=args.config, target=args.target, vectors=args.vectors)
    setup_seconds = time.perf_counter() - start
    setup_rss = peak_rss_mb()
    if not profile:
        result = measure_phase(
            nlp, examples, optimizer, phase, batch_size, component=COMPONENT, seed=args.seed + 1,
            infer_sentences=args.infer_sentences, steps=args.train_steps, warmup_steps=args.warmup_steps,
            quick=args.quick, quiet_wait=args.wait_quiet,
        )
    elif phase == "infer":
        n = infer_count(batch_size, len(examples), explicit=args.infer_sentences, quick=args.quick)
        result = profile_inference(nlp, [eg.reference for eg in examples[:n]], batch_size, quiet_wait=args.wait_quiet)
    else:
        mean_len = sum(len(eg) for eg in examples) / len(examples)
        steps = train_step_count(batch_size, mean_len, explicit=args.train_steps, quick=args.quick)
        stream = batches(examples, batch_size, args.seed + 1)
        result = profile_training(nlp, stream, optimizer, steps=steps, batch_size=batch_size, quiet_wait=args.wait_quiet)
    result.update(
        {
            "system": "xfer_tagger",
            "model": model_info(nlp),
            "setup_seconds": round(setup_seconds, 2),
            "setup_rss_mb": round(setup_rss, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )
    return result


def worker_argv(args: argparse.Namespace, phase: str, batch_size: int, profile: bool) -> List[str]:
    """The command line of a worker that runs one phase with these settings."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--_worker", f"{phase}:{batch_size}:{int(profile)}"]
    return argv + worker_options(args, WORKER_OPTIONS)


def run_isolated(args: argparse.Namespace, phase: str, batch_size: int, profile: bool = False) -> Dict[str, Any]:
    """One phase, in a subprocess of its own unless --in-process."""
    if args.in_process:
        return run_phase(args, phase, batch_size, profile)
    return run_worker(worker_argv(args, phase, batch_size, profile), f"{phase} at batch {batch_size}")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training tokens/s, inference words/s and peak memory of a shipped config's "
        "xfer_tagger (default configs/single.cfg: char GRU 25/80x2, word GRU 50/100x2, lexical features, CRF) on CPU.",
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG),
                        help="the config whose [components.target] and [training.optimizer] are timed "
                        "(default: configs/single.cfg)")
    parser.add_argument("--target", choices=["tag", "ents"], default="tag",
                        help="what the tagger learns: tags, or entities (--data a DocBin; synthetic: from the tags)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 256], help="sentences per batch (default: 1 32 256)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="untimed update steps first (default: 2; 5 at batch 1)")
    parser.add_argument("--vectors", default=None,
                        help="spaCy pipeline name or path whose vectors initialise the word embeddings")
    parser.add_argument("--gpu-id", type=int, default=None,
                        help="run on this CUDA GPU (thinc's require_gpu; default: the CPU)")
    parser.add_argument("--phases", nargs="*", choices=["infer", "evaluate", "train"], default=["infer", "train"],
                        help="what to measure (default: infer and train; evaluate: nlp.evaluate, prediction and "
                        "scoring; none with --profile: only the profile)")
    parser.add_argument("--profile", action="store_true",
                        help="also break down the time of inference and training (see --profile-batch-sizes)")
    parser.add_argument("--profile-batch-sizes", type=int, nargs=2, default=[256, 32], metavar=("INFER", "TRAIN"),
                        help="batch sizes of the profiled inference and training runs (default: 256 32)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of every phase (fresh processes); the fastest is reported (default: 1)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each timed run, wait up to this long for other processes to use < 0.1 "
                        "cores (for shared machines; default: 0, do not wait)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every phase in this process (peak memory is then cumulative)")
    add_shared_options(parser, threads=None, data_help="word<TAB>tag file, blank lines between sentences, or a "
                       "DocBin (.spacy, with --target ents) (default: synthetic)")
    return parse(parser, argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args._worker:
        phase, batch_size, profile = args._worker.split(":")
        result = run_phase(args, phase, int(batch_size), bool(int(profile)))
        result["hardware"] = hardware_info()
        emit(result)
        return
    started = time.perf_counter()
    data = describe_data(load_sentences(args.data, args.n_sentences, args.seed, ents=args.target == "ents"))
    results = []
    for batch_size in args.batch_sizes:
        for phase in args.phases:
            runs = [run_isolated(args, phase, batch_size) for _ in range(max(1, args.repeat))]
            result = max(runs, key=lambda r: r["rate"])
            if len(runs) > 1:
                result["runs"] = [{"rate": r["rate"], "bg_cpu": r.get("bg_cpu")} for r in runs]
            results.append(result)
            print(f"  {phase} batch {batch_size}: {result['rate']:,.0f} tok/s, peak {result['peak_rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    set_threads(args.threads)
    hardware = (results[0].get("hardware") if results else None) or hardware_info()
    print()
    print_context(hardware, data, args.data or f"synthetic (seed {args.seed})")
    if results:
        model = results[0]["model"]
        print(f"model: {model['parameters']:,} parameters, embedding tables {model['embedding_tables']}, "
              f"{model['labels']} labels; config: {args.config}; vectors: {args.vectors or 'none'}")
        print_rows(results, in_process=args.in_process, targets=TARGETS)
    profiles = []
    if args.profile:
        for phase, batch_size in zip(("infer", "train"), args.profile_batch_sizes):
            profiles.append(run_isolated(args, phase, batch_size, profile=True))
            print_profile(profiles[-1])
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    if args.json:
        for r in results + profiles:
            r.pop("hardware", None)
        with open(args.json, "w", encoding="utf8") as file:
            json.dump(
                {"hardware": hardware, "data": data, "config": {k: v for k, v in vars(args).items() if k != "_worker"},
                 "targets": {"infer_words_per_s_at_256": TARGETS["infer"][1], "train_tokens_per_s": TARGETS["train"][1]},
                 "results": results, "profiles": profiles},
                file, indent=2,
            )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
