"""A torch module's parameters, listed without `nn.Module.parameters()`'s generators.

`parameters()` chains a generator per submodule and per parameter, several times the
cost of the same walk over the modules' own dicts. At batch 1 the walks add up: the
char encoder's vector cache lists its parameters at every call, and every torch
layer's inputs ask their shim for its device, which thinc reads from the first
parameter (README "Speed" measures the change they were part of).
"""

from typing import List

import torch
from torch import nn


def parameters_of(module: nn.Module) -> List[torch.Tensor]:
    """The parameters of `module` and its submodules, in the order of
    `module.parameters()`, except that a parameter shared by two submodules comes
    once for each."""
    found = [parameter for parameter in module._parameters.values() if parameter is not None]
    for child in module._modules.values():
        if child is not None:
            found += parameters_of(child)
    return found
