"""Where the time of an inference or training phase goes, measured with `torch.profiler`.

The phase runs the pipeline through spaCy's public API with a `record_function` label on
each part (inference: a pipe's `predict` and `set_annotations`, as `nlp.pipe` calls them;
training: `nlp.update` without the step, then each pipe's `finish_update`, the
optimizer's step). Nothing in spaCy, thinc or the package is patched. The breakdown has
each label's own time (Python and glue outside torch ops: featurization, thinc, the
component's own code) and the torch ops that took the most time, by their own
(exclusive) CPU time. The profiler adds time per op, so the instrumented rate is lower
than the timed one.
"""

import time
from typing import Any, Dict, Iterator, List, Sequence

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import minibatch
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

from bench.machine import CpuMeter, wait_quiet
from bench.timing import WARMUP_SENTENCES, fresh_docs

TOP_OPS = 15  # torch ops listed by name; the rest are summed
LABELS = {
    "predict": "predict (outside torch ops)",
    "set_annotations": "set_annotations (outside torch ops)",
    "update": "nlp.update: forward, loss, backward (outside torch ops)",
    "optimizer step": "finish_update: optimizer step (outside torch ops)",
}


def infer_steps(nlp: Language, docs: Sequence[Doc], batch_size: int) -> None:
    """What `nlp.pipe` does per batch, each part under its label."""
    for batch in minibatch(docs, batch_size):
        for _, pipe in nlp.pipeline:
            with record_function("predict"):
                scores = pipe.predict(batch)
            with record_function("set_annotations"):
                pipe.set_annotations(batch, scores)


def train_steps(nlp: Language, stream: Iterator[List[Example]], optimizer: Any, steps: int) -> int:
    """`nlp.update` with the optimizer's step under a label of its own; RETURNS the tokens."""
    tokens = 0
    for _ in range(steps):
        batch = next(stream)
        tokens += sum(len(eg) for eg in batch)
        with record_function("update"):
            nlp.update(batch, sgd=False)  # spaCy: False skips finish_update
        with record_function("optimizer step"):
            for _, pipe in nlp.pipeline:
                if getattr(pipe, "is_trainable", False):
                    pipe.finish_update(optimizer)
    return tokens


def breakdown(events: Any, seconds: float) -> List[Dict[str, Any]]:
    """Rows of part, seconds, share (of the phase's wall time) and calls: the labels'
    own time, then the torch ops with the most own time, then the other ops."""
    own = {event.key: event for event in events}
    rows = [
        {"part": label, "seconds": own[key].self_cpu_time_total / 1e6, "calls": own[key].count}
        for key, label in LABELS.items()
        if key in own
    ]
    ops = sorted((e for e in events if e.key not in LABELS), key=lambda e: -e.self_cpu_time_total)
    rows += [{"part": f"torch {e.key}", "seconds": e.self_cpu_time_total / 1e6, "calls": e.count} for e in ops[:TOP_OPS]]
    rest = ops[TOP_OPS:]
    rows.append({"part": f"torch: {len(rest)} other ops", "seconds": sum(e.self_cpu_time_total for e in rest) / 1e6,
                 "calls": sum(e.count for e in rest)})
    for row in rows:
        row["share"] = round(row["seconds"] / seconds, 4) if seconds > 0 else 0.0
        row["seconds"] = round(row["seconds"], 4)
    return rows


def profile_inference(nlp: Language, docs: Sequence[Doc], batch_size: int, *, quiet_wait: float = 0.0) -> Dict[str, Any]:
    """The inference phase of `timing.time_inference`, profiled; RETURNS its result with
    a "breakdown" (see `breakdown`)."""
    infer_steps(nlp, fresh_docs(nlp, docs[:WARMUP_SENTENCES]), batch_size)  # warm-up, as time_inference
    docs = fresh_docs(nlp, docs)
    waited = wait_quiet(quiet_wait)
    meter = CpuMeter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        infer_steps(nlp, docs, batch_size)
        seconds = time.perf_counter() - start
    tokens = sum(len(doc) for doc in docs)
    return {
        "phase": "infer", "batch_size": batch_size, "tokens": tokens, "seconds": round(seconds, 3),
        "rate": round(tokens / seconds, 1), "bg_cpu": meter.background_cores(), "waited_s": waited,
        "breakdown": breakdown(prof.key_averages(), seconds),
    }


def profile_training(
    nlp: Language, stream: Iterator[List[Example]], optimizer: Any, *, steps: int, batch_size: int, quiet_wait: float = 0.0
) -> Dict[str, Any]:
    """The training phase of `timing.time_training` (two warm-up steps), profiled;
    RETURNS its result with a "breakdown" (see `breakdown`)."""
    train_steps(nlp, stream, optimizer, 2)
    waited = wait_quiet(quiet_wait)
    meter = CpuMeter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        tokens = train_steps(nlp, stream, optimizer, steps)
        seconds = time.perf_counter() - start
    return {
        "phase": "train", "batch_size": batch_size, "tokens": tokens, "seconds": round(seconds, 3),
        "rate": round(tokens / seconds, 1), "bg_cpu": meter.background_cores(), "waited_s": waited,
        "breakdown": breakdown(prof.key_averages(), seconds),
    }
