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
tensors, move as well (and the shim's write-back of the same memory changes nothing).

On a GPU, testing each gradient for zeros would make the host wait for the device at
every parameter (a `bool` of a device array). There the test stays on the device: a 0-d
`touched` flag scales the step, the state updates and the step count, so a parameter
without gradient still moves by exactly zero (see `TaskOptimizer.__call__`). Host
(numpy) arrays keep the cheap early return and, for SGD, Thinc's step; Adam's update on
float32 host arrays runs torch's fused CPU kernel (`torch.optim.adam.adam` with fused=True,
vectorised) on views of the same memory instead of Thinc's scalar `NumpyOps.adam` loop
(see `TaskOptimizer._adam`; README "Speed" measures it).
"""

from typing import Any, Dict, List, Sequence, Tuple

import numpy
import torch
from spacy.util import registry
from thinc.api import NumpyOps, Optimizer, get_array_module
from thinc.optimizers import FloatOrSeq, KeyT
from thinc.types import FloatsXd
from torch.optim.adam import adam as torch_adam

from ..errors import Errors


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


def host_arrays(xp: Any) -> bool:
    """Whether arrays of the array module `xp` live in host memory (numpy), where
    testing a gradient for zeros costs no wait for a device (cupy's arrays do not)."""
    return xp is numpy


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
    parameters whose gradient is all zero, without a host synchronisation per
    parameter on a GPU."""

    __slots__ = ["device_steps"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise as Thinc's Optimizer (same arguments)."""
        super().__init__(*args, **kwargs)
        # Steps taken per parameter on the device path (0-d device arrays); the host
        # path counts in Thinc's `nr_update`.
        self.device_steps: Dict[KeyT, Any] = {}

    def __call__(
        self,
        key: KeyT,
        weights: FloatsXd,
        gradient: FloatsXd,
        *,
        lr_scale: float = 1.0,
    ) -> Tuple[FloatsXd, FloatsXd]:
        """Step a parameter in place, unless its gradient is all zero.

        On host arrays an all-zero gradient returns at once. On device arrays the
        step is taken with a 0-d `touched` flag multiplying every change, so that no
        device value is read back: a parameter without gradient moves by exactly 0,
        and its momentum, accumulator, average and step count stay as they were.

        key (Tuple[int, str]): The parameter's identifier: node or shim ID and name.
        weights (FloatsXd): The parameter (numpy or cupy), updated in place.
        gradient (FloatsXd): Its gradient, zeroed in place.
        lr_scale (float): Multiplies the learning rate for this step.
        RETURNS (Tuple[FloatsXd, FloatsXd]): The updated parameter and zeroed gradient.
        """
        if gradient.size == 0:
            return weights, gradient
        xp = get_array_module(gradient)
        if host_arrays(xp):
            if not xp.any(gradient):
                return weights, gradient
            return self._host_step(key, weights, gradient, lr_scale)
        touched = xp.any(gradient)
        steps = self.device_steps.get(key, 0) + touched.astype("int32")
        self.device_steps[key] = steps
        return self._masked_step(key, weights, gradient, lr_scale, steps, touched.astype(weights.dtype))

    def _host_step(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, lr_scale: float) -> Tuple[FloatsXd, FloatsXd]:
        """The step of a host parameter with a gradient: Thinc's, with Adam's update in
        torch's fused kernel (`_adam`)."""
        return Optimizer.__call__(self, key, weights, gradient, lr_scale=lr_scale)

    def _adam(self, ops: Any, weights: FloatsXd, gradient: FloatsXd, lr_scale: float, key: KeyT, nr_upd: int) -> Tuple[FloatsXd, FloatsXd]:
        """Thinc's Adam step (`Optimizer._adam`, the rule of `NumpyOps.adam`) on a host
        parameter, by torch's fused CPU Adam on views of the same memory; other arrays,
        and a state whose size differs from the parameter's (which torch's kernel does
        not check: it would read and write out of bounds), go to Thinc's, which raises
        its ValueError there.

        Thinc's rule is `w -= lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)`;
        torch's divides sqrt(v) by sqrt(1 - b2**t) before adding its eps, so it is given
        `eps / sqrt(1 - b2**t)`: the same update up to float rounding. The gradient is
        left as it is: `Optimizer.__call__`, the only caller, zeroes it right after.

        RETURNS (Tuple[FloatsXd, FloatsXd]): The updated parameter and its gradient.
        """
        correction2 = 1.0 - self.b2**nr_upd
        host = isinstance(weights, numpy.ndarray) and weights.dtype == numpy.float32 and weights.flags.c_contiguous
        if not host or correction2 <= 0:
            return super()._adam(ops, weights, gradient, lr_scale, key, nr_upd)
        mom1, mom2 = self._moments(key, weights)
        if not weights.size == gradient.size == mom1.size == mom2.size:
            return super()._adam(ops, weights, gradient, lr_scale, key, nr_upd)
        self._fused_adam(
            [torch.from_numpy(weights.reshape(-1))],
            [torch.from_numpy(numpy.ascontiguousarray(gradient).reshape(-1))],
            [(mom1, mom2)],
            nr_upd,
            self.learn_rate * lr_scale,
        )
        return weights, gradient

    def _fused_adam(
        self, weights: List[torch.Tensor], gradients: List[torch.Tensor], moments: List[Tuple[FloatsXd, FloatsXd]],
        step: int, learn_rate: float,
    ) -> None:
        """Thinc's Adam step, by torch's fused CPU kernel, of flat float32 parameters
        that are all at their `step`-th update (which fixes the eps of the bias
        correction; see `_adam`), each with its numpy moments (`_moments`)."""
        torch_adam(
            weights,
            gradients,
            [torch.from_numpy(mom1) for mom1, _ in moments],
            [torch.from_numpy(mom2) for _, mom2 in moments],
            [],
            [torch.tensor(float(step - 1)) for _ in weights],  # the kernel counts this step itself
            fused=True,
            amsgrad=False,
            beta1=self.b1,
            beta2=self.b2,
            lr=learn_rate,
            weight_decay=0.0,
            eps=self.eps / (1.0 - self.b2**step) ** 0.5,
            maximize=False,
        )

    def step_tensors(self, keys: Sequence[KeyT], weights: Sequence[torch.Tensor], gradients: Sequence[torch.Tensor]) -> bool:
        """Step torch parameters in place, all at once, as calling the optimizer on each
        of them would (Thinc's `PyTorchShim.finish_update`), up to float rounding: Adam
        on float32 CPU tensors, by multi-tensor torch kernels (`torch._foreach_*`, one
        fused Adam call per step count) instead of Thinc's chain of Python calls per
        parameter (with the configs' 40 parameters, the optimizer step's time outside
        torch ops fell from 9.0% to 3.4% of training at batch 10 under torch.profiler;
        README "Speed"). `TorchShim.finish_update` calls it. A parameter whose gradient
        is all zero is left alone; every gradient is zeroed.

        keys (Sequence[Tuple[int, str]]): the parameters' keys: shim ID and name.
        weights (Sequence[Tensor]): the parameters' data (not requiring gradient).
        gradients (Sequence[Tensor]): their gradients, of the same shapes.
        RETURNS (bool): True when they were stepped; False, with nothing changed, when
            this is not Adam (SGD, AdaGrad, RAdam) or a tensor is not a contiguous
            float32 CPU tensor whose Adam state has its size: then step each one with
            `__call__`, which handles those (and raises Thinc's error for a state of
            another size).
        """
        if not (self.b1 > 0 and 0 < self.b2 < 1) or self.use_radam:
            return False
        for key, weight, gradient in zip(keys, weights, gradients):
            for tensor in (weight, gradient):
                if tensor.device.type != "cpu" or tensor.dtype != torch.float32 or not tensor.is_contiguous():
                    return False
            if gradient.shape != weight.shape or (key in self.mom1 and self.mom1[key].size != weight.numel()):
                return False
        # L2 norms, one kernel for all (NaN is not 0); a norm of 0 may also be the
        # underflow of tiny values, which `any` tells from an all-zero gradient
        norms = torch.stack(torch._foreach_norm(list(gradients))).tolist() if gradients else []
        drawn = [i for i, norm in enumerate(norms) if norm != 0 or bool(gradients[i].any())]
        keys = [keys[i] for i in drawn]
        weights = [weights[i] for i in drawn]
        gradients = [gradients[i] for i in drawn]
        if not drawn:
            return True
        # float32 products and quotients rounded where Thinc's numpy arithmetic rounds
        # them: Adam turns a gradient's rounding residue into a whole step
        if self.L2 != 0 and not self.L2_is_weight_decay:
            torch._foreach_add_(gradients, torch._foreach_mul(weights, self.L2))
            norms = torch.stack(torch._foreach_norm(gradients)).tolist()
        else:
            norms = [norms[i] for i in drawn]
        if self.grad_clip:
            # Thinc's clip_gradient: scaled to the threshold where the norm reaches it
            threshold = numpy.float32(self.grad_clip)
            clipped = [(g, float(threshold / numpy.float32(norm))) for g, norm in zip(gradients, norms) if norm >= self.grad_clip]
            if clipped:
                torch._foreach_mul_([g for g, _ in clipped], [scale for _, scale in clipped])
        by_step: Dict[int, List[int]] = {}
        for j, key in enumerate(keys):
            self.nr_update[key] += 1
            by_step.setdefault(self.nr_update[key], []).append(j)
        learn_rate = self.learn_rate
        for step, members in by_step.items():
            self._fused_adam(
                [weights[j].view(-1) for j in members],
                [gradients[j].view(-1) for j in members],
                [self._moments(keys[j], weights[j].numpy()) for j in members],
                step,
                learn_rate,
            )
        torch._foreach_zero_(gradients)
        if self.L2 != 0 and self.L2_is_weight_decay:
            torch._foreach_sub_(weights, torch._foreach_mul(weights, learn_rate * self.L2))
        if self.averages is not None:
            ops = NumpyOps()
            for key, weight in zip(keys, weights):
                if key not in self.averages:
                    self.averages[key] = ops.alloc(tuple(weight.shape), dtype="float32")
                ops.update_averages(self.averages[key], weight.numpy(), self.nr_update[key])
        return True

    def _moments(self, key: KeyT, weights: FloatsXd) -> Tuple[FloatsXd, FloatsXd]:
        """Adam's first and second moments of a parameter: 1-D, in its array module and
        dtype, zeros at its first step."""
        if key not in self.mom1:
            xp = get_array_module(weights)
            self.mom1[key] = xp.zeros(weights.size, dtype=weights.dtype)
            self.mom2[key] = xp.zeros(weights.size, dtype=weights.dtype)
        return self.mom1[key], self.mom2[key]

    def _masked_step(
        self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, lr_scale: float, steps: Any, on: Any
    ) -> Tuple[FloatsXd, FloatsXd]:
        """Thinc's step (L2, gradient clipping, the update rule `_update`, weight
        decay, averages) with every change multiplied by `on`, without branching on
        array values.

        steps (int or 0-d array): The parameter's step count, this step included.
        on (float or 0-d array): 1 if the parameter has a gradient, else 0.
        """
        xp = get_array_module(weights)
        learn_rate = lr_scale * self.learn_rate
        if self.L2 != 0 and not self.L2_is_weight_decay:
            gradient += (self.L2 * on) * weights
        if self.grad_clip:
            # Thinc's clip_gradient (scale to the threshold if the norm reaches it),
            # without reading the norm back.
            gradient *= self.grad_clip / xp.maximum(xp.linalg.norm(gradient), self.grad_clip)
        self._update(key, weights, gradient, learn_rate, steps, on)
        gradient.fill(0)
        if self.L2 != 0 and self.L2_is_weight_decay:
            weights -= (learn_rate * self.L2 * on) * weights
        if self.averages is not None:
            if key not in self.averages:
                # Until its first step a parameter's average is itself (Thinc keeps
                # none, so `use_params` leaves it as it is).
                self.averages[key] = weights.astype("float32")
            average = self.averages[key]
            average *= 1 - on * (steps == 1)  # Thinc's averages start at 0
            decay = xp.minimum((1.0 + steps) / (10.0 + steps), 0.9999)  # ops.update_averages
            average -= xp.asarray(on * (1 - decay), dtype=average.dtype) * (average - weights)
        return weights, gradient

    def _update(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, learn_rate: float, steps: Any, on: Any) -> None:
        """The update rule on the device path, in place: Thinc's Adam (`_adam` and
        `ops.adam`) when beta1 and beta2 > 0, else SGD."""
        if not (self.b1 > 0 and self.b2 > 0):
            weights -= learn_rate * gradient  # 0 where `on` is 0: the gradient is 0
            return
        xp = get_array_module(weights)
        flat_weights = weights.reshape((weights.size,))
        flat_gradient = gradient.reshape((gradient.size,))
        mom1, mom2 = self._moments(key, weights)
        mom1 += ((1 - self.b1) * on) * (flat_gradient - mom1)
        mom2 += ((1 - self.b2) * on) * (flat_gradient * flat_gradient - mom2)
        t = xp.maximum(steps, 1)  # bias correction; the step is 0 anyway when `on` is 0
        rate = (learn_rate * on) * xp.sqrt(1 - self.b2**t) / (1 - self.b1**t)
        flat_weights -= xp.asarray(rate, dtype=weights.dtype) * mom1 / (xp.sqrt(mom2) + self.eps)


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
            expected = (
                "both >= 0 and at least one > 0, or elements without gradient would divide 0 by 0"
            )
            raise ValueError(
                Errors.E038.format(
                    setting="AdaGrad (eps, initial_accumulator)", value=(eps, initial_accumulator), expected=expected
                )
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

    def _host_step(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, lr_scale: float) -> Tuple[FloatsXd, FloatsXd]:
        """One AdaGrad step on a host parameter with a gradient, in place."""
        self.nr_update[key] += 1
        return self._masked_step(key, weights, gradient, lr_scale, self.nr_update[key], 1.0)

    def _update(self, key: KeyT, weights: FloatsXd, gradient: FloatsXd, learn_rate: float, steps: Any, on: Any) -> None:
        """Lasagne's AdaGrad rule, in place; a zero gradient changes nothing."""
        xp = get_array_module(weights)
        if key not in self.accumulators:
            self.accumulators[key] = xp.full(weights.shape, self.initial_accumulator, dtype=weights.dtype)
        accumulator = self.accumulators[key]
        accumulator += gradient**2
        weights -= learn_rate * gradient / xp.sqrt(accumulator + self.eps)
