"""Label mapping tables shipped as data."""

import json
import re

import pytest

from spacy_xfer.corpora import LabelMap, load_label_map, mapping_names
from spacy_xfer.corpora.mappings import MAPPINGS_DIR


def test_shipped_tables():
    assert {"genia-ptb", "twitter-ptb"} <= set(mapping_names())
    assert load_label_map("none") is None


@pytest.mark.parametrize(
    "tag,ptb",
    [("(", "-LRB-"), (")", "-RRB-"), ("PP", "PRP"), ("N", "NN"), ("-", "SYM"), ("XT", "DT"),
     ("CT", "DT"), ("JJ|NN", "JJ"), ("NN|CD", "NN"), ("NN", "NN"), ("", "")],
)  # fmt: skip
def test_genia_onto_ptb(tag, ptb):
    assert load_label_map("genia-ptb")(tag) == ptb


def test_twitter_tags_without_ptb_counterpart_stay_their_own():
    table = load_label_map("twitter-ptb")
    assert set(table.own_labels) == {"URL", "USR", "HT", "RT"}
    assert [table(tag) for tag in ("URL", "USR", "HT", "RT", "NN", "(")] == [
        "URL", "USR", "HT", "RT", "NN", "-LRB-"
    ]  # fmt: skip


def test_tables_are_data_in_the_package():
    for name in mapping_names():
        data = json.loads((MAPPINGS_DIR / f"{name}.json").read_text())
        assert data["name"] == name
        assert set(data) >= {"description", "renames", "alternatives", "own_labels"}


def test_user_table_from_a_json_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"renames": {"a": "b"}, "alternatives": "+"}))
    table = load_label_map(path)
    assert isinstance(table, LabelMap) and table.name == "mine"
    assert table("a+c") == "b"
    with pytest.raises(ValueError, match="genia-ptb"):
        load_label_map(tmp_path / "missing.json")
    path.write_text(json.dumps({"renames": ["not", "a", "dict"]}))
    with pytest.raises(ValueError, match=r"\[E082\] not a label mapping table \('renames' is list\)"):
        load_label_map(path)


@pytest.mark.parametrize("table,problem", [
    ({"renames": {"NN": 5}}, "'renames' maps 'NN' to 5"),
    ({"renames": {"NN": "A B"}}, "'renames' maps 'NN' to 'A B'"),  # a label with whitespace breaks the columns written
    ({"renames": {"DT": ""}}, "'renames' maps 'DT' to ''"),  # would silently make every DT a missing tag
    ({"alternatives": 5}, "'alternatives' is 5"),
    ({"own_labels": "X"}, "'own_labels' is 'X'"),
    ([1, 2], "found list"),
])
def test_a_table_of_wrong_types_or_labels_is_refused_naming_the_file(tmp_path, table, problem):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(table))
    with pytest.raises(ValueError, match=re.escape(f"{path}: [E082] not a label mapping table ({problem})")):
        load_label_map(path)
