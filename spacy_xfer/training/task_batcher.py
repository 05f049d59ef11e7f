"""Batch a task-tagged stream without mixing tasks: one task per update (paper section 3.3).

spaCy's built-in batchers group by size or by words and would put the last sentences of
one task's batch and the first of the next into one update.
"""

from functools import partial
from typing import Callable, Iterable, Iterator, List, Optional

from spacy.training import Example
from spacy.util import registry

from ..errors import Errors
from ..tasks import TASK_KEY

TaskBatcher = Callable[[Iterable[Example]], Iterator[List[Example]]]


@registry.batchers("spacy_xfer.batch_by_task.v1")
def configure_batch_by_task_v1(size: int = 10) -> TaskBatcher:
    """Create a batcher that cuts a stream of Examples into single-task batches.

    Use it with `spacy_xfer.TaskSampler.v1` and the same size as its `batch_size`, so that
    each batch is exactly one draw of the sampler.

    size (int): The most Examples per batch.
    RETURNS (Callable[[Iterable[Example]], Iterator[List[Example]]]): The batcher.
    """
    if size < 1:
        raise ValueError(Errors.E038.format(setting="batch size", value=size, expected="an integer >= 1"))
    return partial(batch_by_task, size=size)


def batch_by_task(examples: Iterable[Example], size: int) -> Iterator[List[Example]]:
    """Group consecutive Examples of one task into batches of at most `size`, lazily.

    A batch is cut when it is full or when the task changes, so no batch mixes tasks.

    examples (Iterable[Example]): Examples with the task in `reference.user_data[TASK_KEY]`.
    size (int): The most Examples per batch.
    YIELDS (List[Example]): The batches, in stream order.
    """
    batch: List[Example] = []
    batch_task: Optional[str] = None
    for eg in examples:
        task = eg.reference.user_data.get(TASK_KEY)
        if task is None:
            raise ValueError(Errors.E042.format(key=TASK_KEY))
        if batch and task != batch_task:
            yield batch
            batch = []
        batch.append(eg)
        batch_task = task
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
