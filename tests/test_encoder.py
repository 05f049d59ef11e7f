"""The encoder's featurisation and its initialisation from a pipeline's vectors."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc

from spacy_xfer.models.encoder import build_char_word_encoder_v1
from spacy_xfer.models.featurize import CharFeaturizer, normalize_word
from spacy_xfer.models.string_table import UNKNOWN_ROW, StringTable


def test_distinct_words_are_encoded_once():
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["the", "cat", "the"]), Doc(vocab, words=["cat", "sat"])]
    table = StringTable(sorted(set("thecatsa")))
    chars, lengths, inverse = CharFeaturizer()(docs, table)
    assert chars.shape[0] == 3  # the, cat, sat
    assert lengths.tolist() == [3] * 3
    words = ["the", "cat", "the", "cat", "sat"]
    decoded = ["".join(table.strings[i - 2] for i in chars[row][: lengths[row]]) for row in inverse]
    assert decoded == words


def test_normalisation():
    assert normalize_word("Year-2017") == "year-0000"


def make_vectors_nlp(width: int):
    nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    words = ["king", "queen", "apple", "banana", "the", "paris"]
    data = rng.normal(size=(len(words), width)).astype("float32")
    data[1] = data[0] * 2  # queen points the way king does
    nlp.vocab.reset_vectors(width=width)
    for word, vector in zip(words, data):
        nlp.vocab.set_vector(word, vector)
    return nlp


@pytest.mark.parametrize("vector_width,width", [(12, 4), (3, 4)])
def test_rows_come_from_the_vectors(vector_width, width):
    nlp = make_vectors_nlp(vector_width)
    model = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=width, hidden=4, depth=1)
    docs = [Doc(nlp.vocab, words=["The", "King", "saw", "PARIS"])]
    model.initialize(X=docs)
    table = model.attrs["table"]
    # training words and vector words all have rows (lowercased)
    for word in ("the", "king", "saw", "paris", "queen", "banana"):
        assert table.row(word) != UNKNOWN_ROW
    weight = model.shims[0]._model.embed.weight.detach().numpy()
    king, queen = weight[table.row("king")], weight[table.row("queen")]
    used = min(vector_width, width)
    cosine = king[:used] @ queen[:used] / numpy.linalg.norm(king[:used]) / numpy.linalg.norm(queen[:used])
    assert cosine == pytest.approx(1.0, abs=1e-4)
    random_init = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=width, hidden=4, depth=1)
    random_init.initialize(X=[Doc(spacy.blank("en").vocab, words=["king", "queen"])])
    table2 = random_init.attrs["table"]
    w2 = random_init.shims[0]._model.embed.weight.detach().numpy()
    k2, q2 = w2[table2.row("king")], w2[table2.row("queen")]
    assert abs(k2 @ q2 / numpy.linalg.norm(k2) / numpy.linalg.norm(q2)) < 0.99


def test_use_vectors_false_ignores_them():
    nlp = make_vectors_nlp(6)
    model = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=4, hidden=4, depth=1, use_vectors=False)
    model.initialize(X=[Doc(nlp.vocab, words=["king"])])
    assert "queen" not in model.attrs["table"]
