"""Thinc glue of the CRF tagger: the tok2vec's vectors (joined with extra features) ->
the emission projection -> the CRF; sized at initialize, the input width measured on
the data when the tok2vec does not declare it, and checked at every batch (E111: an
encoder of another width, such as a transformer of another hidden size, fails with
both widths named, not with a shape error from torch); loading a model saved with the
earlier layout."""

from io import BytesIO
from typing import Callable, Dict, List, Optional, Tuple

import numpy
import srsly
import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model
from thinc.util import convert_recursive, is_xp_array

from ...errors import Errors
from .crf import TaggerScores
from .flat import to_flat_tensor
from .torch_layer import no_backprop, ordinary_tensors, predict_flat


class InputWidthError(ValueError):
    """E111: the input layers' vectors are not as wide as the emission layer takes.
    `width` and `nI` let a component say it again under its own name."""

    def __init__(self, model: Model, width: int, nI: int) -> None:
        super().__init__(Errors.E111.format(who=f"Layer '{model.name}'", source="its input layers", width=width, nI=nI))
        self.width = width
        self.nI = nI


def check_input_width(model: Model, emissions: Model, width: Optional[int]) -> None:
    """One comparison per batch: the input layers' vector width (None: no token)
    against the emission layer's nI.

    RAISES (InputWidthError): E111 when they differ.
    """
    if width is not None and emissions.has_dim("nI") is True and width != emissions.get_dim("nI"):
        raise InputWidthError(model, width, emissions.get_dim("nI"))


def init_crf_tagger(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    *inputs, emissions, crf = model.layers
    for layer in inputs:
        layer.initialize(X=X)
    n_labels = model.get_dim("nO")
    emissions.set_dim("nI", sum(input_width(layer, X) for layer in inputs), force=True)
    emissions.set_dim("nO", n_labels, force=True)
    emissions.initialize()
    crf.set_dim("nI", n_labels, force=True)
    crf.set_dim("nO", n_labels, force=True)
    crf.initialize()


def input_width(layer: Model, docs: Optional[List[Doc]]) -> int:
    """The width of a CRF input layer's vectors: its `nO` if set, else measured on the
    first non-empty doc of `docs`, which also sets an `nO` dimension left unset (as
    spaCy's tagger sizes its softmax from the data).

    RETURNS (int): the width.
    RAISES (ValueError): E017 when the width is unset and there is no non-empty doc.
    """
    if layer.has_dim("nO"):
        return layer.get_dim("nO")
    sample = next(([doc] for doc in docs or () if len(doc)), None)
    if sample is None:
        raise ValueError(Errors.E017.format(layer=layer.name))
    width = layer.predict(sample)[0].shape[1]
    if layer.has_dim("nO") is None:
        layer.set_dim("nO", width)
    return width


def crf_tagger_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[TaggerScores, Callable]:
    """Docs -> the input layers' vectors, joined -> emission scores -> the CRF's scores.
    To predict (`is_train` False), the modules are chained as tensors
    (`predict_scores`).

    RAISES (InputWidthError): E111 when the vectors are not as wide as the emission
        layer's nI.
    """
    *inputs, emissions, crf = model.layers
    if not is_train:
        scores = predict_scores(model, docs)
        if scores is not None:
            return scores, no_backprop(model)
    outputs, backprops = zip(*(layer(docs, is_train) for layer in inputs))
    if len(inputs) == 1:
        joined = list(outputs[0])
    else:
        joined = [model.ops.xp.hstack(parts) for parts in zip(*outputs)]
    check_input_width(model, emissions, next((x.shape[1] for x in joined if x.shape[0]), None))
    emission_scores, backprop_emissions = emissions(joined, is_train)
    scores, backprop_crf = crf(emission_scores, is_train)

    def backprop(d_scores: TaggerScores) -> List[Doc]:
        d_joined = backprop_emissions(backprop_crf(d_scores))
        if len(inputs) == 1:
            backprops[0](d_joined)
            return []
        offsets = numpy.cumsum([0] + [layer.get_dim("nO") for layer in inputs])
        for i, layer_backprop in enumerate(backprops):
            layer_backprop([d[:, offsets[i] : offsets[i + 1]] for d in d_joined])
        return []

    return scores, backprop


def predict_scores(model: Model, docs: List[Doc]) -> Optional[TaggerScores]:
    """The CRF's scores of docs, by the emission and CRF modules' shims over the input
    layers' vectors as one tensor: from their flat paths (`torch_layer.predict_flat`,
    which says why it exists), or flattened from their `predict` where they have none
    (a listener). The values `model.predict` computes through thinc's layers.

    RETURNS (Optional[TaggerScores]): the scores; None when no doc has a token.
    RAISES (InputWidthError): E111 as `crf_tagger_forward`.
    """
    *inputs, emissions, crf = model.layers
    doc_lengths = [len(doc) for doc in docs]
    if not any(doc_lengths):
        return None
    # one inference block for the chain: the shims pass their inference tensors on
    # as they are, and only the CRF's scores are copied out (`TorchShim.predict`)
    with torch.inference_mode():
        parts = []
        for layer in inputs:
            part = predict_flat(layer, docs)
            parts.append(to_flat_tensor(emissions, layer.predict(docs), requires_grad=False) if part is None else part)
        features = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        check_input_width(model, emissions, features.shape[1])
        emission_scores = emissions.shims[0].predict(ArgsKwargs(args=(features,), kwargs={}))
        lengths = torch.tensor([n for n in doc_lengths if n], dtype=torch.int64)
        scores = crf.shims[0].predict(ArgsKwargs(args=(emission_scores, lengths), kwargs={}))
    return TaggerScores(ordinary_tensors(scores), doc_lengths)


def crf_tagger_from_bytes(model: Model, bytes_data: bytes) -> Model:
    """`model.from_bytes`, also for a CRFTagger saved before the emission projection
    was a layer of its own (its weights then sat in the CRF's module, `project.*`):
    such a model's projection is moved into a node of its own before loading.

    RETURNS (Model): the model, loaded.
    """
    msg = srsly.msgpack_loads(bytes_data)
    names = [node["name"] for node in msg["nodes"]]
    if "xfer_crf" in names and "xfer_emissions" not in names:
        _split_projection(msg, names.index("xfer_crf"))
    return model.from_dict(convert_recursive(is_xp_array, model.ops.asarray, msg))


def _split_projection(msg: Dict[str, List], at: int) -> None:
    """Insert an `xfer_emissions` node before the CRF node `at`, holding the CRF
    module's `project.*` weights, and shift the node references after it."""
    shim = srsly.msgpack_loads(msg["shims"][at][0])
    state = torch.load(BytesIO(shim["state"]), map_location="cpu", weights_only=True)
    parts: Dict[str, Dict[str, torch.Tensor]] = {"emissions": {}, "crf": {}}
    for key, value in state.items():
        parts["emissions" if key.startswith("project.") else "crf"][key] = value
    saved = {}
    for part, part_state in parts.items():
        buffer = BytesIO()
        torch.save(part_state, buffer)
        saved[part] = srsly.msgpack_dumps({"config": shim["config"], "state": buffer.getvalue()})
    dims = msg["nodes"][at]["dims"]
    for node in msg["nodes"]:
        node["index"] += node["index"] >= at
        node["refs"] = {name: i + (i >= at) if i is not None else None for name, i in node["refs"].items()}
    msg["nodes"][at]["dims"] = {"nI": dims["nO"], "nO": dims["nO"]}
    msg["nodes"].insert(at, {"index": at, "name": "xfer_emissions", "dims": dims, "refs": {}})
    msg["attrs"].insert(at, {})
    msg["params"].insert(at, {})
    msg["shims"][at] = [saved["crf"]]
    msg["shims"].insert(at, [saved["emissions"]])
