"""How long and how often to evaluate: the training schedule, sized to the target.

spaCy's loop counts steps; what converges is passes over the target's (labelled)
training data. `python -m spacy_xfer train` therefore sets `[training]
eval_frequency` and `patience` from the number of steps one pass over the target
takes, so that targets are evaluated once per pass, but never more often than every
`MIN_EVAL_FREQUENCY` steps (a dev evaluation costs more than a few steps: a target
whose pass is shorter is evaluated every few passes), and large targets get several
passes of patience.
"""

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import srsly

from ..docbin import load_docbin
from ..errors import Errors
from ..training.task_sampler import read_task_settings

MIN_EVAL_FREQUENCY = 20
PATIENCE_PASSES = 5
# The version of the rule below (`schedule_overrides` and its constants). A grid run
# records it (`grid.run_settings`), so that a new rule makes the runs of the old one stale
# although no config changed: bump it with any change to the rule.
SCHEDULE_VERSION = 1
# `train` has spaCy's console logger also write each dev evaluation here, in its output
# folder, unless the config names a file or another logger
TRAIN_LOG = "train_log.jsonl"
CONSOLE_LOGGERS = ("spacy.ConsoleLogger.v1", "spacy.ConsoleLogger.v2")


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
    trains with: its target's training data (`[corpora.train.tasks.target] path`, a
    `.spacy` file or a folder of them), labelling rate (`rate`) and share of the steps
    (its `prob` over all tasks'), and `[training.batcher] size`.

    The config's own values are the bounds: eval_frequency at most the config's and at
    most one pass (but >= MIN_EVAL_FREQUENCY), patience at least the config's and at
    least PATIENCE_PASSES passes.
    RETURNS (Dict[str, Any]): overrides for `training.eval_frequency` and `training.patience`.
    RAISES (ValueError): E040 for task settings the task sampler refuses
        (`read_task_settings`), E038 for a target rate of 0 or a batch size that is not
        an integer >= 1.
    RAISES (FileNotFoundError): E041 for a task's corpus path that holds no `.spacy` file.
    """
    tasks = [read_task_settings(name, settings) for name, settings in config["corpora"]["train"]["tasks"].items()]
    target = next(task for task in tasks if task.name == "target")
    if target.rate == 0:  # a finite reader's way of leaving a task out; training needs the target
        raise ValueError(Errors.E038.format(setting="corpora.train.tasks.target.rate", value=0, expected="a number in (0, 1]"))
    size = config["training"]["batcher"]["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(Errors.E038.format(setting="training.batcher.size", value=size, expected="an integer >= 1"))
    n_sentences = sum(len(load_docbin(path)) for path in target.files)
    share = target.weight / sum(task.weight for task in tasks)
    per_pass = steps_per_pass(n_sentences, target.rate, size, share)
    training = config["training"]
    eval_frequency = max(MIN_EVAL_FREQUENCY, min(int(training["eval_frequency"]), per_pass))
    patience = max(int(training["patience"]), PATIENCE_PASSES * per_pass)
    return {"training.eval_frequency": eval_frequency, "training.patience": patience}


def logged_evaluations(log_path: Union[str, Path]) -> List[Tuple[int, float]]:
    """(step, main dev score) of every evaluation in a ConsoleLogger.v2 JSONL log
    (`TRAIN_LOG`)."""
    return [(entry["step"], entry["score"]) for entry in srsly.read_jsonl(log_path)]


def loop_stop(evaluations: List[Tuple[int, float]], training: Dict[str, Any]) -> Optional[str]:
    """Which of spaCy's stopping rules ended a training run, from its dev evaluations
    ((step, score) as the ConsoleLogger.v2 log has them) and its `[training]` settings
    (`eval_frequency`, `patience`, `max_steps`).

    spaCy's loop stops after the step at which `patience` steps have passed since the
    first best evaluation, or at `max_steps`; steps between evaluations are not logged,
    so a rule counts when its stopping step falls before the next evaluation would have
    come.
    RETURNS (Optional[str]): "patience", "max_steps", or None (neither: another stop,
        e.g. a wall-time budget or an interruption).
    """
    if not evaluations:
        return None
    next_eval = evaluations[-1][0] + training["eval_frequency"]
    if training["patience"] and first_best_step(evaluations) + training["patience"] < next_eval:
        return "patience"
    if training["max_steps"] and training["max_steps"] < next_eval:
        return "max_steps"
    return None


def first_best_step(evaluations: List[Tuple[int, float]]) -> int:
    """The step of the first best dev score: the one spaCy's patience counts from."""
    best_score = max(score for _, score in evaluations)
    return min(step for step, score in evaluations if score == best_score)


def model_best(evaluations: List[Tuple[int, float]]) -> Tuple[int, float]:
    """The (step, score) of the evaluation model-best holds: the last of the best, as
    spaCy's loop saves model-best again at an evaluation that equals the best score."""
    return max(evaluations, key=lambda evaluation: (evaluation[1], evaluation[0]))


def stop_summary(evaluations: List[Tuple[int, float]], training: Dict[str, Any], budget_spent: bool) -> str:
    """The line `train` ends with: what stopped training, and which dev evaluation
    model-best holds (spaCy's loop reports neither)."""
    if not evaluations:
        return "No dev evaluation was logged, so model-best is the pipeline as initialized."
    best_step, best_score = model_best(evaluations)
    last = evaluations[-1][0]
    rule = loop_stop(evaluations, training)
    held = f"model-best holds step {best_step}, dev score {best_score:.4f}"
    if budget_spent:  # `train` has said so: name the checkpoint
        return f"The last dev evaluation was at step {last}; {held}."
    if rule == "patience":
        return (
            f"Stopped by patience: no better dev score in the {training['patience']} steps after step "
            f"{first_best_step(evaluations)} (last evaluation at step {last}); {held}."
        )
    if rule == "max_steps":
        return f"Stopped at max_steps ({training['max_steps']}); {held}."
    return f"Stopped after the evaluation at step {last}; {held}."
