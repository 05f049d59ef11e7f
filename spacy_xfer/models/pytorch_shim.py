"""Thin helpers between Thinc and the torch modules: the shim, and moving flat arrays."""

import os
from typing import List, Sequence

import numpy
import torch
from thinc.api import ArgsKwargs, Ops, PyTorchShim, torch2xp, xp2torch
from thinc.types import Floats2d

from .pytorch_resizable import Resizable, deserialize_resizable


def _one_thread_after_fork() -> None:
    # torch's OpenMP thread pool does not survive fork(): a forked worker of
    # `nlp.pipe(n_process=...)` would hang in its first parallel region.
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_after_fork)


def make_shim(module: Resizable) -> PyTorchShim:
    """Wrap a module so that it follows Thinc's device and loads resized weights."""
    return PyTorchShim(module, deserialize_model=deserialize_resizable)


def module_of(shim: PyTorchShim) -> Resizable:
    """The torch module inside a shim."""
    return shim._model


def ids_to_torch(ids: numpy.ndarray, shim: PyTorchShim) -> torch.Tensor:
    """int64 numpy ids -> a tensor on the shim's device."""
    return torch.from_numpy(ids).to(shim.device)


def flat_to_torch(ops: Ops, arrays: Sequence[Floats2d], shim: PyTorchShim, *, requires_grad: bool) -> torch.Tensor:
    """Per-doc arrays -> one (n_tokens, width) tensor on the shim's device."""
    return xp2torch(ops.flatten(list(arrays)), requires_grad=requires_grad, device=shim.device)


def torch_to_docs(ops: Ops, tensor: torch.Tensor, lengths: Sequence[int]) -> List[Floats2d]:
    """(n_tokens, width) tensor -> per-doc arrays of Thinc's array type."""
    return ops.unflatten(ops.asarray2f(torch2xp(tensor, ops=ops)), ops.asarray1i(lengths))


def backward(shim_backprop, output: torch.Tensor, d_output: torch.Tensor) -> None:
    """Run a shim's backprop for one output tensor."""
    shim_backprop(ArgsKwargs(args=(output,), kwargs={"grad_tensors": (d_output,)}))
