"""The one converter between Thinc's per-doc arrays and the flat tensors the torch
modules read and write: a batch's rows (tokens) one doc after another, as
`ops.flatten` lays them out, so no padding is ever built.

`convert_flat_inputs` and `convert_flat_outputs` are `PyTorchWrapper_v3`'s
`convert_inputs`/`convert_outputs` for a module that maps (n_rows, nI) to (n_rows, nO);
the encoders' own `convert_inputs` use `to_flat_tensor`/`from_flat_tensor`.
"""

from typing import Callable, List, Sequence, Sized, Tuple

import torch
from thinc.api import ArgsKwargs, Model, Ops, torch2xp, xp2torch
from thinc.types import Floats2d


def to_flat_tensor(model: Model, arrays: Sequence[Floats2d], *, requires_grad: bool) -> torch.Tensor:
    """Per-doc (n_i, width) arrays -> one (sum n_i, width) tensor on the device of the
    model's shim (Thinc's current device)."""
    return xp2torch(model.ops.flatten(list(arrays)), requires_grad=requires_grad, device=model.shims[0].device)


def from_flat_tensor(ops: Ops, tensor: torch.Tensor, lengths: Sequence[int]) -> List[Floats2d]:
    """(sum n_i, width) tensor -> per-doc (n_i, width) arrays of Thinc's array type."""
    return ops.unflatten(ops.asarray2f(torch2xp(tensor, ops=ops)), ops.asarray1i(lengths))


def convert_flat_inputs(
    model: Model, X: List[Floats2d], is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], List[Floats2d]]]:
    """Per-doc arrays -> the module's one flat argument; its gradient -> per-doc arrays."""
    lengths = [len(x) for x in X]
    flat = to_flat_tensor(model, X, requires_grad=is_train)

    def get_dX(d_inputs: ArgsKwargs) -> List[Floats2d]:
        return from_flat_tensor(model.ops, d_inputs.args[0], lengths)

    return ArgsKwargs(args=(flat,), kwargs={}), get_dX


def convert_flat_outputs(
    model: Model, X_Ytorch: Tuple[Sequence[Sized], torch.Tensor], is_train: bool
) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], ArgsKwargs]]:
    """The module's flat output -> per-doc arrays, one per input (a Doc or an array:
    anything with a length); their gradient -> the module's backward arguments."""
    X, Ytorch = X_Ytorch
    Y = from_flat_tensor(model.ops, Ytorch, [len(x) for x in X])

    def get_dYtorch(dY: List[Floats2d]) -> ArgsKwargs:
        d_flat = to_flat_tensor(model, dY, requires_grad=False)
        return ArgsKwargs(args=(Ytorch,), kwargs={"grad_tensors": (d_flat,)})

    return Y, get_dYtorch
