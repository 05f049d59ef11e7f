"""A wall-time budget for spaCy's training loop, which has none of its own.

`spacy_xfer.wall_time_budget.v1` is a `[training] before_update` callback: once the
budget is spent it raises `TrainingBudgetSpent` before the next update. spaCy's loop
then saves `model-last` and re-raises; `model-best` is already on disk, the best dev
checkpoint seen, so nothing is lost. `python -m spacy_xfer train --max-seconds N`
sets the callback and turns the exception into a one-line report; under plain
`spacy train` it ends the run with the exception's message.
"""

import time
from typing import Any, Callable, Dict, Optional

from spacy.language import Language
from spacy.util import registry

from ..errors import Errors


class TrainingBudgetSpent(Exception):
    """Raised before an update once the wall-time budget is spent."""

    def __init__(self, seconds: float, step: int, eval_frequency: int) -> None:
        if step <= eval_frequency:
            saved = (
                f"only the evaluation after the first update ran (the next was due at step "
                f"{eval_frequency}), so model-best is barely trained: give a budget of several "
                "evaluations (the dev evaluations count against it)"
            )
        else:
            saved = "model-best holds the best dev checkpoint"
        super().__init__(f"Wall-time budget of {seconds:g} s spent at step {step}: training stopped; {saved}")
        self.seconds = seconds
        self.step = step


@registry.callbacks("spacy_xfer.wall_time_budget.v1")
def create_wall_time_budget_v1(seconds: float) -> Callable[[Language, Dict[str, Any]], None]:
    """Stop training once `seconds` of wall time have passed since the first update:
    the updates and the dev evaluations between them count, initialization and the
    corpus reading before it do not.

    seconds (float): The budget, > 0.
    RETURNS (Callable[[Language, Dict[str, Any]], None]): A `before_update` callback
        that raises `TrainingBudgetSpent` when the budget is spent.
    """
    if seconds <= 0:
        raise ValueError(Errors.E038.format(setting="wall-time budget", value=seconds, expected="seconds > 0"))
    start: Optional[float] = None

    def before_update(nlp: Language, info: Dict[str, Any]) -> None:
        nonlocal start
        now = time.monotonic()
        if start is None:
            start = now
        elif now - start >= seconds:
            raise TrainingBudgetSpent(seconds, info["step"], nlp.config["training"]["eval_frequency"])

    return before_update
