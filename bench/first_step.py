"""`spacy train --code bench/first_step.py`: the callback bench/startup.py puts in
`[training] before_update`. spaCy's training loop calls it before each update
(`spacy.training.loop.train_while_improving`); the first call writes the wall-clock time
(`time.time()`, seconds) to the file named by $BENCH_FIRST_STEP_FILE and ends the
process at once, so nothing after the first step (the update, evaluation, saving) is
timed. It imports nothing of ours, so that any checkout's `spacy train` can load it."""

import os
import time
from typing import Any, Callable, Dict

from spacy.language import Language
from spacy.util import registry

ENV = "BENCH_FIRST_STEP_FILE"


@registry.callbacks("bench.first_step.v1")
def create_first_step_stop() -> Callable[[Language, Dict[str, Any]], None]:
    def stop_at_first_step(nlp: Language, info: Dict[str, Any]) -> None:
        with open(os.environ[ENV], "w", encoding="utf8") as file:
            file.write(repr(time.time()))
        os._exit(0)

    return stop_at_first_step
