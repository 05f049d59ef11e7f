"""Training machinery: the task-sampling reader, the task batcher and AdaGrad.

Importing this package registers all three, whichever entry point loads it first.
"""

from .labelling_rate import sample_rate
from .optimizer import Adagrad, create_adagrad_v1
from .task_batcher import batch_by_task, configure_batch_by_task_v1
from .task_sampler import TASK_KEY, TaskSampler, create_task_sampler_v1

__all__ = [
    "TASK_KEY",
    "Adagrad",
    "TaskSampler",
    "batch_by_task",
    "configure_batch_by_task_v1",
    "create_adagrad_v1",
    "create_task_sampler_v1",
    "sample_rate",
]
