"""SENNA-style gazetteers: mixed encodings, greedy longest match, features, serialisation."""

import pickle

import numpy
import pytest

from spacy_xfer.gazetteer import Gazetteer, load_gazetteer

LOC = "new york\nnew york city\nm\u00fcnchen".encode("latin-1") + b"\na coru\xc3\xb1a\nyork\n"
PER = b"york\nnew\n"


@pytest.fixture
def gazetteer(write, tmp_path):
    write(LOC, "senna/ner.loc.lst")
    write(PER, "senna/ner.per.lst")
    write(b"ignored\n", "senna/README")
    return load_gazetteer(tmp_path / "senna")


def test_types_from_file_names_and_mixed_encodings(gazetteer):
    assert gazetteer.types == ["LOC", "PER"]
    entries = gazetteer.entries()
    assert "m\u00fcnchen" in entries["LOC"] and "a coru\u00f1a" in entries["LOC"]
    assert entries["PER"] == ["new", "york"]
    assert len(gazetteer) == 6


def test_greedy_longest_match_left_to_right(gazetteer):
    words = "I love New York City and M\u00fcnchen , york".split()
    assert gazetteer.match(words) == [(2, 5, "LOC"), (6, 7, "LOC"), (8, 9, "LOC"), (8, 9, "PER")]
    assert gazetteer.match("new new york".split()) == [(0, 1, "PER"), (1, 3, "LOC")]
    assert gazetteer.match([]) == []


def test_token_features_are_bioes_per_type(gazetteer):
    labels = gazetteer.feature_labels
    assert labels == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-PER", "I-PER", "E-PER", "S-PER"]
    features = gazetteer.token_features("in new york city , york".split())
    assert features.dtype == numpy.float32 and features.shape == (6, 9)
    on = [[labels[j] for j in numpy.flatnonzero(row)] for row in features]
    assert on == [["O"], ["B-LOC"], ["I-LOC"], ["E-LOC"], ["O"], ["S-LOC", "S-PER"]]


def test_serialisation_bytes_disk_and_pickle(gazetteer, tmp_path):
    words = "new york city".split()
    copies = [
        Gazetteer().from_bytes(gazetteer.to_bytes()),
        pickle.loads(pickle.dumps(gazetteer)),
    ]
    gazetteer.to_disk(tmp_path / "gaz.bin")
    copies.append(Gazetteer().from_disk(tmp_path / "gaz.bin"))
    for copy in copies:
        assert copy.entries() == gazetteer.entries()
        assert copy.match(words) == gazetteer.match(words)


def test_files_given_one_by_one_and_no_lists(write, tmp_path):
    gaz = load_gazetteer([write(b"paris\n", "places.txt"), write(b"x y\n", "ner.misc.lst")])
    assert gaz.types == ["MISC", "PLACES"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="ner"):
        load_gazetteer(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_gazetteer(tmp_path / "missing")
