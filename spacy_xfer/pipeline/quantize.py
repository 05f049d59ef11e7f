"""Quantized CPU inference as a load-time option: `quantize(nlp)`, or the callback
`spacy_xfer.quantize.v2` in a config's `[nlp.after_pipeline_creation]`, e.g.

    nlp = spacy.load(path, config={"nlp": {"after_pipeline_creation": {"@callbacks": "spacy_xfer.quantize.v2"}}})

A pipeline's own `[nlp.after_pipeline_creation]` callback goes under the callback's
`first`, which runs it before quantizing; `quantize` puts it there itself, so it is
not lost. `spacy_xfer.quantize.v1`, the same without `first`, still loads.

The spacy-xfer components then predict with int8 GRUs and linear layers, the char
encoder's aside (`models.pytorch_quantized.quantizes` says why); the weights stay
float32 on disk, and the setting is kept in the pipeline's config, so a quantized
pipeline saved and loaded again is quantized. Training it raises E035.
"""

import copy
from typing import Callable, Optional

from spacy.language import Language
from spacy.util import registry
from thinc.api import Model, PyTorchShim

from ..errors import Errors
from ..models.pytorch_quantized import QuantizedShim, quantizes
from ..models.pytorch_resizable import Resizable

CALLBACK = {"@callbacks": "spacy_xfer.quantize.v2", "first": None}
NAMES = ("spacy_xfer.quantize.v1", "spacy_xfer.quantize.v2")  # every version: set, it is kept


def quantize(nlp: Language) -> Language:
    """Make `nlp`'s spacy-xfer components predict with int8 GRUs and linear layers
    (dynamic quantization, CPU; the char encoder stays float32), in place, and record
    the setting in `nlp.config` (`[nlp.after_pipeline_creation]`) so that
    `nlp.to_disk` + `spacy.load` keeps it: a callback the pipeline already has there
    is kept as `spacy_xfer.quantize.v2`'s `first`, run before quantizing; one that
    is already a `spacy_xfer.quantize` callback is left as it is.
    Works before the weights are loaded (as the callback) or after. Predictions differ
    from the float32 pipeline's by the int8 rounding (see the README for how many), and
    a token's label can depend on the batch it is predicted in (int8 activations take
    one scale per call), though not on earlier calls.

    nlp (Language): The pipeline, on CPU.
    RETURNS (Language): `nlp`.
    RAISES (ValueError): E036 on a GPU; E037 if no component has a spacy-xfer torch
        module.
    """
    found = False
    replacements = []  # every quantized shim is made before any is put in: an error leaves nlp as it was
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if not isinstance(model, Model):
            continue
        for node in model.walk():
            for i, shim in enumerate(node.shims):
                if isinstance(shim, PyTorchShim) and isinstance(shim._model, Resizable):
                    found = True
                    if not isinstance(shim, QuantizedShim) and quantizes(shim._model):
                        replacements.append((node.shims, i, QuantizedShim(shim)))
    if not found:
        raise ValueError(Errors.E037.format(names=", ".join(nlp.component_names) or "none"))
    for shims, i, quantized in replacements:
        shims[i] = quantized
    own = nlp.config["nlp"].get("after_pipeline_creation")
    if not (isinstance(own, dict) and own.get("@callbacks") in NAMES):
        nlp.config["nlp"]["after_pipeline_creation"] = dict(CALLBACK, first=copy.deepcopy(own))
    return nlp


@registry.callbacks("spacy_xfer.quantize.v1")
def create_quantize_v1() -> Callable[[Language], Language]:
    """The `[nlp.after_pipeline_creation]` callback that quantizes a pipeline as it is
    built (before its weights load): see `quantize`. Kept for saved configs that name
    it; `spacy_xfer.quantize.v2` also runs the pipeline's own callback."""
    return quantize


@registry.callbacks("spacy_xfer.quantize.v2")
def create_quantize_v2(first: Optional[Callable[[Language], Language]] = None) -> Callable[[Language], Language]:
    """The `[nlp.after_pipeline_creation]` callback that quantizes a pipeline as it is
    built (before its weights load): see `quantize`.

    first (Optional[Callable[[Language], Language]]): the pipeline's own
        `after_pipeline_creation` callback, run before quantizing (`quantize` puts a
        callback the pipeline had here).
    """

    def quantize_after_first(nlp: Language) -> Language:
        return quantize(first(nlp) if first is not None else nlp)

    return quantize_after_first
