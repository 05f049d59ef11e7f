"""How long and how often to evaluate: the training schedule, sized to the target.

spaCy's loop counts steps; what converges is passes over the target's (labelled)
training data. `python -m spacy_xfer train` therefore sets `[training]
eval_frequency` and `patience` from the number of steps one pass over the target
takes, so that small targets are evaluated at least once per pass (never more often
than every `MIN_EVAL_FREQUENCY` steps, as a dev evaluation costs more than a few steps)
and large targets get several passes of patience.
"""

import math
from typing import Any, Dict

from spacy.tokens import DocBin

from ..errors import Errors

MIN_EVAL_FREQUENCY = 20
PATIENCE_PASSES = 5
# The version of the rule below (`schedule_overrides` and its constants). A grid run
# records it (`grid.run_settings`), so that a new rule makes the runs of the old one stale
# although no config changed: bump it with any change to the rule.
SCHEDULE_VERSION = 1


def steps_per_pass(n_sentences: int, rate: float, batch_size: int, target_share: float) -> int:
    """Steps of task-sampled training that draw the target's labelled sentences once.

    n_sentences (int): sentences in the target's training file.
    rate (float): the labelling rate (the kept share, at least one sentence).
    batch_size (int): sentences per batch.
    target_share (float): the probability that a step draws the target, in (0, 1].
    RETURNS (int): steps, >= 1.
    """
    kept = max(1, round(rate * n_sentences))
    return max(1, math.ceil(kept / batch_size / target_share))


def schedule_overrides(config: Dict[str, Any]) -> Dict[str, Any]:
    """`[training]` eval_frequency and patience for the (interpolated) config a run
    trains with: its target's training DocBin (`[corpora.train.tasks.target] path`),
    labelling rate (`rate`) and share of the steps (its `prob` over all tasks'), and
    `[training.batcher] size`.

    The config's own values are the bounds: eval_frequency at most the config's and at
    most one pass (but >= MIN_EVAL_FREQUENCY), patience at least the config's and at
    least PATIENCE_PASSES passes.
    RETURNS (Dict[str, Any]): overrides for `training.eval_frequency` and `training.patience`.
    RAISES (ValueError): E098 if the rate is not in (0, 1], a task's prob is not a number
        >= 0 (the target's > 0) or the batch size is not an integer >= 1.
    """
    tasks = config["corpora"]["train"]["tasks"]
    probs = {
        name: _number(task.get("prob", 1.0), f"corpora.train.tasks.{name}.prob", "a number >= 0", minimum=0.0)
        for name, task in tasks.items()
    }
    target = tasks["target"]
    share = _number(probs["target"], "corpora.train.tasks.target.prob", "a number > 0", minimum=0.0, strict=True)
    rate = _number(target.get("rate", 1.0), "corpora.train.tasks.target.rate (xfer.rate)", "a number in (0, 1]",
                   minimum=0.0, strict=True)
    if rate > 1:
        raise ValueError(Errors.E098.format(setting="corpora.train.tasks.target.rate (xfer.rate)", value=rate,
                                            expected="a number in (0, 1]"))
    size = config["training"]["batcher"]["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(Errors.E098.format(setting="training.batcher.size", value=size, expected="an integer >= 1"))
    n_sentences = len(DocBin().from_disk(target["path"]))
    per_pass = steps_per_pass(n_sentences, rate, size, share / sum(probs.values()))
    training = config["training"]
    eval_frequency = max(MIN_EVAL_FREQUENCY, min(int(training["eval_frequency"]), per_pass))
    patience = max(int(training["patience"]), PATIENCE_PASSES * per_pass)
    return {"training.eval_frequency": eval_frequency, "training.patience": patience}


def _number(value: Any, setting: str, expected: str, *, minimum: float, strict: bool = False) -> float:
    """`value` as a float, at least `minimum` (above it if `strict`).

    RAISES (ValueError): E098 naming `setting` and `expected` otherwise.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value > minimum or (value == minimum and not strict):
            return float(value)
    raise ValueError(Errors.E098.format(setting=setting, value=value, expected=expected))
