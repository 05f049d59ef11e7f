"""The default models of the `xfer_tagger` and `xfer_encoder` factories: the encoder of
the shipped configs (`configs/*.cfg`, rendered from `experiments/template.cfg.jinja`),
chosen on the README's recipe ablation: the paper's char BiGRU (25-dim characters, 2 x
80 units), 50-dim words, a word BiGRU of 2 x 100 units (the paper's: 2 x 300), word
dropout 0.1 and lexical features (PREFIX, SUFFIX and SHAPE embeddings of 16 dims).
`nlp.add_pipe("xfer_tagger")` then builds the model the configs train; a test keeps the
two equal."""

from thinc.api import Config

DEFAULT_TOK2VEC_STR = """
[tok2vec]
@architectures = "spacy_xfer.CharWordEncoder.v3"
char_width = 25
char_output_width = 160
char_depth = 2
width = 50
output_width = 200
depth = 2
dropout = 0.0
normalize = true
min_freq = 1
use_vectors = true
max_vectors = 100000
word_dropout = 0.1

[tok2vec.lexical]
@architectures = "spacy_xfer.LexicalEmbed.v1"
attrs = ["PREFIX","SUFFIX","SHAPE"]
width = 16
min_freq = 1
word_dropout = 0.1
"""


def default_tok2vec() -> Config:
    """The default encoder's config (a fresh copy): `CharWordEncoder.v3`, `nO` 200."""
    return Config().from_str(DEFAULT_TOK2VEC_STR)["tok2vec"]


def default_tagger_model() -> Config:
    """The default `xfer_tagger` model's config: `CRFTagger.v1` over `default_tok2vec()`."""
    return Config({"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": default_tok2vec()})
