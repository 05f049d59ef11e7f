"""How long and how often to evaluate: the training schedule, sized to the target.

spaCy's loop counts steps; what converges is passes over the target's (labelled)
training data. `python -m spacy_xfer train` therefore sets `[training]
eval_frequency` and `patience` from the number of steps one pass over the target
takes, so that small targets are evaluated about once per pass and large targets get
several passes of patience.

An evaluation is not free: it runs the pipeline over the whole dev set. A small target
with a large dev set (15 labelled sentences against 1,800 dev sentences) evaluated
every pass would spend nearly all its time evaluating, and a run under a wall-time
budget would stop after few updates. So evaluations are never closer than
`MIN_EVAL_FREQUENCY` steps, nor closer than the steps that train on
`1 / DEV_TOKENS_PER_TRAINED_TOKEN` times the target's dev tokens, unless the config's
eval_frequency is smaller (measured on GENIA at rate 0.001, where rule 1 evaluated every
20 steps, one evaluation took as long as about 40 steps; at this rule's spacing
evaluation is about a third of the time). Only the target's dev set counts: a source
dev set scored beside it (`xfer.source_dev_rate` above 0) makes evaluations dearer than
the rule assumes.
"""

import math
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from spacy.tokens import DocBin

MIN_EVAL_FREQUENCY = 20
DEV_TOKENS_PER_TRAINED_TOKEN = 2
PATIENCE_PASSES = 5
# The version of the rule below (`schedule_overrides` and its constants). A grid run
# records it (`grid.run_settings`), so that a new rule makes the runs of the old one stale
# although no config changed: bump it with any change to the rule.
SCHEDULE_VERSION = 2


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


def docbin_size(path: Path) -> Tuple[int, int]:
    """(docs, tokens) of a `.spacy` DocBin, without making the Docs."""
    docbin = DocBin().from_disk(path)
    return len(docbin), sum(len(tokens) for tokens in docbin.tokens)


def schedule_overrides(config: Dict[str, Any], target_train: Path, rate: float, target_dev: Optional[Path] = None) -> Dict[str, Any]:
    """`[training]` eval_frequency and patience for a config (not interpolated) and
    its target's training DocBin (and dev DocBin, the set evaluated).

    eval_frequency: one pass, or more steps where the dev set is large: the steps whose
    batches (of the target's mean sentence length) hold 1 / DEV_TOKENS_PER_TRAINED_TOKEN
    of the dev set's tokens; at most the config's eval_frequency; at least
    MIN_EVAL_FREQUENCY. patience: at least the config's and at least PATIENCE_PASSES
    passes. Without `target_dev` the dev set does not count (rule 1).
    RETURNS (Dict[str, Any]): overrides for `training.eval_frequency` and `training.patience`.
    """
    n_sentences, n_tokens = docbin_size(target_train)
    weights = {key: float(value) for key, value in config["xfer"].items() if key.endswith("_weight")}
    share = weights.get("target_weight", 1.0) / sum(weights.values()) if weights else 1.0
    batch_size = int(config["training"]["batcher"]["size"])
    per_pass = steps_per_pass(n_sentences, rate, batch_size, share)
    training = config["training"]
    dev_cost = 0
    if target_dev is not None and n_sentences:
        batch_tokens = batch_size * max(1.0, n_tokens / n_sentences)
        dev_cost = math.ceil(docbin_size(target_dev)[1] / DEV_TOKENS_PER_TRAINED_TOKEN / batch_tokens)
    eval_frequency = max(MIN_EVAL_FREQUENCY, min(int(training["eval_frequency"]), max(per_pass, dev_cost)))
    patience = max(int(training["patience"]), PATIENCE_PASSES * per_pass)
    return {"training.eval_frequency": eval_frequency, "training.patience": patience}
