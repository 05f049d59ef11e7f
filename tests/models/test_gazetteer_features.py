"""spacy_xfer.GazetteerFeatures.v1: gazetteer one-hots appended to the CRF input."""

import pickle
import shutil

import numpy
import pytest
import spacy
from spacy.util import registry
from thinc.api import fix_random_seed

from spacy_xfer.models.architectures import build_gazetteer_features_v1

from ..util import NER_DATA, examples_for, train

LABELS = ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
COLUMN = {label: i for i, label in enumerate(LABELS)}

TINY_TOK2VEC = {
    "@architectures": "spacy_xfer.CharWordEncoder.v1",
    "char_width": 4,
    "char_hidden": 4,
    "char_depth": 1,
    "width": 4,
    "hidden": 8,
    "depth": 1,
}


@pytest.fixture
def lists(tmp_path):
    folder = tmp_path / "gazetteers"
    folder.mkdir()
    # "São Paulo" in Latin-1 bytes, "Zürich" in UTF-8: each line is decoded on its own
    (folder / "ner.loc.lst").write_bytes(
        b"New York\nNew York City\nParis\nS\xe3o Paulo\nZ\xc3\xbcrich\nWashington\n"
    )
    (folder / "ner.per.lst").write_bytes(b"Anna\nBob Smith\nWashington\n")
    return folder


@pytest.fixture
def nlp():
    return spacy.blank("en")


def one_hot(tags):
    """Expected rows: the tags of each word (several for entries in several lists)."""
    rows = numpy.zeros((len(tags), len(LABELS)), dtype="float32")
    for i, word_tags in enumerate(tags):
        for tag in word_tags.split("|"):
            rows[i, COLUMN[tag]] = 1.0
    return rows


def test_features_shape_and_values(lists, nlp):
    model = build_gazetteer_features_v1(str(lists))
    docs = [
        nlp("Anna moved from new york city to São Paulo"),
        nlp("Bob Smith met Washington in Zürich"),
        nlp("nothing here"),
        nlp(""),
    ]
    model.initialize(X=docs[:1])
    assert model.get_dim("nO") == len(LABELS)
    assert model.attrs["gazetteer"].feature_labels == LABELS
    out, backprop = model(docs, is_train=True)
    assert [o.shape for o in out] == [(9, 9), (6, 9), (2, 9), (0, 9)]
    assert all(o.dtype == numpy.float32 for o in out)
    assert all(isinstance(o, type(model.ops.alloc2f(1, 1))) for o in out)
    # longest match wins ("new york city", not "new york"), case-insensitive, Latin-1 line
    expected = one_hot(["S-PER", "O", "O", "B-LOC", "I-LOC", "E-LOC", "O", "B-LOC", "E-LOC"])
    numpy.testing.assert_array_equal(out[0], expected)
    # an entry in two lists sets a column of each type; UTF-8 line
    expected = one_hot(["B-PER", "E-PER", "O", "S-LOC|S-PER", "O", "S-LOC"])
    numpy.testing.assert_array_equal(out[1], expected)
    numpy.testing.assert_array_equal(out[2], one_hot(["O", "O"]))
    # constant inputs: nothing to learn, no gradient
    assert backprop([model.ops.alloc2f(*o.shape) for o in out]) == []
    assert model(docs[:0], is_train=False)[0] == []


def test_registered_and_no_path(nlp):
    make = registry.architectures.get("spacy_xfer.GazetteerFeatures.v1")
    assert make is build_gazetteer_features_v1
    model = make()
    assert not model.has_dim("nO")  # unknown until initialize
    model.initialize()
    assert model.get_dim("nO") == 1
    (out,) = model.predict([nlp("Anna lives here")])
    numpy.testing.assert_array_equal(out, numpy.ones((3, 1), dtype="float32"))


def test_lists_read_at_initialize_not_construction(tmp_path):
    missing = tmp_path / "missing"
    model = build_gazetteer_features_v1(str(missing))  # building never reads the path
    with pytest.raises(FileNotFoundError):
        model.initialize()


def test_list_files(lists, nlp):
    model = build_gazetteer_features_v1([str(lists / "ner.per.lst")])
    model.initialize()
    assert model.attrs["gazetteer"].feature_labels == ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    (out,) = model.predict([nlp("Bob Smith")])
    assert out.argmax(axis=1).tolist() == [1, 3]


def test_serialization_carries_the_gazetteer(lists, tmp_path, nlp):
    model = build_gazetteer_features_v1(str(lists))
    model.initialize()
    docs = [nlp("Anna visited São Paulo and New York"), nlp("")]
    expected = model.predict(docs)
    data = model.to_bytes()
    other = tmp_path / "other"
    other.mkdir()
    (other / "ner.misc.lst").write_text("Anna\n")
    gone = tmp_path / "gone"
    for path in [None, str(gone), str(other)]:  # no path, a missing one, other lists
        loaded = build_gazetteer_features_v1(path).from_bytes(data)
        assert loaded.get_dim("nO") == len(LABELS)
        assert loaded.attrs["gazetteer"].entries() == model.attrs["gazetteer"].entries()
        for got, want in zip(loaded.predict(docs), expected):
            numpy.testing.assert_array_equal(got, want)
    copied = pickle.loads(pickle.dumps(model))
    numpy.testing.assert_array_equal(copied.predict(docs)[0], expected[0])
    # initializing again without the lists keeps the stored gazetteer
    loaded = build_gazetteer_features_v1(str(gone)).from_bytes(data)
    loaded.initialize()
    numpy.testing.assert_array_equal(loaded.predict(docs)[0], expected[0])


def test_pipeline_trains_saves_and_loads_without_the_lists(lists, tmp_path):
    fix_random_seed(0)
    nlp = spacy.blank("en")
    model = {
        "@architectures": "spacy_xfer.CRFTagger.v1",
        "tok2vec": dict(TINY_TOK2VEC),
        "features": {"@architectures": "spacy_xfer.GazetteerFeatures.v1", "path": str(lists)},
    }
    nlp.add_pipe("xfer_tagger", config={"target": "ents", "model": model})
    examples = examples_for(nlp, NER_DATA, "ents")
    train(nlp, examples, steps=40)
    tagger = nlp.get_pipe("xfer_tagger")
    features = tagger.model.layers[1]
    assert features.get_dim("nO") == len(LABELS)
    assert tagger.model.get_ref("emissions").get_dim("nI") == 2 * 8 + len(LABELS)
    texts = [text for text, _ in NER_DATA] + ["Bob Smith lives in São Paulo", ""]
    before = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    assert before[0] == [(0, 1, "PER"), (3, 5, "LOC")]  # learned the training data

    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(lists)
    loaded = spacy.load(tmp_path / "pipeline")
    after = [[(e.start, e.end, e.label_) for e in doc.ents] for doc in loaded.pipe(texts)]
    assert after == before
    loaded_features = loaded.get_pipe("xfer_tagger").model.layers[1]
    assert loaded_features.attrs["gazetteer"].entries() == features.attrs["gazetteer"].entries()
    again = type(nlp).from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert [[(e.start, e.end, e.label_) for e in doc.ents] for doc in again.pipe(texts)] == before
