"""The registered architectures: thin builders over the Thinc glue in `layers/` and the
torch modules in `pytorch_*.py` (paper section 3.1).

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

The v3 builders (`WordEncoder.v3`, `CharWordEncoder.v3`) are the v2 builders with one
more, optional argument, `lexical`: lexical features (`spacy_xfer.LexicalEmbed.v1`:
embeddings of spaCy's PREFIX, SUFFIX and SHAPE of each word, the affix and word-shape
features of the field's taggers) joined to the char vectors before the word GRU. Without
it a v3 model is the v2 model.

- `spacy_xfer.RecipeEncoder.v1`: the shipped configs' encoder in one block
  (CharWordEncoder.v3 with lexical features), the recipe's settings its defaults; the
  factories' default model.
- `spacy_xfer.CRFTagger.v1`: a tok2vec (plus optional extra features) -> emission
  projection -> linear-chain CRF; its output is the CRF's scores (`TaggerScores`).
- `spacy_xfer.GazetteerFeatures.v1`: gazetteer BIOES one-hots per token (paper section
  4.1), the extra features of a CRFTagger, joined to the word GRU's output just before
  the CRF (glue in `layers/gazetteer_features.py`):

      [components.ner.model.features]
      @architectures = "spacy_xfer.GazetteerFeatures.v1"
      path = "gazetteers_senna"
"""

from functools import partial
from typing import List, Optional, Sequence, Union

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, concatenate
from thinc.types import Floats2d

from ..errors import Errors
from ..gazetteer import Gazetteer
from .featurize import LEXICAL_ATTRS, CharFeaturizer, LexicalFeaturizer, WordFeaturizer
from .layers.char_encoder import convert_char_inputs, init_char_encoder
from .layers.crf import TaggerScores, convert_crf_inputs, convert_crf_outputs, init_crf, init_emissions
from .layers.crf_tagger import crf_tagger_forward, init_crf_tagger
from .layers.flat import convert_flat_inputs
from .layers.gazetteer_features import gazetteer_features_forward, init_gazetteer_features
from .layers.lexical import convert_lexical_inputs, init_lexical
from .layers.torch_layer import PREDICT_FLAT, predict_flat_joined, predict_flat_over_docs, skip_empty_docs, torch_layer
from .layers.word_encoder import convert_word_inputs, init_word_encoder
from .pytorch_char_encoder import CharGRUEncoder
from .pytorch_crf import EmissionProjection, LinearChainCRF
from .pytorch_lexical import LexicalEmbedding
from .pytorch_word_encoder import WordGRUEncoder
from .string_table import KeyTable, StringTable


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
    return torch_layer(
        "xfer_char_encoder",
        module,
        convert_char_inputs,
        forward=skip_empty_docs,
        init=init_char_encoder,
        dims={"nO": 2 * hidden},
        attrs={"table": table, "featurizer": CharFeaturizer(), "dropout_rate": dropout, PREDICT_FLAT: predict_flat_over_docs},
    )


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
    freeze_vectors: bool = False,
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
    use_vectors (bool): initialise rows from the pipeline's vectors when it has some;
        a word without a row of its own then takes the row of its vector's word (its
        key looked up by its text, then lowercased), so the words of every key of the
        first `max_vectors` vector rows are read, as spaCy's `StaticVectors` reads
        every key of a pruned table (en_core_web_md: 514k keys on 20k rows).
    max_vectors (int): at most this many words from the vectors get rows of their
        own beyond the training words (the first rows of the vectors table).
    word_dropout (float): in training, the probability that a token's word embedding
        is replaced by the unknown word's row (its char vector is kept).
    freeze_vectors (bool): keep the rows initialised from the vectors fixed in
        training (static vectors, as spaCy's `StaticVectors`); the other rows train.
    RETURNS (Model[List[Doc], List[Floats2d]]): one vector per token.
    """
    if not 0 <= dropout < 1 or not 0 <= word_dropout < 1:
        setting = "spacy_xfer.WordEncoder (dropout, word_dropout)"
        raise ValueError(Errors.E038.format(setting=setting, value=(dropout, word_dropout), expected="0 <= p < 1 for both"))
    char_width = char_encoder.get_dim("nO")
    table = StringTable()
    module = WordGRUEncoder(len(table), width, char_width, hidden, depth, 0.0, freeze_vectors)
    return torch_layer(
        "xfer_word_encoder",
        module,
        convert_word_inputs,
        forward=skip_empty_docs,
        init=init_word_encoder,
        layers=[char_encoder],
        dims={"nO": 2 * hidden},
        attrs={
            "table": table,
            "vector_keys": KeyTable(),
            "featurizer": WordFeaturizer(normalize),
            "min_freq": min_freq,
            "use_vectors": use_vectors,
            "max_vectors": max_vectors,
            "dropout_rate": dropout,
            "word_dropout": word_dropout,
            PREDICT_FLAT: predict_flat_over_docs,
        },
    )


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


DEFAULT_LEXICAL_ATTRS = ("PREFIX", "SUFFIX", "SHAPE")


@registry.architectures("spacy_xfer.LexicalEmbed.v1")
def build_lexical_embed_v1(
    attrs: Sequence[str] = DEFAULT_LEXICAL_ATTRS,
    width: int = 16,
    min_freq: int = 1,
    word_dropout: float = 0.0,
) -> Model[List[Doc], List[Floats2d]]:
    """Embeddings of each token's lexical attributes, joined: spaCy's lexeme strings
    (PREFIX: the first character, SUFFIX: the last three, SHAPE: the word shape such
    as `Xxxxx` or `dd`, as the language defines them; also LOWER). These are the
    inputs of spaCy's own tok2vec (`MultiHashEmbed`, with NORM) and the spelling features of the
    field's BiLSTM-CRF taggers (Huang et al. 2015). Rows are given at initialize to the
    values seen in the training data; other values share the unknown row.

    attrs (Sequence[str]): the attributes, in output order.
    width (int): embedding width per attribute.
    min_freq (int): values seen fewer times in training share the unknown row.
    word_dropout (float): in training, the probability that a value's row is replaced
        by the unknown row (so the unknown row is trained, as for words).
    RETURNS (Model[List[Doc], List[Floats2d]]): (n_tokens, len(attrs) * width) per doc.
    RAISES (ValueError): E039 for an unknown attribute; E038 for `attrs` a string,
        empty or with an attribute twice, a width < 1, or a `word_dropout` outside [0, 1).
    """
    arch = "spacy_xfer.LexicalEmbed.v1"
    if isinstance(attrs, str):
        raise ValueError(Errors.E038.format(setting=f"{arch} attrs", value=repr(attrs), expected='a list of attributes, e.g. ["PREFIX"]'))
    for attr in attrs:
        if attr not in LEXICAL_ATTRS:
            raise ValueError(Errors.E039.format(kind="lexical attribute", value=attr, choices=", ".join(LEXICAL_ATTRS)))
    if not attrs or len(set(attrs)) < len(attrs):
        raise ValueError(Errors.E038.format(setting=f"{arch} attrs", value=attrs, expected="distinct attributes, at least one"))
    if width < 1:
        raise ValueError(Errors.E038.format(setting=f"{arch} width", value=width, expected="an integer >= 1"))
    if not 0 <= word_dropout < 1:
        raise ValueError(Errors.E038.format(setting=f"{arch} word_dropout", value=word_dropout, expected="0 <= p < 1"))
    table = StringTable()
    return torch_layer(
        "xfer_lexical",
        LexicalEmbedding(len(table), width, len(attrs)),
        convert_lexical_inputs,
        init=init_lexical,
        dims={"nO": len(attrs) * width},
        attrs={
            "table": table,
            "featurizer": LexicalFeaturizer(attrs),
            "min_freq": min_freq,
            "word_dropout": word_dropout,
            PREDICT_FLAT: predict_flat_over_docs,
        },
    )


def with_lexical(
    arch: str, char_encoder: Model[List[Doc], List[Floats2d]], lexical: Optional[Model[List[Doc], List[Floats2d]]]
) -> Model[List[Doc], List[Floats2d]]:
    """The char vectors with the lexical features joined (thinc's `concatenate`), or
    the char encoder itself when `lexical` is None. nO: the sum of the two.

    RAISES (ValueError): E085 if `lexical` has no nO yet.
    """
    if lexical is None:
        return char_encoder
    if lexical.maybe_get_dim("nO") is None:
        raise ValueError(Errors.E085.format(arch=arch, name=lexical.name))
    joined = concatenate(char_encoder, lexical)
    joined.set_dim("nO", char_encoder.get_dim("nO") + lexical.get_dim("nO"))
    joined.attrs[PREDICT_FLAT] = predict_flat_joined
    return joined


@registry.architectures("spacy_xfer.WordEncoder.v3")
def build_word_encoder_v3(
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
    lexical: Optional[Model[List[Doc], List[Floats2d]]] = None,
    freeze_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """WordEncoder.v2 with optional lexical features joined to the char vectors: the
    word GRU reads [char vector ; lexical features ; word embedding]. In T-C, where the
    char encoder is shared, the lexical features are the task's own.

    lexical (Optional[Model[List[Doc], List[Floats2d]]]): per-token features whose
        width (nO) is known when built, e.g. `spacy_xfer.LexicalEmbed.v1`; None: the
        WordEncoder.v2 model.
    freeze_vectors (bool): keep the rows initialised from the vectors fixed (WordEncoder.v1).
    RAISES (ValueError): E030 for an odd `output_width`; E085 for a `lexical` without nO.
    """
    arch = "spacy_xfer.WordEncoder.v3"
    hidden = units_per_direction(arch, "output_width", output_width)
    settings = (normalize, min_freq, use_vectors, max_vectors, word_dropout)
    return build_word_encoder_v1(
        with_lexical(arch, char_encoder, lexical), width, hidden, depth, dropout, *settings, freeze_vectors=freeze_vectors
    )


@registry.architectures("spacy_xfer.CharWordEncoder.v3")
def build_char_word_encoder_v3(
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
    lexical: Optional[Model[List[Doc], List[Floats2d]]] = None,
    freeze_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """CharWordEncoder.v2 with optional lexical features joined to the char vectors:
    the word GRU reads [char vector ; lexical features ; word embedding].

    lexical (Optional[Model[List[Doc], List[Floats2d]]]): per-token features whose
        width (nO) is known when built, e.g. `spacy_xfer.LexicalEmbed.v1`; None: the
        CharWordEncoder.v2 model.
    freeze_vectors (bool): keep the rows initialised from the vectors fixed (WordEncoder.v1).
    RAISES (ValueError): E030 for an odd output width; E085 for a `lexical` without nO.
    """
    arch = "spacy_xfer.CharWordEncoder.v3"
    char_hidden = units_per_direction(arch, "char_output_width", char_output_width)
    hidden = units_per_direction(arch, "output_width", output_width)
    char_encoder = with_lexical(arch, build_char_encoder_v1(char_width, char_hidden, char_depth, dropout), lexical)
    settings = (normalize, min_freq, use_vectors, max_vectors, word_dropout)
    return build_word_encoder_v1(char_encoder, width, hidden, depth, dropout, *settings, freeze_vectors=freeze_vectors)


@registry.architectures("spacy_xfer.RecipeEncoder.v1")
def build_recipe_encoder_v1(
    char_width: int = 25,
    char_output_width: int = 160,
    char_depth: int = 2,
    width: int = 50,
    output_width: int = 200,
    depth: int = 2,
    dropout: float = 0.0,
    normalize: bool = True,
    min_freq: int = 1,
    use_vectors: bool = True,
    max_vectors: int = 100000,
    word_dropout: float = 0.1,
    lexical_attrs: Sequence[str] = DEFAULT_LEXICAL_ATTRS,
    lexical_width: int = 16,
    freeze_vectors: bool = False,
) -> Model[List[Doc], List[Floats2d]]:
    """The shipped configs' encoder in one block, with the recipe's settings (README,
    "Recipe": chosen on the ablation's mean dev score) as its defaults: CharWordEncoder.v3
    with `LexicalEmbed.v1` lexical features, a word BiGRU of 2 x 100 units and word
    dropout 0.1. The default model of the `xfer_tagger` and `xfer_encoder` factories.
    It is its own architecture, as spaCy's `HashEmbedCNN.v2` is a preset of its
    `Tok2Vec.v2`, so that spaCy's merging of a factory's default config into a user's
    block of the same name never adds these settings to a block naming
    `CharWordEncoder.v3`.

    Settings as CharWordEncoder.v3's; lexical_attrs (Sequence[str]) and lexical_width
    (int) are LexicalEmbed.v1's `attrs` and `width`, which takes this block's
    `min_freq` and `word_dropout` (as the configs' `${xfer.word_dropout}`).
    RETURNS (Model[List[Doc], List[Floats2d]]): one vector per token, nO `output_width`.
    RAISES (ValueError): as CharWordEncoder.v3 and LexicalEmbed.v1.
    """
    lexical = build_lexical_embed_v1(lexical_attrs, lexical_width, min_freq, word_dropout)
    settings = (normalize, min_freq, use_vectors, max_vectors, word_dropout)
    return build_char_word_encoder_v3(
        char_width, char_output_width, char_depth, width, output_width, depth, dropout, *settings,
        lexical=lexical, freeze_vectors=freeze_vectors,
    )


@registry.architectures("spacy_xfer.CRFTagger.v1")
def build_crf_tagger_v1(
    tok2vec: Model[List[Doc], List[Floats2d]],
    features: Optional[Model[List[Doc], List[Floats2d]]] = None,
    nO: Optional[int] = None,
) -> Model[List[Doc], TaggerScores]:
    """A linear-chain CRF over a tok2vec's vectors.

    tok2vec (Model[List[Doc], List[Floats2d]]): the token encoder, own or a listener
        (`spacy.Tok2VecListener.v1`, `spacy-transformers.TransformerListener.v1`), or
        any other such model, e.g. spaCy's `spacy.HashEmbedCNN.v2`. Its width is its
        `nO` if set, else measured on the data at initialize.
    features (Optional[Model[List[Doc], List[Floats2d]]]): extra per-token features
        (e.g. gazetteer one-hots) appended to the CRF input; sized like `tok2vec`.
    nO (Optional[int]): the number of labels; set by the component at initialize.
    RETURNS (Model[List[Doc], TaggerScores]): the CRF's scores of the batch: emission
        scores per token, transition, start and end scores (see `layers/crf.py`).
    """
    emissions = torch_layer(
        "xfer_emissions",
        EmissionProjection(1, nO or 1),
        convert_flat_inputs,
        init=init_emissions,
        dims={"nI": None, "nO": nO},
    )
    crf = torch_layer(
        "xfer_crf",
        LinearChainCRF(nO or 1),
        convert_crf_inputs,
        convert_outputs=convert_crf_outputs,
        init=init_crf,
        dims={"nI": nO, "nO": nO},
    )
    inputs = [tok2vec] if features is None else [tok2vec, features]
    model = Model(
        "xfer_crf_tagger",
        crf_tagger_forward,
        init=init_crf_tagger,
        layers=[*inputs, emissions, crf],
        dims={"nO": nO},
    )
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("emissions", emissions)
    model.set_ref("crf", crf)
    return model


@registry.architectures("spacy_xfer.GazetteerFeatures.v1")
def build_gazetteer_features_v1(
    path: Optional[Union[str, List[str]]] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token gazetteer features: BIOES one-hots of greedy longest matches, per type.

    path (Optional[Union[str, List[str]]]): a folder of SENNA-style `ner.TYPE.lst` lists, a
        list file, or list files; read at initialize. None: no lists are read, the model
        keeps the gazetteer it carries (empty, 1 column, unless loaded or set in
        `model.attrs["gazetteer"]`).
    RETURNS (Model[List[Doc], List[Floats2d]]): float32 (n_tokens, nO) per doc.
    """
    return Model(
        "xfer_gazetteer_features",
        gazetteer_features_forward,
        init=partial(init_gazetteer_features, path=path),
        dims={"nO": None},
        attrs={"gazetteer": Gazetteer()},
    )
