"""Thinc glue of `spacy_xfer.GazetteerFeatures.v1` (built in `architectures.py`): gazetteer
BIOES one-hots per token (paper section 4.1).

For CoNLL 2003 the paper appends gazetteer features to the CRF input, as the authors'
code does: the SENNA lists are matched greedily (longest match, left to right) over each
sentence, and every word gets a one-hot of its position in a match of each type (`O`, then
`B`, `I`, `E`, `S` per type; see `spacy_xfer.gazetteer`).

The lists are read when the model is initialized (`nlp.initialize`, i.e. `spacy train`),
not when it is built, and the gazetteer is stored in the model's attrs: a trained pipeline
carries its lists (`nlp.to_disk`, `to_bytes`, pickle; the serializers below), and
`spacy.load` neither reads nor needs `path`, which may be gone. The width,
`nO = 1 + 4 * n_types`, is set at initialize (and restored with the model), so it is
unknown until then. The features are constant inputs: no weights, no gradient.
"""

import logging
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from ...errors import Errors
from ...gazetteer import LIST_GLOB, Gazetteer, load_gazetteer
from ..saved_attrs import saved_with_model

logger = logging.getLogger(__name__)

GazetteerPath = Union[str, Path, Sequence[Union[str, Path]]]


def init_gazetteer_features(
    model: Model, X: Optional[List[Doc]] = None, Y=None, *, path: Optional[GazetteerPath] = None
) -> None:
    """Read the lists at `path` (if given) into the model and set nO.

    A missing `path` is an error, unless the model already carries a non-empty gazetteer
    (e.g. a loaded pipeline initialized again), which is then kept.
    """
    if path is not None:
        paths = [path] if isinstance(path, (str, Path)) else list(path)
        if all(Path(p).exists() for p in paths):
            model.attrs["gazetteer"] = load_gazetteer(path)
        elif len(model.attrs["gazetteer"].types):
            logger.warning("Gazetteer %s not found: keeping the model's stored gazetteer", path)
        else:
            raise FileNotFoundError(Errors.E043.format(path=path, glob=LIST_GLOB))
    gazetteer: Gazetteer = model.attrs["gazetteer"]
    model.set_dim("nO", len(gazetteer.feature_labels), force=True)


def gazetteer_features_forward(model: Model, docs: List[Doc], is_train: bool):
    gazetteer: Gazetteer = model.attrs["gazetteer"]
    width = len(gazetteer.feature_labels)
    if model.has_dim("nO") and model.get_dim("nO") != width:
        raise ValueError(Errors.E044.format(nO=model.get_dim("nO"), width=width))
    per_doc = [gazetteer.token_features([token.text for token in doc]) for doc in docs]
    lengths = [len(doc) for doc in docs]
    flat = numpy.concatenate(per_doc) if per_doc else numpy.zeros((0, width), dtype="float32")
    # one host -> device copy for the batch, then a view per doc
    outputs = model.ops.unflatten(model.ops.asarray2f(flat), model.ops.asarray1i(lengths))

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        return []

    return outputs, backprop


saved_with_model(Gazetteer)
