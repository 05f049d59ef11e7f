"""Optimizers for task-sampled training: AdaGrad, the paper's optimiser (section 3.3,
initial learning rate 0.01), and Thinc's Adam and SGD.

All three leave a parameter whose gradient is all zero alone (no step, no momentum, no
weight decay, no change to its statistics): with one task per batch, the heads of the
other tasks get zero gradients, and must not drift. Thinc's own Adam would keep moving
them with its momentum.

The update follows Lasagne's `adagrad`, which the authors' code used:
`acc += g ** 2; param -= lr * g / sqrt(acc + eps)` with `eps = 1e-6` inside the square
root (Duchi et al. and PyTorch add eps outside it; the two differ for gradients below
about sqrt(eps) in size). Parameters are updated in place, so torch parameters stepped
through Thinc's `PyTorchShim.finish_update`, which passes array views of the torch
tensors, move as well.
"""

from typing import Dict, Tuple

from spacy.util import registry
from thinc.api import Optimizer, get_array_module
from thinc.backends import get_array_ops
from thinc.optimizers import FloatOrSeq, KeyT
from thinc.types import FloatsXd


@registry.optimizers("spacy_xfer.Adagrad.v1")
def create_adagrad_v1(
    learn_rate: FloatOrSeq = 0.01,
    *,
    eps: float = 1e-6,
    initial_accumulator: float = 0.0,
    grad_clip: float = 0.0,
    L2: float = 0.0,
    L2_is_weight_decay: bool = False,
    use_averages: bool = False,
) -> "Adagrad":
    """Create an AdaGrad optimizer.

    learn_rate (FloatOrSeq): The learning rate, or a schedule of them.
    eps (float): Added to the accumulator inside the square root, as in Lasagne.
    initial_accumulator (float): The accumulator of a parameter not seen before.
    grad_clip (float): Rescale a parameter's gradient to at most this L2 norm; 0: off.
    L2 (float): L2 regularisation strength; 0: off.
    L2_is_weight_decay (bool): Apply L2 as decoupled weight decay (AdamW style) instead
        of adding `L2 * param` to the gradient before the AdaGrad step.
    use_averages (bool): Track moving averages of the parameters, as Thinc's optimizers do.
    RETURNS (Adagrad): The optimizer.
    """
    return Adagrad(
        learn_rate,
        eps=eps,
        initial_accumulator=initial_accumulator,
        grad_clip=grad_clip,
        L2=L2,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
    )


def untouched(gradient: FloatsXd) -> bool:
    """Whether a parameter got no gradient at all this step."""
    return gradient.size == 0 or not get_array_module(gradient).any(gradient)


@registry.optimizers("spacy_xfer.Adam.v1")
def create_adam_v1(
    learn_rate: FloatOrSeq = 0.001,
    *,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    grad_clip: float = 5.0,
    L2: float = 0.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = False,
) -> "TaskOptimizer":
    """Thinc's Adam (Kingma & Ba 2015), leaving parameters without gradient alone.

    The arguments are those of Thinc's `Adam.v1`; `grad_clip` bounds each parameter's
    gradient L2 norm (0: off).
    RETURNS (TaskOptimizer): The optimizer.
    """
    return TaskOptimizer(
        learn_rate,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2=L2,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
    )


@registry.optimizers("spacy_xfer.SGD.v1")
def create_sgd_v1(
    learn_rate: FloatOrSeq = 0.015,
    *,
    grad_clip: float = 5.0,
    L2: float = 0.0,
    L2_is_weight_decay: bool = False,
    use_averages: bool = False,
) -> "TaskOptimizer":
    """Plain SGD (Thinc's Optimizer with no momentum), as the field's BiLSTM-CRF
    taggers train (Lample et al. 2016: lr 0.015 with decay, gradient clipping 5),
    leaving parameters without gradient alone. `learn_rate` may be a schedule
    (e.g. `thinc.api.decaying`).
    RETURNS (TaskOptimizer): The optimizer.
    """
    return TaskOptimizer(
        learn_rate,
        beta1=0.0,
        beta2=0.0,
        eps=1e-8,
        grad_clip=grad_clip,
        L2=L2,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
    )


class TaskOptimizer(Optimizer):
    """Thinc's Optimizer (Adam when beta1 and beta2 > 0, else SGD) that skips
    parameters whose gradient is all zero."""

    def __call__(
        self,
        key: KeyT,
        weights: FloatsXd,
        gradient: FloatsXd,
        *,
        lr_scale: float = 1.0,
    ) -> Tuple[FloatsXd, FloatsXd]:
        """Step a parameter in place, unless its gradient is all zero.

        key (Tuple[int, str]): The parameter's identifier: node or shim ID and name.
        weights (FloatsXd): The parameter (numpy or cupy), updated in place.
        gradient (FloatsXd): Its gradient, zeroed in place.
        lr_scale (float): Multiplies the learning rate for this step.
        RETURNS (Tuple[FloatsXd, FloatsXd]): The updated parameter and zeroed gradient.
        """
        if untouched(gradient):
            return weights, gradient
        return self._step(key, weights, gradient, lr_scale)

    def _step(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, lr_scale: float) -> Tuple[FloatsXd, FloatsXd]:
        """The step of a parameter with a gradient: Thinc's."""
        return Optimizer.__call__(self, key, weights, gradient, lr_scale=lr_scale)


class Adagrad(TaskOptimizer):
    """Thinc Optimizer that does AdaGrad: a per-element learning rate that shrinks with
    the sum of the squared gradients seen so far.

    A parameter whose gradient is all zero is left alone: no step, no L2, no change to
    its accumulator, averages or update count. That is how the parameters of tasks that
    are not in the current batch stay put.
    """

    __slots__ = ["accumulators", "initial_accumulator"]

    def __init__(
        self,
        learn_rate: FloatOrSeq,
        *,
        eps: float,
        initial_accumulator: float,
        grad_clip: float,
        L2: float,
        L2_is_weight_decay: bool,
        use_averages: bool,
    ) -> None:
        """Initialise the optimizer; the arguments and their defaults are those of
        `create_adagrad_v1`."""
        if eps < 0 or initial_accumulator < 0 or eps + initial_accumulator == 0:
            raise ValueError(
                f"Invalid AdaGrad eps {eps} and initial_accumulator {initial_accumulator}: "
                "expected both >= 0 and at least one > 0, or elements without gradient "
                "would divide 0 by 0"
            )
        super().__init__(
            learn_rate,
            L2=L2,
            beta1=0.0,
            beta2=0.0,
            eps=eps,
            grad_clip=grad_clip,
            use_averages=use_averages,
            L2_is_weight_decay=L2_is_weight_decay,
        )
        self.accumulators: Dict[KeyT, FloatsXd] = {}
        self.initial_accumulator = initial_accumulator

    def _step(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, lr_scale: float) -> Tuple[FloatsXd, FloatsXd]:
        """One AdaGrad step on a parameter with a gradient, in place."""
        xp = get_array_module(weights)
        ops = get_array_ops(weights)
        self.nr_update[key] += 1
        if self.L2 != 0 and not self.L2_is_weight_decay:
            gradient += self.L2 * weights
        if self.grad_clip:
            gradient = ops.clip_gradient(gradient, self.grad_clip)
        if key not in self.accumulators:
            self.accumulators[key] = xp.full(
                weights.shape, self.initial_accumulator, dtype=weights.dtype
            )
        accumulator = self.accumulators[key]
        accumulator += gradient**2
        weights -= lr_scale * self.learn_rate * gradient / xp.sqrt(accumulator + self.eps)
        gradient.fill(0)
        if self.L2 != 0 and self.L2_is_weight_decay:
            weights -= lr_scale * self.learn_rate * self.L2 * weights
        if self.averages is not None:
            if key not in self.averages:
                self.averages[key] = ops.alloc(weights.shape, dtype="float32")
            ops.update_averages(self.averages[key], weights, self.nr_update[key])
        return weights, gradient
