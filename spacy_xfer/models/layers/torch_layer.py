"""Thinc layers around the torch modules: thinc's `PyTorchWrapper_v3` forward with our
node name, attrs, init and child layers, a shim (`TorchShim`) whose predictions skip
thinc's per-call mode switching and whose `use_params` reads the optimizer's
averages, weights that load into a resized module, and the flat prediction path
(`predict_flat`) that chains the encoders' modules without thinc's per-layer
conversions."""

import contextlib
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward
from thinc.shims import PyTorchShim, Shim
from thinc.types import Floats2d
from thinc.util import get_torch_default_device, xp2torch

from ...errors import Errors
from ..parameters import parameters_of
from ..pytorch_resizable import Resizable, deserialize_resizable
from .flat import convert_flat_outputs


def _one_thread_after_fork() -> None:
    # torch's OpenMP thread pool does not survive fork(): a forked worker of
    # `nlp.pipe(n_process=...)` would hang in its first parallel region.
    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_thread_after_fork)


class TorchShim(PyTorchShim):
    """thinc's `PyTorchShim` whose `predict` leaves the module in eval mode, and whose
    `use_params` finds the parameters an optimizer keeps for it.

    thinc's shim calls `module.eval()` and then `module.train()` in every `predict`:
    each call walks every submodule, two walks per `nlp(text)` per torch layer. This
    shim switches to eval mode only when the module is in training mode, and leaves it
    there; thinc's `begin_update` puts the whole module back in training mode (do not
    switch its submodules one by one). Its `finish_update` steps the parameters all at
    once where the optimizer can, and marks them changed for torch.
    """

    def copy(self) -> "TorchShim":
        """A deep copy under a new id. thinc's `Shim.copy` keeps the id, which is the
        first half of the optimizer key the shim's parameters are stepped under
        (`(id, name)`): after spaCy's `nlp.replace_listeners` a head's copy of its
        encoder and the encoder itself would share their Adam moments and averages."""
        copied = super().copy()
        with Shim.global_id_lock:
            Shim.global_id += 1
            copied.id = Shim.global_id
        return copied

    @contextlib.contextmanager
    def use_params(self, params: Dict[Any, Any]) -> Iterator[None]:
        """Run the block with `params` as the module's parameters (e.g. an optimizer's
        `averages`: spaCy's training loop evaluates and saves model-best inside
        `nlp.use_params(optimizer.averages)`), and put the module's own back after it.

        A parameter's entry is keyed `(shim id, parameter name)`, the key thinc's
        `finish_update` steps it under and so the key of its average; thinc's own
        `use_params` reads only `"pytorch_{id}_{name}"`, which no optimizer writes, so
        with it parameter averaging changed neither the dev scores nor model-best (thinc
        8.3). That form is read too. Parameters without an entry keep their values.

        params (Dict): parameter values (numpy or cupy arrays) by key.
        RAISES (ValueError): E097 if an entry's shape differs from its parameter's,
            before any parameter of this shim is written (spaCy's `Language.use_params`
            does not undo the components it entered before the one that raises).
        """
        prefix = f"pytorch_{self.id}_"
        chosen = []
        for name, parameter in self._model.named_parameters():
            value = params.get((self.id, name), params.get(prefix + name))
            if value is None:
                continue
            if tuple(value.shape) != tuple(parameter.shape):
                raise ValueError(
                    Errors.E097.format(name=name, shape=tuple(value.shape), expected=tuple(parameter.shape))
                )
            chosen.append((parameter, value))
        backup = [parameter.detach().clone() for parameter, _ in chosen]
        with torch.no_grad():
            for parameter, value in chosen:
                parameter.copy_(xp2torch(value, device=parameter.device))
        try:
            yield
        finally:
            with torch.no_grad():
                for (parameter, _), own in zip(chosen, backup):
                    parameter.copy_(own)

    @property
    def device(self) -> torch.device:
        """The device of the module's first parameter, or thinc's default torch device
        for a module without parameters, as thinc's `PyTorchShim.device`, found
        without `parameters()`'s generators (`parameters_of`): the layers' inputs ask
        for it at every call."""
        parameters = parameters_of(self._model)
        return parameters[0].device if parameters else get_torch_default_device()

    def predict(self, inputs: ArgsKwargs) -> Any:
        """The module's output for `inputs`, in eval mode, without gradient: computed
        in `torch.inference_mode` (no view or version tracking either; README "Speed"
        measures it against `torch.no_grad`), and returned as ordinary tensors
        (`ordinary_tensors`), which a caller may write to or compute a loss from.
        Called inside inference mode, it returns the module's inference tensors as they
        are: a caller that chains predictions in one inference block (`predict_scores`)
        copies out only what it returns."""
        if self._model.training:
            self._model.eval()
        if torch.is_inference_mode_enabled():
            return self._model(*inputs.args, **inputs.kwargs)
        with torch.inference_mode():
            output = self._model(*inputs.args, **inputs.kwargs)
        return ordinary_tensors(output)

    def finish_update(self, optimizer: Any) -> None:
        """The optimizer's step of each parameter with a gradient: all at once by the
        optimizer's `step_tensors` where it has one that takes them (spacy_xfer's
        Adam on CPU, `training.optimizer`), otherwise thinc's, one call per
        parameter. Then each parameter's version counter is bumped
        (`torch.autograd.graph.increment_version`): thinc's optimizers write the new
        values through numpy views of the tensors, or replace their `.data`, neither
        of which torch counts as a change, and the char encoder's vector cache and
        the int8 copy of a quantized module tell new weights from old by these
        counters."""
        step_tensors = getattr(optimizer, "step_tensors", None)
        stepped = False
        if step_tensors is not None and not self._mixed_precision:
            named = [(name, p) for name, p in self._model.named_parameters() if p.grad is not None]
            stepped = step_tensors(
                [(self.id, name) for name, _ in named], [p.data for _, p in named], [p.grad for _, p in named]
            )
        if not stepped:
            super().finish_update(optimizer)
        for parameter in self._model.parameters():
            torch.autograd.graph.increment_version(parameter)


def ordinary_tensors(value: Any) -> Any:
    """`value` with each inference tensor in it (made in `torch.inference_mode`) replaced
    by an ordinary copy, through tuples (named ones too) and lists: torch refuses to
    write to an inference tensor in place or to make it require gradient outside
    inference mode, as a caller of `predict` may (e.g. `get_loss` on predicted scores).
    Other values are returned as they are.
    """
    if isinstance(value, torch.Tensor):
        return value.clone() if value.is_inference() else value
    if isinstance(value, list):
        return [ordinary_tensors(item) for item in value]
    if isinstance(value, tuple):
        items = [ordinary_tensors(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


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


PREDICT_FLAT = "predict_flat"  # the attr of a layer over docs that has a flat prediction path


def predict_flat(model: Model, docs: List[Doc]) -> Optional[torch.Tensor]:
    """A layer's prediction for docs as one flat tensor, by its `predict_flat` attr
    (a torch layer over docs, or layers joined by `concatenate`), or None when it has
    none (e.g. a listener, whose vectors come from another component).

    Why a path of its own: `model.predict` runs every torch layer through thinc's
    PyTorchWrapper, which turns each module's output into per-doc arrays (a host copy
    and an unflatten) that the next layer flattens back into a tensor; `concatenate`
    joins its children's arrays in numpy. The flat path skips those conversions (the
    speed issue's "Thinc/torch boundary crossings"; measured in the README's speed
    section: 1.15x at batch 256, within the runs' spread at batch 1) and calls the same
    modules on the same inputs through their shims (eval mode, no gradient, the int8
    module of a quantized shim), so it predicts the same values; training always takes
    thinc's path.

    RETURNS (Optional[Tensor]): (n_tokens, nO), the docs' tokens one after another
        (empty docs have no rows), on the layer's device; or None.
    """
    predict = model.attrs.get(PREDICT_FLAT)
    return None if predict is None else predict(model, docs)


def predict_flat_over_docs(model: Model, docs: List[Doc]) -> torch.Tensor:
    """`predict_flat` of a torch layer over docs: its `convert_inputs` at inference,
    then its shim's `predict`. A batch without tokens gives (0, nO) without running
    the module (the GRUs cannot take it)."""
    shim: PyTorchShim = model.shims[0]  # type: ignore[assignment]
    if not any(len(doc) for doc in docs):
        return torch.zeros((0, model.get_dim("nO")), device=shim.device)
    inputs, _ = model.attrs["convert_inputs"](model, docs, False)
    return shim.predict(inputs)


def predict_flat_joined(model: Model, docs: List[Doc]) -> Optional[torch.Tensor]:
    """`predict_flat` of thinc's `concatenate` over layers that all have a flat path:
    their tensors side by side; None if one of them has none."""
    parts = [predict_flat(layer, docs) for layer in model.layers]
    if any(part is None for part in parts):
        return None
    return torch.cat(parts, dim=1)  # type: ignore[arg-type]


def no_backprop(model: Model) -> Callable:
    """The backprop of an output predicted by a flat path: it has no gradient.

    RETURNS (Callable): a function that raises E101 (ValueError) naming the layer.
    """

    def backprop(d_outputs: Any) -> Any:
        raise ValueError(Errors.E101.format(layer=model.name))

    return backprop


def module_of(model: Model) -> Resizable:
    """The torch module inside a torch layer."""
    shim: PyTorchShim = model.shims[0]  # type: ignore[assignment]
    return shim._model
