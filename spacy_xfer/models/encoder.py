"""Thinc architectures for the hierarchical encoder (paper section 3.1).

- `spacy_xfer.CharEncoder.v1`: characters -> bidirectional GRU, a vector per token.
- `spacy_xfer.WordEncoder.v1`: [char vector ; word embedding] -> bidirectional GRU,
  with any `Model[List[Doc], List[Floats2d]]` (e.g. a `spacy.Tok2VecListener.v1`
  listening to a shared CharEncoder) as the char vector source.
- `spacy_xfer.CharWordEncoder.v1`: both in one, a spaCy `tok2vec`.

The v1 builders size a GRU by its units per direction (`hidden`); the v2 builders
(`CharEncoder.v2`, `WordEncoder.v2`, `CharWordEncoder.v2`) take the same arguments but
size it by its output width (`output_width` = 2 x units per direction), the model's
`nO`, so that a listener's `width` can interpolate it, as spaCy's quickstart template
does (`width = ${components.encoder.model.output_width}`). A v2 model is the v1 model
of half the width: the same layers, parameters and predictions.
"""

from collections import Counter
from typing import List, Optional

import torch
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model
from thinc.types import Floats2d

from ..errors import Errors
from .featurize import CharFeaturizer, WordFeaturizer, doc_lengths
from .pretrained import pretrained_rows
from .pytorch_char_encoder import CharGRUEncoder
from .pytorch_shim import backward, flat_to_torch, ids_to_torch, make_shim, module_of, torch_to_docs
from .pytorch_word_encoder import WordGRUEncoder
from .string_table import StringTable


@registry.architectures("spacy_xfer.CharEncoder.v1")
def build_char_encoder_v1(
    width: int = 25, hidden: int = 80, depth: int = 2, dropout: float = 0.0
) -> Model[List[Doc], List[Floats2d]]:
    """Character embeddings -> bidirectional GRU over each word's characters.

    width (int): character embedding width (paper: 25).
    hidden (int): GRU units per direction (paper: 80); output width is 2 * hidden.
    depth (int): GRU layers (paper: 2).
    dropout (float): dropout between GRU layers in training; the model's
        `dropout_rate` attr, which spaCy's training sets from `[training] dropout`
        at every update (as for Thinc's own Dropout layer).
    RETURNS (Model[List[Doc], List[Floats2d]]): one vector per token.
    """
    table = StringTable()
    module = CharGRUEncoder(len(table), width, hidden, depth, 0.0)
    return Model(
        "xfer_char_encoder",
        char_encoder_forward,
        init=init_char_encoder,
        shims=[make_shim(module)],
        dims={"nO": 2 * hidden},
        attrs={"table": table, "featurizer": CharFeaturizer(), "dropout_rate": dropout},
    )


def init_char_encoder(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Give every character seen in X a row of its own."""
    if X is None:
        return
    chars = sorted({char for doc in X for token in doc for char in token.text})
    table = StringTable(chars)
    model.attrs["table"] = table
    module_of(model.shims[0]).resize(len(table))


def char_encoder_forward(model: Model, docs: List[Doc], is_train: bool):
    shim = model.shims[0]
    lengths = doc_lengths(docs)
    if lengths.sum() == 0:
        return [model.ops.alloc2f(n, model.get_dim("nO")) for n in lengths], lambda d: []
    chars, word_lengths, inverse = model.attrs["featurizer"](docs, model.attrs["table"])
    inputs = ArgsKwargs(
        args=(ids_to_torch(chars, shim), torch.from_numpy(word_lengths), ids_to_torch(inverse, shim)),
        kwargs={"dropout": model.attrs["dropout_rate"]},
    )
    output, shim_backprop = shim(inputs, is_train)

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        backward(shim_backprop, output, flat_to_torch(model.ops, d_outputs, shim, requires_grad=False))
        return []

    return torch_to_docs(model.ops, output, lengths), backprop


@registry.architectures("spacy_xfer.WordEncoder.v1")
def build_word_encoder_v1(
    char_encoder: Model[List[Doc], List[Floats2d]],
    width: int = 50,
    hidden: int = 300,
    depth: int = 2,
    dropout: float = 0.0,
    normalize: bool = True,
    min_freq: int = 1,
    use_vectors: bool = True,
    max_vectors: int = 100000,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """Word embeddings joined with char vectors -> bidirectional GRU over the sentence.

    char_encoder (Model[List[Doc], List[Floats2d]]): char vectors per token, e.g. a
        CharEncoder, or a Tok2VecListener when the char encoder is shared (T-C).
    width (int): word embedding width (paper: 50).
    hidden (int): GRU units per direction (paper: 300); output width is 2 * hidden.
    depth (int): GRU layers (paper: 2).
    dropout (float): in training, locked (variational) dropout on the GRU's input
        ([char vector ; word embedding]) and output, and dropout between its layers.
        It is the model's `dropout_rate` attr, which spaCy's training sets from
        `[training] dropout` at every update (as for Thinc's own Dropout layer).
    normalize (bool): look words up lowercased with digits mapped to 0 (paper).
    min_freq (int): training words seen fewer times share the unknown row.
    use_vectors (bool): initialise rows from the pipeline's vectors when it has some.
    max_vectors (int): at most this many words from the vectors get rows of their
        own beyond the training words (the first rows of the vectors table).
    word_dropout (float): in training, the probability that a token's word embedding
        is replaced by the unknown word's row (its char vector is kept).
    RETURNS (Model[List[Doc], List[Floats2d]]): one vector per token.
    """
    if not 0 <= dropout < 1 or not 0 <= word_dropout < 1:
        raise ValueError(f"Invalid dropout {dropout} or word_dropout {word_dropout}: expected 0 <= p < 1")
    char_width = char_encoder.get_dim("nO")
    table = StringTable()
    module = WordGRUEncoder(len(table), width, char_width, hidden, depth, 0.0)
    return Model(
        "xfer_word_encoder",
        word_encoder_forward,
        init=init_word_encoder,
        layers=[char_encoder],
        shims=[make_shim(module)],
        dims={"nO": 2 * hidden},
        attrs={
            "table": table,
            "featurizer": WordFeaturizer(normalize),
            "min_freq": min_freq,
            "use_vectors": use_vectors,
            "max_vectors": max_vectors,
            "dropout_rate": dropout,
            "word_dropout": word_dropout,
        },
    )


def init_word_encoder(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """Give rows to the training words in X (and to the pipeline's vectors' words)."""
    model.layers[0].initialize(X=X)
    if X is None:
        return
    featurizer: WordFeaturizer = model.attrs["featurizer"]
    counts = Counter(featurizer.key(token.text) for doc in X for token in doc)
    table = StringTable(sorted(word for word, n in counts.items() if n >= model.attrs["min_freq"]))
    module: WordGRUEncoder = module_of(model.shims[0])  # type: ignore[assignment]
    vectors = X[0].vocab.vectors if X else None
    init_rows = None
    if model.attrs["use_vectors"] and vectors is not None and vectors.shape[0] > 0:
        init_rows = pretrained_rows(
            vectors, X[0].vocab.strings, table, featurizer.key, module.embed.embedding_dim, model.attrs["max_vectors"]
        )
    model.attrs["table"] = table
    module.resize(len(table))
    if init_rows is not None:
        rows, values = init_rows
        with torch.no_grad():
            weight = module.embed.weight
            rows_t = torch.from_numpy(rows).to(weight.device)
            weight[rows_t, : values.shape[1]] = torch.from_numpy(values).to(weight)


def word_encoder_forward(model: Model, docs: List[Doc], is_train: bool):
    shim = model.shims[0]
    char_vectors, backprop_chars = model.layers[0](docs, is_train)
    lengths = doc_lengths(docs)
    width = model.get_dim("nO")
    if lengths.sum() == 0:

        def backprop_nothing(d_outputs: List[Floats2d]) -> List[Doc]:
            return backprop_chars([model.ops.alloc2f(*x.shape) for x in char_vectors])

        return [model.ops.alloc2f(n, width) for n in lengths], backprop_nothing
    chars_t = flat_to_torch(model.ops, char_vectors, shim, requires_grad=is_train)
    word_ids = model.attrs["featurizer"](docs, model.attrs["table"])
    inputs = ArgsKwargs(
        args=(chars_t, ids_to_torch(word_ids, shim), torch.from_numpy(lengths[lengths > 0])),
        kwargs={"dropout": model.attrs["dropout_rate"], "word_dropout": model.attrs["word_dropout"]},
    )
    output, shim_backprop = shim(inputs, is_train)

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        backward(shim_backprop, output, flat_to_torch(model.ops, d_outputs, shim, requires_grad=False))
        return backprop_chars(torch_to_docs(model.ops, chars_t.grad, lengths))

    return torch_to_docs(model.ops, output, lengths), backprop


@registry.architectures("spacy_xfer.CharWordEncoder.v1")
def build_char_word_encoder_v1(
    char_width: int = 25,
    char_hidden: int = 80,
    char_depth: int = 2,
    width: int = 50,
    hidden: int = 300,
    depth: int = 2,
    dropout: float = 0.0,
    normalize: bool = True,
    min_freq: int = 1,
    use_vectors: bool = True,
    max_vectors: int = 100000,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """The paper's whole encoder (char GRU, word embedding, word GRU) as one tok2vec.
    The arguments are those of CharEncoder.v1 (prefixed `char_`) and WordEncoder.v1.
    """
    char_encoder = build_char_encoder_v1(char_width, char_hidden, char_depth, dropout)
    return build_word_encoder_v1(
        char_encoder,
        width=width,
        hidden=hidden,
        depth=depth,
        dropout=dropout,
        normalize=normalize,
        min_freq=min_freq,
        use_vectors=use_vectors,
        max_vectors=max_vectors,
        word_dropout=word_dropout,
    )


def units_per_direction(arch: str, arg: str, output_width: int) -> int:
    """The GRU units per direction of a bidirectional GRU of `output_width`.

    RAISES (ValueError): E030 if `output_width` is not an even number > 0.
    """
    if output_width <= 0 or output_width % 2:
        raise ValueError(Errors.E030.format(arch=arch, arg=arg, value=output_width))
    return output_width // 2


@registry.architectures("spacy_xfer.CharEncoder.v2")
def build_char_encoder_v2(
    width: int = 25, output_width: int = 160, depth: int = 2, dropout: float = 0.0
) -> Model[List[Doc], List[Floats2d]]:
    """CharEncoder.v1 sized by its output width (`nO`): `output_width` (paper: 160,
    i.e. 80 units per direction) replaces `hidden`.

    RAISES (ValueError): E030 for an odd `output_width`.
    """
    hidden = units_per_direction("spacy_xfer.CharEncoder.v2", "output_width", output_width)
    return build_char_encoder_v1(width, hidden, depth, dropout)


@registry.architectures("spacy_xfer.WordEncoder.v2")
def build_word_encoder_v2(
    char_encoder: Model[List[Doc], List[Floats2d]],
    width: int = 50,
    output_width: int = 600,
    depth: int = 2,
    dropout: float = 0.0,
    normalize: bool = True,
    min_freq: int = 1,
    use_vectors: bool = True,
    max_vectors: int = 100000,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """WordEncoder.v1 sized by its output width (`nO`): `output_width` (paper: 600,
    i.e. 300 units per direction) replaces `hidden`.

    RAISES (ValueError): E030 for an odd `output_width`.
    """
    hidden = units_per_direction("spacy_xfer.WordEncoder.v2", "output_width", output_width)
    settings = (normalize, min_freq, use_vectors, max_vectors, word_dropout)
    return build_word_encoder_v1(char_encoder, width, hidden, depth, dropout, *settings)


@registry.architectures("spacy_xfer.CharWordEncoder.v2")
def build_char_word_encoder_v2(
    char_width: int = 25,
    char_output_width: int = 160,
    char_depth: int = 2,
    width: int = 50,
    output_width: int = 600,
    depth: int = 2,
    dropout: float = 0.0,
    normalize: bool = True,
    min_freq: int = 1,
    use_vectors: bool = True,
    max_vectors: int = 100000,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """CharWordEncoder.v1 sized by output widths: `char_output_width` (paper: 160) and
    `output_width` (paper: 600, the model's `nO`) replace `char_hidden` and `hidden`.

    RAISES (ValueError): E030 for an odd output width.
    """
    arch = "spacy_xfer.CharWordEncoder.v2"
    char_hidden = units_per_direction(arch, "char_output_width", char_output_width)
    hidden = units_per_direction(arch, "output_width", output_width)
    settings = (normalize, min_freq, use_vectors, max_vectors, word_dropout)
    return build_char_word_encoder_v1(char_width, char_hidden, char_depth, width, hidden, depth, dropout, *settings)
