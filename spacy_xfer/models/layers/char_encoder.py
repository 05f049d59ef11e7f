"""Thinc glue of the char encoder (`CharGRUEncoder`): its character table, filled at
initialize, and the conversion of docs into the module's arguments."""

from typing import Callable, List, Optional, Tuple

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model

from ..string_table import StringTable
from .torch_layer import module_of


def init_char_encoder(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Give every character seen in X a row of its own."""
    if X is None:
        return
    chars = sorted({char for doc in X for token in doc for char in token.text})
    table = StringTable(chars)
    model.attrs["table"] = table
    module_of(model).resize(len(table))


def convert_char_inputs(model: Model, docs: List[Doc], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Docs -> (char ids of the distinct words, their lengths, each token's distinct
    word), with the layer's dropout. Docs take no gradient."""
    chars, word_lengths, inverse = model.attrs["featurizer"](docs, model.attrs["table"])
    device = model.shims[0].device
    inputs = ArgsKwargs(
        args=(torch.from_numpy(chars).to(device), torch.from_numpy(word_lengths), torch.from_numpy(inverse).to(device)),
        kwargs={"dropout": model.attrs["dropout_rate"]},
    )
    return inputs, lambda d_inputs: []
