"""`spacy_xfer.CRFTagger.v1` over encoders other than ours: spaCy's own tok2vec, a
model with no `nO` dimension, whose width the CRF measures at initialize, and spaCy's
StaticVectors (Ragged output) behind thinc's `ragged2list`."""

from typing import List

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import Model

from spacy_xfer.models.architectures import build_crf_tagger_v1

from ..util import NER_DATA, TAG_DATA, examples_for, train

HASH_EMBED_CNN = {
    "@architectures": "spacy.HashEmbedCNN.v2",
    "width": 16,
    "depth": 1,
    "embed_size": 200,
    "window_size": 1,
    "maxout_pieces": 2,
    "subword_features": True,
    "pretrained_vectors": None,
}


@spacy.registry.architectures("xfer_test.WidthlessTok2Vec.v1")
def widthless_tok2vec(tok2vec: Model[List[Doc], List]) -> Model[List[Doc], List]:
    """`tok2vec` behind a layer that declares no dimensions at all."""

    def forward(model, docs, is_train):
        return model.layers[0](docs, is_train)

    def init(model, X=None, Y=None):
        model.layers[0].initialize(X=X)

    return Model("widthless", forward, init=init, layers=[tok2vec])


def tagger(target: str, tok2vec: dict):
    nlp = spacy.blank("en")
    model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": tok2vec}
    nlp.add_pipe("xfer_tagger", config={"target": target, "model": model})
    return nlp


@pytest.mark.parametrize(
    "tok2vec",
    [HASH_EMBED_CNN, {"@architectures": "xfer_test.WidthlessTok2Vec.v1", "tok2vec": HASH_EMBED_CNN}],
    ids=["hash_embed_cnn", "no_nO"],
)
@pytest.mark.parametrize("target,data", [("tag", TAG_DATA), ("ents", NER_DATA)])
def test_crf_head_learns_over_spacy_tok2vec(tok2vec, target, data):
    nlp = tagger(target, tok2vec)
    examples = examples_for(nlp, data, target)
    losses = train(nlp, examples, steps=40)
    assert nlp.get_pipe("xfer_tagger").model.get_ref("emissions").get_dim("nI") == 16
    assert losses["xfer_tagger"] < 1.0
    scores = nlp.evaluate(examples)
    assert scores["xfer_tagger_score"] == 1.0
    again = tagger(target, tok2vec).from_bytes(nlp.to_bytes())
    texts = [text for text, _ in data]
    read = (lambda d: [t.tag_ for t in d]) if target == "tag" else (lambda d: [(e.start, e.end, e.label_) for e in d.ents])
    assert [read(d) for d in again.pipe(texts)] == [read(nlp(t)) for t in texts]


def test_width_that_cannot_be_measured_is_an_error():
    model = build_crf_tagger_v1(widthless_tok2vec(spacy.registry.resolve({"t": HASH_EMBED_CNN})["t"]), nO=3)
    with pytest.raises(ValueError, match=r"\[E017\].*'widthless'"):
        model.initialize(X=[Doc(spacy.blank("en").vocab, words=[])])


# spaCy's StaticVectors gives one Ragged for the batch; thinc's registered `ragged2list.v1`
# turns it into the List[Floats2d] a head takes (`init_W` must be given in a config: its
# default is a function, which a config cannot hold)
STATIC_VECTORS = {
    "@layers": "chain.v1",
    "*": {
        "vectors": {
            "@layers": "spacy.StaticVectors.v2",
            "nO": 12,
            "nM": None,
            "key_attr": "ORTH",
            "init_W": {"@initializers": "glorot_uniform_init.v1"},
        },
        "to_list": {"@layers": "ragged2list.v1"},
    },
}


def test_crf_head_learns_over_static_vectors_through_ragged2list(tmp_path):
    nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    nlp.vocab.reset_vectors(width=6)
    for word in sorted({word for text, _ in TAG_DATA for word in text.split()}):
        nlp.vocab.set_vector(word, rng.normal(size=6).astype("float32"))
    model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": STATIC_VECTORS}
    nlp.add_pipe("xfer_tagger", config={"target": "tag", "model": model})
    examples = examples_for(nlp, TAG_DATA, "tag")
    losses = train(nlp, examples, steps=60)
    assert nlp.get_pipe("xfer_tagger").model.get_ref("emissions").get_dim("nI") == 12
    assert losses["xfer_tagger"] < 2.0
    assert nlp.evaluate(examples)["xfer_tagger_acc"] == 1.0
    texts = [text for text, _ in TAG_DATA]
    nlp.to_disk(tmp_path / "nlp")
    again = spacy.load(tmp_path / "nlp")
    assert [[t.tag_ for t in doc] for doc in again.pipe(texts)] == [tags for _, tags in TAG_DATA]
