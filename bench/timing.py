"""Timing a spaCy pipeline: words/s of `nlp.pipe` and tokens/s of `nlp.update` with a
given optimizer, the same way for our pipeline and its peers (bench/peers.py).

Every phase warms up first (untimed), can wait for a quiet machine, and reports the
other processes' CPU use during the timed part (`bg_cpu`, cores).
"""

import math
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from bench.machine import CpuMeter, wait_quiet


def fresh_docs(nlp: Language, docs: Sequence[Doc]) -> List[Doc]:
    """Unannotated copies of docs (their words only): the input of inference, so that
    the tokenizer is not timed and no doc is annotated twice."""
    return [Doc(nlp.vocab, words=[token.text for token in doc]) for doc in docs]


def batches(examples: Sequence[Example], batch_size: int, seed: int) -> Iterator[List[Example]]:
    """An endless stream of batches: the examples in seeded random order, again and again."""
    rng = numpy.random.default_rng(seed)
    order: List[int] = []
    while True:
        if len(order) < batch_size:
            order = order + rng.permutation(len(examples)).tolist()
        batch, order = order[:batch_size], order[batch_size:]
        yield [examples[i] for i in batch]


def rates(tokens: Sequence[int], seconds: Sequence[float]) -> Dict[str, float]:
    """"rate" (total tokens / total seconds) and "median_batch_rate" (the median of the
    per-batch rates), tokens per second."""
    total = sum(seconds)
    per_batch = [n / s for n, s in zip(tokens, seconds) if s > 0]
    return {
        "rate": round(sum(tokens) / total, 1) if total > 0 else 0.0,
        "median_batch_rate": round(float(numpy.median(per_batch)), 1) if per_batch else 0.0,
    }


def synchronize() -> None:
    """Wait for the GPU's queued work, so that a timed training step is its own (the
    optimizer's step is never read back); nothing on CPU. Inference needs none: its
    annotations are read back to the host."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


WARMUP_SENTENCES = 8  # docs run before an inference run is timed


def time_inference(nlp: Language, docs: Sequence[Doc], batch_size: int, *, quiet_wait: float = 0.0) -> Dict[str, Any]:
    """Words/s of `nlp.pipe(docs, batch_size=batch_size)` after a warm-up over the first
    `WARMUP_SENTENCES` docs, whatever the batch size: few enough that a system with a
    cache of what it has seen (ours keeps the char vectors of known words) is timed as a
    run over new text starts, not on sentences it has just run.

    docs (Sequence[Doc]): Pre-tokenized input (see `fresh_docs`).
    quiet_wait (float): Wait up to this many seconds for a quiet machine first.
    RETURNS (Dict[str, Any]): phase, batch_size, sentences, tokens, steps (batches),
        seconds, rate, median_batch_rate, bg_cpu, waited_s.
    """
    for _ in nlp.pipe(fresh_docs(nlp, docs[:WARMUP_SENTENCES]), batch_size=batch_size):
        pass
    docs = fresh_docs(nlp, docs)
    waited = wait_quiet(quiet_wait)
    meter = CpuMeter()
    batch_tokens: List[int] = []
    batch_seconds: List[float] = []
    start = last = time.perf_counter()
    # nlp.pipe runs a whole batch and then yields its docs: the time from the previous
    # batch's last doc to a batch's first doc is that batch's time.
    for i, _ in enumerate(nlp.pipe(docs, batch_size=batch_size)):
        if i % batch_size == 0:
            batch_seconds.append(time.perf_counter() - last)
            batch_tokens.append(sum(len(doc) for doc in docs[i : i + batch_size]))
        last = time.perf_counter()
    seconds = time.perf_counter() - start
    words = sum(len(doc) for doc in docs)
    return {
        "phase": "infer", "batch_size": batch_size, "sentences": len(docs), "tokens": words,
        "steps": len(batch_seconds), "seconds": round(seconds, 3),
        **rates(batch_tokens, batch_seconds), "rate": round(words / seconds, 1),
        "bg_cpu": meter.background_cores(), "waited_s": waited,
    }


def time_evaluation(nlp: Language, examples: Sequence[Example], batch_size: int, *, quiet_wait: float = 0.0) -> Dict[str, Any]:
    """Words/s of `nlp.evaluate(examples, batch_size=batch_size)`: prediction and the
    pipeline's scorers, what a training run pays at each evaluation on dev (spaCy's
    `evaluate` also tokenizes each reference's text once, to time its tokenizer).
    Warms up on the first `WARMUP_SENTENCES` examples.

    RETURNS (Dict[str, Any]): as `time_inference`'s (one step: the whole call), and
        `pipe_speed`, the `speed` `nlp.evaluate` reports (words/s of its pipe and of
        tokenizing the references' texts, without the scorers).
    """
    nlp.evaluate(examples[:WARMUP_SENTENCES], batch_size=batch_size)
    waited = wait_quiet(quiet_wait)
    meter = CpuMeter()
    start = time.perf_counter()
    scores = nlp.evaluate(examples, batch_size=batch_size)
    seconds = time.perf_counter() - start
    words = sum(len(eg.reference) for eg in examples)
    return {
        "phase": "evaluate", "batch_size": batch_size, "sentences": len(examples), "tokens": words,
        "steps": 1, "seconds": round(seconds, 3), **rates([words], [seconds]),
        "pipe_speed": round(float(scores["speed"]), 1), "bg_cpu": meter.background_cores(), "waited_s": waited,
    }


def time_training(
    nlp: Language,
    stream: Iterator[List[Example]],
    optimizer: Any,
    *,
    steps: int,
    warmup_steps: int,
    component: str,
    quiet_wait: float = 0.0,
) -> Dict[str, Any]:
    """Tokens/s of `nlp.update(batch, sgd=optimizer)`, the optimizer's step included,
    after `warmup_steps` untimed updates.

    stream (Iterator[List[Example]]): The batches (see `batches`).
    optimizer (Any): The optimizer training uses (the config's `[training.optimizer]`).
    component (str): The component whose loss is reported per token.
    RETURNS (Dict[str, Any]): as `time_inference`'s, and loss_per_token.
    """
    losses: Dict[str, float] = {}
    for _ in range(warmup_steps):
        nlp.update(next(stream), sgd=optimizer, losses=losses)
    waited = wait_quiet(quiet_wait)
    meter = CpuMeter()
    batch_tokens: List[int] = []
    batch_seconds: List[float] = []
    losses = {}
    for _ in range(steps):
        batch = next(stream)
        start = time.perf_counter()
        nlp.update(batch, sgd=optimizer, losses=losses)
        synchronize()
        batch_seconds.append(time.perf_counter() - start)
        batch_tokens.append(sum(len(eg) for eg in batch))
    tokens = sum(batch_tokens)
    return {
        "phase": "train", "batch_size": len(batch), "sentences": steps * len(batch), "tokens": tokens,
        "steps": steps, "seconds": round(sum(batch_seconds), 3), **rates(batch_tokens, batch_seconds),
        "bg_cpu": meter.background_cores(), "waited_s": waited,
        "loss_per_token": round(float(losses.get(component, 0.0)) / max(1, tokens), 4),
    }


def infer_count(batch_size: int, available: int, *, explicit: Optional[int] = None, quick: bool = False) -> int:
    """Sentences of an inference run: `explicit`, else all (250 at batch 1; 20 if quick),
    at least one batch and at most what is available."""
    if explicit:
        n = explicit
    elif batch_size == 1:
        n = 20 if quick else 250
    else:
        n = available
    return max(batch_size, min(n, available))


def train_step_count(batch_size: int, mean_len: float, *, explicit: Optional[int] = None, quick: bool = False) -> int:
    """Timed steps of a training run: `explicit`, else ~50k tokens' worth (10..200 steps;
    quick: ~1.5k tokens, 2..25 steps)."""
    if explicit:
        return explicit
    if quick:
        return int(min(25, max(2, math.ceil(1500 / (batch_size * mean_len)))))
    return int(min(200, max(10, math.ceil(50000 / (batch_size * mean_len)))))


def measure_phase(
    nlp: Language,
    examples: Sequence[Example],
    optimizer: Any,
    phase: str,
    batch_size: int,
    *,
    component: str,
    seed: int,
    infer_sentences: Optional[int] = None,
    steps: Optional[int] = None,
    warmup_steps: Optional[int] = None,
    quick: bool = False,
    quiet_wait: float = 0.0,
) -> Dict[str, Any]:
    """`time_inference` ("infer"), `time_evaluation` ("evaluate") or `time_training`
    ("train") of a pipeline over the examples, with the run sizes of `infer_count` (for
    both) and `train_step_count` (warm-up: 2 steps, 5 at batch 1)."""
    if phase in ("infer", "evaluate"):
        n = infer_count(batch_size, len(examples), explicit=infer_sentences, quick=quick)
        if phase == "evaluate":
            return time_evaluation(nlp, examples[:n], batch_size, quiet_wait=quiet_wait)
        return time_inference(nlp, [eg.reference for eg in examples[:n]], batch_size, quiet_wait=quiet_wait)
    mean_len = sum(len(eg) for eg in examples) / len(examples)
    return time_training(
        nlp,
        batches(examples, batch_size, seed),
        optimizer,
        steps=train_step_count(batch_size, mean_len, explicit=steps, quick=quick),
        warmup_steps=warmup_steps if warmup_steps is not None else (5 if batch_size == 1 else 2),
        component=component,
        quiet_wait=quiet_wait,
    )
