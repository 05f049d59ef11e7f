"""Training machinery: the task-sampling reader, the task batcher, the optimizers and
the wall-time budget.

Importing this package registers them all, whichever entry point loads it first.
"""

from .budget import TrainingBudgetSpent, create_wall_time_budget_v1
from .optimizer import Adagrad, TaskOptimizer, create_adagrad_v1, create_adam_v1, create_sgd_v1
from .task_batcher import batch_by_task, configure_batch_by_task_v1
from .task_sampler import TaskSampler, create_task_sampler_v1

__all__ = [
    "Adagrad",
    "TaskOptimizer",
    "TaskSampler",
    "TrainingBudgetSpent",
    "batch_by_task",
    "configure_batch_by_task_v1",
    "create_adagrad_v1",
    "create_adam_v1",
    "create_sgd_v1",
    "create_task_sampler_v1",
    "create_wall_time_budget_v1",
]
