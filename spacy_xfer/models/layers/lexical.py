"""Thinc glue of the lexical feature embeddings (`LexicalEmbedding`): the table of
attribute values, filled at initialize, and the conversion of docs into table rows."""

from collections import Counter
from typing import Callable, List, Optional, Tuple

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model

from ..featurize import LexicalFeaturizer
from ..string_table import StringTable
from .torch_layer import module_of


def init_lexical(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Give a row to every attribute value seen at least `min_freq` times in X."""
    if X is None:
        return
    featurizer: LexicalFeaturizer = model.attrs["featurizer"]
    counts = Counter(key for doc in X for token in doc for key in featurizer.keys(token.lex))
    table = StringTable.of_frequent(counts, model.attrs["min_freq"])
    model.attrs["table"] = table
    module_of(model).resize(len(table))


def convert_lexical_inputs(model: Model, docs: List[Doc], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Docs -> (the (n_tokens, n_attrs) table rows of the batch), with the layer's
    word dropout. Docs take no gradient."""
    rows = model.attrs["featurizer"](docs, model.attrs["table"])
    inputs = ArgsKwargs(
        args=(torch.from_numpy(rows).to(model.shims[0].device),),
        kwargs={"word_dropout": model.attrs["word_dropout"]},
    )
    return inputs, lambda d_inputs: []
