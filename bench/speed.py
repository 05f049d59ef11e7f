"""Speed and memory benchmark of the paper-size `xfer_tagger` (GRU-CRF) on CPU.

For each batch size (sentences per batch) it measures

- inference: words/s of `nlp.pipe(docs, batch_size=B)` over pre-tokenized Docs (the
  tokenizer is not timed), after a warm-up;
- training: tokens/s of `nlp.update(batch, sgd=optimizer)` with the optimizer returned
  by `nlp.initialize` (spaCy's default Adam; its step is included), after a warm-up;
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
batch 256) and one training phase (default batch 32) goes, by timing the package's
functions and the torch modules' forward and backward passes from the outside
(nothing in the package is changed on disk).

Data is synthetic by default (seeded; Zipfian vocabulary of ~10k word types, sentence
lengths 5-45 averaging ~24, 45 tags), or `--data PATH`, a `word<TAB>tag` file with
blank lines between sentences.

Examples:
    python bench/speed.py
    python bench/speed.py --quick
    python bench/speed.py --data ../shared/corpora/ptb_nltk_sample/wsj_0001-0199.pos.conll
    python bench/speed.py --batch-sizes 32 256 --threads 1 --json speed.json --profile
    python bench/speed.py --phases --profile --profile-batch-sizes 256 256   # profile only
"""

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

Sentence = Tuple[List[str], List[str]]

RESULT_MARKER = "@@SPEED_RESULT@@ "
TARGETS = {"infer": (256, 15000.0), "train": (None, 5000.0)}  # (batch size or any, rate)

# 45 Penn Treebank tags, for realistic-looking synthetic labels.
PTB_TAGS = (
    "NN IN NNP DT JJ NNS , . CD RB VBD VB CC TO VBZ VBN PRP VBG VBP MD POS PRP$ $ `` '' : "
    "WDT JJR NNPS RP WP WRB JJS RBR -RRB- -LRB- EX RBS PDT FW WP$ # UH SYM LS"
).split()
PUNCT = [",", ".", "``", "''", ":", "$", "-", "--", "%", "(", ")", ";", "'s", "n't", "&"]
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_FREQ = numpy.array(
    [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
     1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
)


# -- data ---------------------------------------------------------------------------


def synthetic_corpus(n_sentences: int, seed: int, n_types: int = 10000, n_tags: int = 45) -> List[Sentence]:
    """Seeded synthetic tagged sentences with a Zipf-Mandelbrot word distribution.

    Frequent words are short (the most frequent ones include punctuation), rare ones
    longer (about 2 + 1.5 * log10(rank) characters); ~12% of word types are
    capitalised and ~3% are numbers. Each type has a main tag (tags themselves are
    Zipfian) and a second one used 10% of the time. Lengths are normal(24, 10)
    clipped to 5..45.
    """
    rng = numpy.random.default_rng(seed)
    letter_p = LETTER_FREQ / LETTER_FREQ.sum()
    types: List[str] = []
    seen = set()
    punct_ranks = set(rng.choice(numpy.arange(30), size=len(PUNCT), replace=False).tolist())
    punct = iter(PUNCT)
    for rank in range(1, n_types + 1):
        if rank - 1 in punct_ranks:
            word = next(punct)
        else:
            while True:
                kind = rng.random()
                if kind < 0.03:
                    word = str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
                    if rng.random() < 0.3:
                        word += "." + str(int(rng.integers(0, 100)))
                else:
                    length = 1 + int(rng.poisson(max(0.5, 1.0 + 1.5 * math.log10(rank))))
                    word = "".join(rng.choice(list(LETTERS), size=length, p=letter_p))
                    if kind > 0.88:
                        word = word.capitalize()
                if word not in seen:
                    break
        seen.add(word)
        types.append(word)
    word_p = 1.0 / (numpy.arange(1, n_types + 1) + 2.7)
    word_p /= word_p.sum()
    tag_names = (PTB_TAGS * ((n_tags // len(PTB_TAGS)) + 1))[:n_tags]
    tag_names = [name if i < len(PTB_TAGS) else f"{name}{i}" for i, name in enumerate(tag_names)]
    tag_p = 1.0 / numpy.arange(1, n_tags + 1) ** 1.1
    tag_p /= tag_p.sum()
    main_tag = rng.choice(n_tags, size=n_types, p=tag_p)
    other_tag = rng.choice(n_tags, size=n_types, p=tag_p)
    lengths = numpy.clip(numpy.rint(rng.normal(24, 10, size=n_sentences)), 5, 45).astype(int)
    sentences: List[Sentence] = []
    for length in lengths:
        ids = rng.choice(n_types, size=length, p=word_p)
        swap = rng.random(length) < 0.1
        tags = numpy.where(swap, other_tag[ids], main_tag[ids])
        sentences.append(([types[i] for i in ids], [tag_names[t] for t in tags]))
    return sentences


def read_conll(path: str, limit: Optional[int]) -> List[Sentence]:
    """`word<TAB>tag` lines, blank lines between sentences (extra columns ignored)."""
    sentences: List[Sentence] = []
    words: List[str] = []
    tags: List[str] = []
    with open(path, encoding="utf8") as file:
        for line_no, raw in enumerate(file, 1):
            line = raw.rstrip("\n")
            if not line.strip():
                if words:
                    sentences.append((words, tags))
                    words, tags = [], []
                    if limit and len(sentences) >= limit:
                        return sentences
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                raise ValueError(f"{path}:{line_no}: expected word<TAB>tag, got {line!r}")
            words.append(parts[0])
            tags.append(parts[1])
    if words and not (limit and len(sentences) >= limit):
        sentences.append((words, tags))
    return sentences


def load_sentences(args: argparse.Namespace) -> List[Sentence]:
    if args.data:
        sentences = read_conll(args.data, args.n_sentences)
    else:
        sentences = synthetic_corpus(args.n_sentences or 2000, args.seed)
    if not sentences:
        raise SystemExit("no sentences")
    return sentences


def describe_data(sentences: Sequence[Sentence]) -> Dict[str, Any]:
    lengths = numpy.array([len(words) for words, _ in sentences])
    return {
        "sentences": len(sentences),
        "tokens": int(lengths.sum()),
        "mean_len": round(float(lengths.mean()), 1),
        "max_len": int(lengths.max()),
        "word_types": len({w for words, _ in sentences for w in words}),
        "tags": len({t for _, tags in sentences for t in tags}),
        "mean_chars_per_token": round(
            float(numpy.mean([len(w) for words, _ in sentences for w in words])), 2
        ),
    }


# -- machine ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_info() -> Dict[str, Any]:
    import spacy
    import thinc
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "mkl": bool(torch.backends.mkl.is_available()),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS


class CpuMeter:
    """CPU time of other processes during a span (Linux /proc/stat), in cores."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> Optional[Tuple[float, float, float]]:
        try:
            with open("/proc/stat", encoding="utf8") as file:
                fields = [int(x) for x in file.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), busy, usage.ru_utime + usage.ru_stime

    def background_cores(self) -> Optional[float]:
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall = end[0] - self.start[0]
        others = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return round(max(0.0, others / wall), 2)


def wait_quiet(max_wait: float, threshold: float = 0.1, window: float = 2.0) -> Optional[float]:
    """Wait (at most max_wait seconds) until the other processes use less than
    `threshold` cores over `window` seconds; RETURNS the seconds waited, None if the
    machine never became quiet (or max_wait is 0)."""
    if max_wait <= 0:
        return None
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        meter = CpuMeter()
        time.sleep(window)
        busy = meter.background_cores()
        if busy is None:
            return None
        if busy < threshold:
            return round(time.perf_counter() - start, 1)
    return None


# -- pipeline -----------------------------------------------------------------------


def set_threads(threads: Optional[int]) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


def build_pipeline(args: argparse.Namespace, sentences: Sequence[Sentence]):
    """A blank pipeline with a paper-size xfer_tagger, initialized on the sentences.
    RETURNS: (nlp, examples, optimizer)."""
    import spacy
    import spacy_xfer  # noqa: F401  (registers the factory)
    from spacy.tokens import Doc
    from spacy.training import Example

    if args.vectors:
        vectors_nlp = _load_vectors(args.vectors)
        nlp = spacy.blank(vectors_nlp.lang, vocab=vectors_nlp.vocab)
    else:
        nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", config={"target": "tag"})
    examples = [
        Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, tags=tags))
        for words, tags in sentences
    ]
    optimizer = nlp.initialize(lambda: examples)
    return nlp, examples, optimizer


def _load_vectors(name: str):
    import spacy

    nlp = spacy.load(name)
    if nlp.vocab.vectors.shape[0] == 0:
        raise SystemExit(f"--vectors {name}: the pipeline has no vectors")
    return nlp


def model_info(nlp) -> Dict[str, Any]:
    tagger = nlp.get_pipe("xfer_tagger")
    n_params = 0
    tables = {}
    for node in tagger.model.walk():
        for shim in node.shims:
            module = shim._model
            n_params += sum(p.numel() for p in module.parameters())
            if hasattr(module, "embed"):
                tables[type(module).__name__] = list(module.embed.weight.shape)
    return {"parameters": n_params, "embedding_tables": tables, "labels": len(tagger.labels)}


# -- phases -------------------------------------------------------------------------


def rates(tokens: Sequence[int], seconds: Sequence[float]) -> Tuple[float, float]:
    """(total tokens / total seconds, median of the per-batch rates)."""
    total = sum(seconds)
    per_batch = [n / s for n, s in zip(tokens, seconds) if s > 0]
    return (sum(tokens) / total if total > 0 else 0.0), (float(numpy.median(per_batch)) if per_batch else 0.0)


def infer_sentences(args: argparse.Namespace, batch_size: int, available: int) -> int:
    if args.infer_sentences:
        n = args.infer_sentences
    elif batch_size == 1:
        n = 20 if args.quick else 250
    else:
        n = available
    return max(batch_size, min(n, available))


def run_infer(args: argparse.Namespace, nlp, examples, batch_size: int) -> Dict[str, Any]:
    from spacy.tokens import Doc

    n = infer_sentences(args, batch_size, len(examples))
    docs = [Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples[:n]]
    warm = [Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples[: max(2 * batch_size, 8)]]
    for _ in nlp.pipe(warm, batch_size=batch_size):
        pass
    waited = wait_quiet(args.wait_quiet)
    meter = CpuMeter()
    batch_tokens: List[int] = []
    batch_seconds: List[float] = []
    start = last = time.perf_counter()
    # nlp.pipe runs a whole batch and then yields its docs: the time from the previous
    # batch's last doc to a batch's first doc is that batch's time.
    for i, _ in enumerate(nlp.pipe(docs, batch_size=batch_size)):
        if i % batch_size == 0:
            now = time.perf_counter()
            batch_seconds.append(now - last)
            batch_tokens.append(sum(len(d) for d in docs[i : i + batch_size]))
        last = time.perf_counter()
    seconds = time.perf_counter() - start
    words = sum(len(d) for d in docs)
    _, median_rate = rates(batch_tokens, batch_seconds)
    return {
        "phase": "infer",
        "batch_size": batch_size,
        "sentences": len(docs),
        "tokens": words,
        "steps": len(batch_seconds),
        "seconds": round(seconds, 3),
        "rate": round(words / seconds, 1),
        "median_batch_rate": round(median_rate, 1),
        "bg_cpu": meter.background_cores(),
        "waited_s": waited,
    }


def train_steps(args: argparse.Namespace, batch_size: int, mean_len: float) -> int:
    if args.train_steps:
        return args.train_steps
    if args.quick:
        return int(min(25, max(2, math.ceil(1500 / (batch_size * mean_len)))))
    return int(min(200, max(10, math.ceil(50000 / (batch_size * mean_len)))))


def run_train(args: argparse.Namespace, nlp, examples, optimizer, batch_size: int) -> Dict[str, Any]:
    rng = numpy.random.default_rng(args.seed + 1)
    mean_len = float(numpy.mean([len(eg) for eg in examples]))
    n_steps = train_steps(args, batch_size, mean_len)
    n_warmup = args.warmup_steps if args.warmup_steps is not None else (5 if batch_size == 1 else 2)
    order: List[int] = []

    def next_batch():
        nonlocal order
        if len(order) < batch_size:
            order = order + rng.permutation(len(examples)).tolist()
        batch, order = order[:batch_size], order[batch_size:]
        return [examples[i] for i in batch]

    losses: Dict[str, float] = {}
    for _ in range(n_warmup):
        nlp.update(next_batch(), sgd=optimizer, losses=losses)
    waited = wait_quiet(args.wait_quiet)
    meter = CpuMeter()
    batch_tokens: List[int] = []
    batch_seconds: List[float] = []
    losses = {}
    for _ in range(n_steps):
        batch = next_batch()
        start = time.perf_counter()
        nlp.update(batch, sgd=optimizer, losses=losses)
        batch_seconds.append(time.perf_counter() - start)
        batch_tokens.append(sum(len(eg) for eg in batch))
    total_rate, median_rate = rates(batch_tokens, batch_seconds)
    return {
        "phase": "train",
        "batch_size": batch_size,
        "sentences": n_steps * batch_size,
        "tokens": sum(batch_tokens),
        "steps": n_steps,
        "seconds": round(sum(batch_seconds), 3),
        "rate": round(total_rate, 1),
        "median_batch_rate": round(median_rate, 1),
        "bg_cpu": meter.background_cores(),
        "waited_s": waited,
        "loss_per_token": round(losses.get("xfer_tagger", 0.0) / max(1, sum(batch_tokens)), 4),
    }


def run_phase(args: argparse.Namespace, phase: str, batch_size: int, profile: bool = False) -> Dict[str, Any]:
    """Build everything, then run one phase; in a fresh process its peak RSS is its own."""
    set_threads(args.threads)
    sentences = load_sentences(args)
    start = time.perf_counter()
    nlp, examples, optimizer = build_pipeline(args, sentences)
    setup_seconds = time.perf_counter() - start
    setup_rss = peak_rss_mb()
    if phase == "infer":
        if profile:
            result = profile_infer(args, nlp, examples, batch_size, Profiler())
        else:
            result = run_infer(args, nlp, examples, batch_size)
    elif profile:
        result = profile_train(args, nlp, examples, optimizer, batch_size, Profiler())
    else:
        result = run_train(args, nlp, examples, optimizer, batch_size)
    result.update(
        {
            "model": model_info(nlp),
            "setup_seconds": round(setup_seconds, 2),
            "setup_rss_mb": round(setup_rss, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )
    return result


# -- profile ------------------------------------------------------------------------


class Profiler:
    """Exclusive wall time of named regions (a region's time minus its sub-regions')."""

    def __init__(self) -> None:
        self.exclusive: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)
        self.stack: List[List[Any]] = []  # [name, start, child time]
        self.active = False

    @contextmanager
    def region(self, name: str):
        if not self.active:
            yield
            return
        frame = [name, time.perf_counter(), 0.0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            elapsed = time.perf_counter() - frame[1]
            self.exclusive[name] += elapsed - frame[2]
            self.calls[name] += 1
            if self.stack:
                self.stack[-1][2] += elapsed

    def add(self, name: str, elapsed: float) -> None:
        """Time measured outside a region (inside the innermost open one)."""
        self.exclusive[name] += elapsed
        self.calls[name] += 1
        if self.stack:
            self.stack[-1][2] += elapsed

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        profiler = self

        def wrapped(*args, **kwargs):
            with profiler.region(name):
                return original(*args, **kwargs)

        wrapped.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attr, wrapped)

    def instrument(self, nlp) -> None:
        """Patch (in memory only) the functions whose time is reported."""
        import torch
        from spacy import language as spacy_language
        from thinc.shims.pytorch import PyTorchShim

        from spacy_xfer.models import featurize, pytorch_crf
        from spacy_xfer.models.layers import crf, flat, word_encoder
        from spacy_xfer.pipeline import xfer_tagger

        profiler = self
        label = {
            "CharGRUEncoder": "char encoder module",
            "WordGRUEncoder": "word encoder module",
            "EmissionProjection": "CRF emission projection",
            "LinearChainCRF": "CRF scores (identity)",
        }

        def module_name(shim) -> str:
            return label.get(type(shim._model).__name__, type(shim._model).__name__)

        original_predict = PyTorchShim.predict
        original_begin_update = PyTorchShim.begin_update
        original_finish_update = PyTorchShim.finish_update

        def predict(shim, inputs):
            with profiler.region(f"{module_name(shim)} forward"):
                return original_predict(shim, inputs)

        def begin_update(shim, inputs):
            name = module_name(shim)
            with profiler.region(f"{name} forward"):
                output, backprop = original_begin_update(shim, inputs)

            def timed_backprop(grads):
                with profiler.region(f"{name} backward"):
                    return backprop(grads)

            return output, timed_backprop

        def finish_update(shim, optimizer):
            with profiler.region(f"optimizer step ({module_name(shim)})"):
                return original_finish_update(shim, optimizer)

        # The GRUs themselves, inside the encoder modules: forward by wrapping
        # nn.GRU.forward, backward by gradient hooks on the GRU's output and input.
        gru_names = {}
        for node in nlp.get_pipe("xfer_tagger").model.walk():
            for shim in node.shims:
                gru = getattr(shim._model, "gru", None)
                if gru is not None:
                    gru_names[id(gru)] = "char" if type(shim._model).__name__ == "CharGRUEncoder" else "word"
        original_gru_forward = torch.nn.GRU.forward

        def gru_forward(gru, input, hx=None):
            name = f"{gru_names.get(id(gru), 'other')} GRU recurrence (nn.GRU)"
            with profiler.region(f"{name} forward"):
                output = original_gru_forward(gru, input, hx)
            data_in = input.data if hasattr(input, "batch_sizes") else input
            data_out = output[0].data if hasattr(output[0], "batch_sizes") else output[0]
            if profiler.active and data_out.requires_grad and data_in.requires_grad:
                started: List[float] = []

                def on_output_grad(grad):
                    if not started:
                        started.append(time.perf_counter())

                def on_input_grad(grad):
                    if started:
                        profiler.add(f"{name} backward", time.perf_counter() - started.pop())

                data_out.register_hook(on_output_grad)
                if isinstance(output[1], torch.Tensor) and output[1].requires_grad:
                    output[1].register_hook(on_output_grad)  # the char encoder reads the final states
                data_in.register_hook(on_input_grad)
            return output

        torch.nn.GRU.forward = gru_forward
        PyTorchShim.predict = predict
        PyTorchShim.begin_update = begin_update
        PyTorchShim.finish_update = finish_update

        self.wrap(featurize.CharFeaturizer, "__call__", "featurize chars (python)")
        self.wrap(featurize.WordFeaturizer, "__call__", "featurize words (python)")
        for module in (flat, word_encoder, crf):
            self.wrap(module, "to_flat_tensor", "thinc<->torch conversion")
            self.wrap(module, "from_flat_tensor", "thinc<->torch conversion")
        self.wrap(xfer_tagger, "crf_loss", "CRF loss (other)")
        self.wrap(xfer_tagger, "crf_decode", "Viterbi (other)")
        self.wrap(pytorch_crf.CRFScores, "loss", "CRF forward algorithm (forward)")
        self.wrap(pytorch_crf.CRFScores, "decode", "Viterbi decode")
        self.wrap(torch.autograd, "grad", "CRF forward algorithm (backward)")
        self.wrap(xfer_tagger.XferTagger, "_gold_ids", "gold label ids (python)")
        self.wrap(xfer_tagger.XferTagger, "set_annotations", "set_annotations (python)")
        self.wrap(spacy_language, "_copy_examples", "copy examples (spacy)")
        self.active = True

    def table(self, total: float) -> List[Dict[str, Any]]:
        rows = [
            {"part": name, "seconds": round(t, 4), "share": round(t / total, 4), "calls": self.calls[name]}
            for name, t in sorted(self.exclusive.items(), key=lambda item: -item[1])
        ]
        other = total - sum(self.exclusive.values())
        rows.append({"part": "other (spacy/thinc glue, untimed)", "seconds": round(other, 4),
                     "share": round(other / total, 4), "calls": 0})
        return rows


def profile_infer(args, nlp, examples, batch_size: int, profiler: Profiler) -> Dict[str, Any]:
    from spacy.tokens import Doc

    n = infer_sentences(args, batch_size, len(examples))
    docs = [Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples[:n]]
    for _ in nlp.pipe(docs[: 2 * batch_size], batch_size=batch_size):
        pass
    profiler.instrument(nlp)
    waited = wait_quiet(args.wait_quiet)
    meter = CpuMeter()
    start = time.perf_counter()
    for _ in nlp.pipe(docs, batch_size=batch_size):
        pass
    seconds = time.perf_counter() - start
    words = sum(len(d) for d in docs)
    return {
        "phase": "infer", "batch_size": batch_size, "tokens": words, "seconds": round(seconds, 3),
        "rate": round(words / seconds, 1), "bg_cpu": meter.background_cores(), "waited_s": waited,
        "breakdown": profiler.table(seconds),
    }


def profile_train(args, nlp, examples, optimizer, batch_size: int, profiler: Profiler) -> Dict[str, Any]:
    rng = numpy.random.default_rng(args.seed + 2)
    mean_len = float(numpy.mean([len(eg) for eg in examples]))
    n_steps = train_steps(args, batch_size, mean_len)
    batches = [
        [examples[i] for i in rng.choice(len(examples), size=min(batch_size, len(examples)), replace=False)]
        for _ in range(n_steps + 2)
    ]
    for batch in batches[:2]:
        nlp.update(batch, sgd=optimizer)
    profiler.instrument(nlp)
    waited = wait_quiet(args.wait_quiet)
    meter = CpuMeter()
    start = time.perf_counter()
    for batch in batches[2:]:
        nlp.update(batch, sgd=optimizer)
    seconds = time.perf_counter() - start
    tokens = sum(len(eg) for batch in batches[2:] for eg in batch)
    return {
        "phase": "train", "batch_size": batch_size, "tokens": tokens, "seconds": round(seconds, 3),
        "rate": round(tokens / seconds, 1), "bg_cpu": meter.background_cores(), "waited_s": waited,
        "breakdown": profiler.table(seconds),
    }


# -- driver -------------------------------------------------------------------------


def worker_argv(args: argparse.Namespace, phase: str, batch_size: int, profile: bool) -> List[str]:
    argv = [sys.executable, os.path.abspath(__file__), "--_worker", f"{phase}:{batch_size}:{int(profile)}"]
    for name in ("data", "n_sentences", "train_steps", "warmup_steps", "threads", "vectors", "seed", "infer_sentences",
                 "wait_quiet"):
        value = getattr(args, name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    if args.quick:
        argv.append("--quick")
    return argv


def run_isolated(args: argparse.Namespace, phase: str, batch_size: int, profile: bool = False) -> Dict[str, Any]:
    if args.in_process:
        return run_phase(args, phase, batch_size, profile)
    proc = subprocess.run(worker_argv(args, phase, batch_size, profile), check=False, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise SystemExit(f"{phase} at batch {batch_size} failed (exit code {proc.returncode}):\n{proc.stdout}")


def print_table(hardware: Dict[str, Any], data: Dict[str, Any], results: List[Dict[str, Any]], args) -> None:
    print(
        f"hardware: {hardware['cpu']} | {hardware['cores']} cores ({hardware['usable_cores']} usable) | "
        f"torch threads {hardware['torch_threads']} | torch {hardware['torch']}, spacy {hardware['spacy']}, "
        f"thinc {hardware['thinc']}, numpy {hardware['numpy']}, python {hardware['python']} | "
        f"mkldnn {hardware['mkldnn']}"
    )
    print(
        f"data: {args.data or f'synthetic (seed {args.seed})'} | {data['sentences']} sentences, "
        f"{data['tokens']} tokens, mean length {data['mean_len']}, max {data['max_len']}, "
        f"{data['word_types']} word types, {data['tags']} tags, {data['mean_chars_per_token']} chars/token"
    )
    if results and "model" in results[0]:
        model = results[0]["model"]
        print(f"model: {model['parameters']:,} parameters, embedding tables {model['embedding_tables']}, "
              f"{model['labels']} labels; vectors: {args.vectors or 'none'}")
    header = (f"{'phase':<6} {'batch':>5} {'sents':>6} {'tokens':>7} {'steps':>5} {'seconds':>8} "
              f"{'tok/s':>8} {'median':>8} {'setupMB':>8} {'peakMB':>7} {'bg cpu':>6}  target")
    print(header)
    print("-" * len(header))
    for r in results:
        target_batch, target_rate = TARGETS[r["phase"]]
        target = ""
        if target_batch in (None, r["batch_size"]):
            target = f">= {target_rate:,.0f}: {'PASS' if r['rate'] >= target_rate else 'FAIL'}"
        bg = "" if r.get("bg_cpu") is None else f"{r['bg_cpu']:.2f}"
        print(
            f"{r['phase']:<6} {r['batch_size']:>5} {r['sentences']:>6} {r['tokens']:>7} {r['steps']:>5} "
            f"{r['seconds']:>8.2f} {r['rate']:>8,.0f} {r['median_batch_rate']:>8,.0f} "
            f"{r['setup_rss_mb']:>8.0f} {r['peak_rss_mb']:>7.0f} {bg:>6}  {target}"
        )
    print("tok/s = total tokens / total time (words/s for infer); median = median of per-batch rates;")
    print("setupMB / peakMB = ru_maxrss after setup / at the end of the phase"
          + (" (one process per phase)" if not args.in_process else " (one process: cumulative)")
          + "; bg cpu = other processes' CPU use during the phase, in cores.")
    if any((r.get("bg_cpu") or 0) > 0.3 for r in results):
        print("WARNING: other processes used CPU during some phases (bg cpu > 0.3): those rates are low.")


PROFILE_LEGEND = """\
  (exclusive times. "GRU recurrence" = nn.GRU itself; "encoder module" = the rest of that torch module:
   embedding lookup, padding/packing, index_select; "CRF forward algorithm" = CRFScores.loss
   (log-partition and gold score) and loss.backward(); "optimizer step" = PyTorchShim.finish_update
   with the thinc optimizer; "thinc<->torch conversion" = flat_to_torch/torch_to_docs/ids_to_torch.)"""


def print_profile(result: Dict[str, Any]) -> None:
    print(
        f"\nprofile: {result['phase']} at batch {result['batch_size']}: {result['tokens']} tokens in "
        f"{result['seconds']:.2f}s = {result['rate']:,.0f} tok/s (instrumented; bg cpu {result['bg_cpu']})"
    )
    for row in result["breakdown"]:
        print(f"  {row['part']:<44} {row['seconds']:>8.3f}s {100 * row['share']:>6.1f}%  {row['calls']:>6} calls")
    if result["phase"] == "train":
        print(PROFILE_LEGEND)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training tokens/s, inference words/s and peak memory of the paper-size "
        "xfer_tagger (char GRU 25/80x2, word GRU 50/300x2, CRF) on CPU.",
    )
    parser.add_argument("--data", help="word<TAB>tag file, blank lines between sentences (default: synthetic)")
    parser.add_argument("--n-sentences", type=int, default=None,
                        help="sentences to generate or read (default: 2000 synthetic, all of --data); "
                        "used to initialize, train on and run inference over")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 256], help="sentences per batch (default: 1 32 256)")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="timed update steps per batch size (default: ~50k tokens' worth, 10..200 steps; --quick: 2..25)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="untimed update steps first (default: 2; 5 at batch 1)")
    parser.add_argument("--infer-sentences", type=int, default=None,
                        help="sentences per inference run (default: all; 250 at batch 1)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--vectors", default=None,
                        help="spaCy pipeline name or path whose vectors initialise the word embeddings")
    parser.add_argument("--phases", nargs="*", choices=["infer", "train"], default=["infer", "train"],
                        help="what to measure (default: both; none with --profile: only the profile)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and batches (default: 0)")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run (< 1 minute)")
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
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick and args.n_sentences is None:
        args.n_sentences = 300
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args._worker:
        phase, batch_size, profile = args._worker.split(":")
        result = run_phase(args, phase, int(batch_size), bool(int(profile)))
        set_threads(args.threads)
        result["hardware"] = hardware_info()
        print(RESULT_MARKER + json.dumps(result), flush=True)
        return
    started = time.perf_counter()
    sentences = load_sentences(args)
    data = describe_data(sentences)
    del sentences
    results = []
    for batch_size in args.batch_sizes:
        for phase in args.phases:
            runs = [run_isolated(args, phase, batch_size) for _ in range(max(1, args.repeat))]
            result = max(runs, key=lambda r: r["rate"])
            if len(runs) > 1:
                result["runs"] = [{"rate": r["rate"], "bg_cpu": r.get("bg_cpu")} for r in runs]
            results.append(result)
            print(
                f"  {phase} batch {batch_size}: {result['rate']:,.0f} tok/s, peak {result['peak_rss_mb']:.0f} MB",
                file=sys.stderr, flush=True,
            )
    set_threads(args.threads)
    hardware = results[0].get("hardware") if results else None
    hardware = hardware or hardware_info()
    print()
    print_table(hardware, data, results, args)
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
