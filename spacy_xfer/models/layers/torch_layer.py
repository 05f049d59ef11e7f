"""Thinc layers around the torch modules: thinc's `PyTorchWrapper_v3` forward with our
node name, attrs, init and child layers, a shim (`TorchShim`) whose predictions skip
thinc's per-call mode switching, and weights that load into a resized
module."""

import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from thinc.shims import PyTorchShim
from thinc.types import Floats2d

from ..pytorch_resizable import Resizable, deserialize_resizable
from .flat import convert_flat_outputs


def _one_thread_after_fork() -> None:
    # torch's OpenMP thread pool does not survive fork(): a forked worker of
    # `nlp.pipe(n_process=...)` would hang in its first parallel region.
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_after_fork)


class TorchShim(PyTorchShim):
    """thinc's `PyTorchShim` whose `predict` leaves the module in eval mode.

    thinc's shim calls `module.eval()` and then `module.train()` in every `predict`:
    each call walks every submodule, two walks per `nlp(text)` per torch layer. This
    shim switches to eval mode only when the module is in training mode, and leaves it
    there; thinc's `begin_update` puts the whole module back in training mode (do not
    switch its submodules one by one). Updates are thinc's.
    """

    def predict(self, inputs: ArgsKwargs) -> Any:
        """The module's output for `inputs`, in eval mode, without gradient."""
        if self._model.training:
            self._model.eval()
        with torch.no_grad():
            return self._model(*inputs.args, **inputs.kwargs)


def torch_layer(
    name: str,
    module: Resizable,
    convert_inputs: Callable,
    *,
    forward: Callable = pytorch_forward,
    init: Optional[Callable] = None,
    layers: Sequence[Model] = (),
    dims: Optional[Dict[str, Optional[int]]] = None,
    attrs: Optional[Dict] = None,
    convert_outputs: Callable = convert_flat_outputs,
) -> Model:
    """thinc's `PyTorchWrapper_v3(module, convert_inputs, convert_outputs)` layer (its
    forward and attrs) as a node named `name`, over a `TorchShim`: the module follows Thinc's device, and saved weights
    load into it after it takes their sizes (`Resizable`), so `spacy.load` needs no
    initialize.

    forward (Callable): the node's forward; thinc's PyTorchWrapper forward, or one
        that calls it (`skip_empty_docs`).
    layers (Sequence[Model]): child layers the converters call (e.g. the char encoder
        whose vectors the word encoder reads).
    RETURNS (Model): the layer.
    """
    return Model(
        name,
        forward,
        init=init,
        layers=list(layers),
        shims=[TorchShim(module, deserialize_model=deserialize_resizable)],
        dims=dims or {},
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs, **(attrs or {})},
    )


def skip_empty_docs(model: Model, docs: List[Doc], is_train: bool):
    """The forward of a layer over docs: thinc's PyTorchWrapper forward, except for a
    batch without tokens, which the GRUs cannot take: (0, nO) arrays, and the child
    layers still run and get a zero gradient (a listener must be answered). No docs:
    no arrays, and the child layers do not run."""
    if not docs:
        return [], lambda d_outputs: []
    if any(len(doc) for doc in docs):
        return pytorch_forward(model, docs, is_train)
    sources = [layer(docs, is_train) for layer in model.layers]
    width = model.get_dim("nO")

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        for outputs, source_backprop in sources:
            source_backprop([model.ops.alloc2f(*output.shape) for output in outputs])
        return []

    return [model.ops.alloc2f(0, width) for _ in docs], backprop


def module_of(model: Model) -> Resizable:
    """The torch module inside a torch layer."""
    shim: PyTorchShim = model.shims[0]  # type: ignore[assignment]
    return shim._model
