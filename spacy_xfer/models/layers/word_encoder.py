"""Thinc glue of the word encoder (`WordGRUEncoder`): its word table (and rows from the
pipeline's vectors), filled at initialize, and the conversion of docs and the char
vectors of its child layer into the module's arguments."""

from collections import Counter
from typing import Callable, List, Optional, Tuple

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model

from ..featurize import WordFeaturizer, doc_lengths
from ..pretrained import pretrained_rows
from ..pytorch_word_encoder import WordGRUEncoder
from ..string_table import KeyTable, StringTable
from .flat import from_flat_tensor, to_flat_tensor
from .torch_layer import module_of, no_backprop, predict_flat


def init_word_encoder(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Give rows to the training words in X (and to the pipeline's vectors' words), and
    keep the table row of every key of the vectors (`vector_keys`), for words without
    a row of their own."""
    model.layers[0].initialize(X=X)
    if X is None:
        return
    featurizer: WordFeaturizer = model.attrs["featurizer"]
    counts = Counter(featurizer.key(token.text) for doc in X for token in doc)
    table = StringTable.of_frequent(counts, model.attrs["min_freq"])
    module: WordGRUEncoder = module_of(model)  # type: ignore[assignment]
    vectors = X[0].vocab.vectors if X else None
    init_rows = None
    if model.attrs["use_vectors"] and vectors is not None and vectors.shape[0] > 0:
        init_rows = pretrained_rows(
            vectors, X[0].vocab.strings, table, featurizer.key, module.embed.embedding_dim, model.attrs["max_vectors"]
        )
    model.attrs["table"] = table
    model.attrs["vector_keys"] = KeyTable() if init_rows is None else init_rows.vector_keys
    module.resize(len(table))
    if init_rows is not None and len(init_rows.table_rows):
        module.set_vector_rows(torch.from_numpy(init_rows.table_rows), torch.from_numpy(init_rows.values))


def convert_word_inputs(model: Model, docs: List[Doc], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Docs -> (the char vectors of the child layer, flat; word ids; the non-empty docs'
    lengths), with the layer's dropouts. The char vectors' gradient goes back through
    the child layer; to predict, they come from its flat path when it has one
    (`predict_flat`)."""
    chars_t = None if is_train else predict_flat(model.layers[0], docs)
    backprop_chars = no_backprop(model.layers[0])
    if chars_t is None:
        char_vectors, backprop_chars = model.layers[0](docs, is_train)
        chars_t = to_flat_tensor(model, char_vectors, requires_grad=is_train)
    word_ids = model.attrs["featurizer"](docs, model.attrs["table"], model.attrs["vector_keys"])
    lengths = doc_lengths(docs)
    inputs = ArgsKwargs(
        args=(chars_t, torch.from_numpy(word_ids).to(model.shims[0].device), torch.from_numpy(lengths[lengths > 0])),
        kwargs={"dropout": model.attrs["dropout_rate"], "word_dropout": model.attrs["word_dropout"]},
    )

    def get_d_docs(d_inputs: ArgsKwargs) -> List[Doc]:
        return backprop_chars(from_flat_tensor(model.ops, d_inputs.args[0], lengths))

    return inputs, get_d_docs
