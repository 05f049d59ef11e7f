"""Int8 inference for the torch modules: dynamic quantization of their GRUs and linear
layers (`torch.ao.quantization.quantize_dynamic`: int8 weights, activations quantized
per call, on CPU), except the char encoder's (`quantizes`).

The int8 copy is made from the float32 module and used only to predict; it shares the
tensors quantization leaves alone (embeddings, transitions) with the float32 module,
which stays the shim's module: it is what is saved (so a pipeline's weights on disk
are float32 whether or not it is quantized), what loading writes to, and what the
sequence-level code reads (the CRF's transition scores). The copy is remade whenever
the float32 weights change (e.g. after loading), so quantizing before or after the
weights are loaded gives the same model.
"""

import copy
import itertools
import warnings
from typing import Any, Dict, Optional, Tuple

import torch
from thinc.api import ArgsKwargs, PyTorchShim
from torch import nn
from torch.ao.quantization import quantize_dynamic

from ..errors import Errors
from .pytorch_char_encoder import CharGRUEncoder

QUANTIZED_LAYERS = {nn.GRU, nn.Linear}
# the starts of torch's deprecation warnings at quantization (torch 2.10 on)
DEPRECATION_MESSAGES = ("torch.ao.quantization is deprecated", "torch.quantize_per_tensor, torch.quantize_per_channel")


def quantizes(module: nn.Module) -> bool:
    """Whether `quantize` gives this module an int8 copy: every module but the char
    encoder. int8 activations take one scale per call, so a word's int8 char vector
    would depend on the batch it came in, and the char encoder's vector cache
    (`CharVectorCache`) would carry one batch's rounding into every later call: the
    same doc's labels would then depend on what was predicted before. In float32 the
    cached vectors are what any batch gives, up to float rounding, and a cached word
    skips the char GRU, so an int8 char GRU would save little.
    """
    return not isinstance(module, CharGRUEncoder)


class QuantizedShim(PyTorchShim):
    """A PyTorchShim that predicts with an int8 copy of its float32 module and refuses
    to train (E035)."""

    def __init__(self, shim: PyTorchShim) -> None:
        """A quantized shim over `shim`'s module, serialized as `shim` is.

        RAISES (ValueError): E036 if the module is on a GPU (int8 runs on CPU).
        """
        device = shim.device
        if device.type != "cpu":
            raise ValueError(Errors.E036.format(device=device))
        super().__init__(
            shim._model,
            config=shim.cfg,
            device=device,
            serialize_model=shim._serialize_model,
            deserialize_model=shim._deserialize_model,
        )
        self._int8: Optional[nn.Module] = None
        self._int8_of: Optional[Tuple[Tuple[int, int], ...]] = None

    def predict(self, inputs: ArgsKwargs) -> Any:
        """The int8 module's output for `inputs`, without gradient."""
        with torch.no_grad():
            return self.int8_module()(*inputs.args, **inputs.kwargs)

    def begin_update(self, inputs: ArgsKwargs):
        raise ValueError(Errors.E035.format(module=type(self._model).__name__))

    def int8_module(self) -> nn.Module:
        """The int8 copy of the float32 module, remade if the float32 parameters or
        buffers were replaced or changed in place since it was made."""
        state = self._float_state()
        if self._int8 is None or state != self._int8_of:
            float_copy = copy.deepcopy(self._model, unquantized_tensors(self._model)).eval()
            with warnings.catch_warnings():
                # torch deprecates torch.ao.quantization and its quantized tensors in
                # favour of torchao (README, "Quantized CPU inference"); a user of a
                # pipeline can do nothing about it, so it is not repeated at every load
                for message in DEPRECATION_MESSAGES:
                    warnings.filterwarnings("ignore", message=message)
                self._int8 = quantize_dynamic(float_copy, QUANTIZED_LAYERS, dtype=torch.qint8, inplace=True)
            self._int8_of = state
        return self._int8

    def _float_state(self) -> Tuple[Tuple[int, int], ...]:
        """Which tensors the float32 module holds, and their in-place version counters.

        Tensors made in inference mode (the pipeline built, loaded, copied or unpickled
        inside `torch.inference_mode()`) keep no version counter, so they are first
        replaced by ordinary copies (`replace_inference_tensors`): a later load into
        them is then seen.
        """
        tensors = list(itertools.chain(self._model.parameters(), self._model.buffers()))
        if any(t.is_inference() for t in tensors):
            replace_inference_tensors(self._model)
            tensors = list(itertools.chain(self._model.parameters(), self._model.buffers()))
        return tuple((id(t), t._version) for t in tensors)


def replace_inference_tensors(module: nn.Module) -> None:
    """Replace the parameters and buffers of `module` and its submodules that are
    inference tensors by copies made outside inference mode (the same values, ordinary
    tensors with a version counter), through `setattr` so that modules that index their
    parameters (`nn.GRU`'s flat weights) follow; a tensor held twice gets one copy."""
    copies: Dict[int, torch.Tensor] = {}
    for layer in module.modules():
        own = itertools.chain(layer._parameters.items(), layer._buffers.items())
        found = [(name, tensor) for name, tensor in own if tensor is not None and tensor.is_inference()]
        with torch.inference_mode(False):
            for name, tensor in found:
                if id(tensor) not in copies:
                    copied = tensor.clone()
                    if name in layer._parameters:
                        copied = nn.Parameter(copied, requires_grad=tensor.requires_grad)
                    copies[id(tensor)] = copied
                setattr(layer, name, copies[id(tensor)])


def unquantized_tensors(module: nn.Module) -> Dict[int, torch.Tensor]:
    """The parameters and buffers of `module` outside the layers quantization replaces
    (embeddings, CRF transitions), as a `copy.deepcopy` memo (id -> tensor): the int8
    copy made with it shares them with the float32 module instead of holding a second
    float32 copy (the embedding tables are most of a pipeline's memory with vectors).
    The int8 copy only reads them, without gradient."""
    quantized = {
        id(tensor)
        for layer in module.modules()
        if type(layer) in QUANTIZED_LAYERS
        for tensor in itertools.chain(layer.parameters(recurse=False), layer.buffers(recurse=False))
    }
    tensors = itertools.chain(module.parameters(), module.buffers())
    return {id(tensor): tensor for tensor in tensors if id(tensor) not in quantized}
