"""Benchmark definitions: the built-in ones, user benchmark files, and their checks."""

import copy
import json
import re
import pytest

from spacy_xfer.experiments.benchmarks import (
    BENCHMARKS,
    check_benchmark,
    find_file,
    get_benchmark,
    load_benchmarks,
    read_benchmarks,
)
from spacy_xfer.experiments.steps import prepare_benchmark

MINE = {
    "format": "wnut",
    "lang": "en",
    "target": "ents",
    "files": {"train": "train.txt", "dev": "dev.txt", "test": "test.txt"},
}


def test_built_in_benchmarks_pass_the_schema_and_ud_en_comes_as_xpos_and_upos():
    for name, bench in BENCHMARKS.items():
        check_benchmark(name, bench, "benchmarks.json")
    xpos, upos = BENCHMARKS["ud_en"], BENCHMARKS["ud_en_upos"]
    assert (xpos["conllu_tag"], upos["conllu_tag"]) == ("xpos", "upos")
    assert xpos["files"] == upos["files"] and xpos["target"] == upos["target"] == "tag"


def test_user_file_paths_are_relative_to_it_and_its_entries_replace_built_in_ones(write_benchmarks, tmp_path):
    conll03 = {**MINE, "format": "conll2003", "files": {**MINE["files"], "test": "/abs/test.txt"}}
    path = write_benchmarks({"mine": MINE, "conll03": conll03})
    benchmarks = load_benchmarks(path)
    assert benchmarks["mine"]["files"]["train"] == str((tmp_path / "data" / "train.txt").resolve())
    assert benchmarks["conll03"]["files"]["test"] == "/abs/test.txt"
    assert benchmarks["conll03"]["format"] == "conll2003" and benchmarks["ptb"] == BENCHMARKS["ptb"]
    assert BENCHMARKS["conll03"]["files"]["train"] == "conll2003/eng.train"  # built-ins untouched
    assert get_benchmark("mine", benchmarks)["lang"] == "en"
    with pytest.raises(ValueError, match=r"\[E039\] Unknown benchmark 'wnut17'.*--benchmarks FILE"):
        get_benchmark("wnut17", benchmarks)


def changed(**settings):
    bench = copy.deepcopy(MINE)
    for key, value in settings.items():
        if value is None:
            del bench[key]
        else:
            bench[key] = value
    return bench


@pytest.mark.parametrize(
    "bench,message",
    [
        (changed(format="wnut17"), "unknown format 'wnut17': expected one of .*'wnut'"),
        (changed(target="pos"), "target 'pos': expected one of \\['tag', 'ents', 'spans:chunks'\\]"),
        (changed(target="spans:np"), "target 'spans:np'"),
        (changed(lang="english"), "unknown language code 'english'"),
        (changed(lang=None), "missing setting\\(s\\) \\['lang'\\]"),
        (changed(taget="ents"), "unknown setting\\(s\\) \\['taget'\\]"),
        (changed(lenient="yes"), "lenient is 'yes': expected a JSON boolean"),
        (changed(dev_from_train=0.1), "expected files.dev or dev_from_train"),
        (changed(files={"train": "a", "dev": "b"}), "expected train and test"),
        (changed(files={"train": "a", "tests": "b"}), "files has parts \\['tests', 'train'\\]"),
        (changed(files={"train": "a", "dev": [], "test": "c"}), "files.dev is \\[\\]"),
        (changed(files={"all": "a"}), "files.all .* with split"),
        (changed(files={"all": "a"}, split=[0.8, 0.1, 0.2]), "summing to 1"),
        (changed(files={"all": "a"}, split=[True, False, False]), "three non-negative ratios"),  # JSON true is no number
        (changed(split=[0.8, 0.1, 0.1]), "split is for files.all only"),
        (changed(split_order="sorted"), "split_order 'sorted': expected one of \\['random', 'file'\\]"),
        (changed(conllu_tag="xpos"), "conllu_tag is for the 'conllu' format only, not 'wnut'"),
        (changed(split_order="file"), "split_order says how a split is drawn: expected it with dev_from_train"),
        (changed(encoding="bogus"), "encoding 'bogus': expected a Python text codec name"),
        (changed(encoding="hex"), "encoding 'hex': expected a Python text codec name"),
        (changed(encoding="rot13"), "encoding 'rot13': expected an encoding that writes a line break as the byte"),
        (changed(encoding="utf-16"), "encoding 'utf-16': expected an encoding that writes a line break as the byte"),
        (changed(format="conllu", conllu_tag="lemma"), "conllu_tag 'lemma'"),
        (changed(format="columns"), "needs a 'columns' spec"),
        (changed(t_a_label_maps={"conll03": ["PER"]}), "t_a_label_maps\\['conll03'\\]"),
        ("ents", "expected an object of settings"),
    ],
)
def test_schema_errors_name_the_file_the_benchmark_and_what_was_expected(bench, message, write_benchmarks):
    path = write_benchmarks({"mine": bench})
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: \[E055\] benchmark 'mine': .*{message}"):
        read_benchmarks(path)


def test_a_file_that_is_not_json_or_no_json_object_is_named_with_its_line(tmp_path):
    path = tmp_path / "benchmarks.json"
    path.write_text('{\n  "mine": {"format": "wnut",}\n}')
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: \[E056\] .*expected a JSON benchmarks file"):
        read_benchmarks(path)
    path.write_text('["mine"]')
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: \[E057\] found a JSON array; expected a JSON object"):
        read_benchmarks(path)


def test_missing_files_and_a_missing_corpora_folder_are_named(write_benchmarks, tmp_path):
    benchmarks = load_benchmarks(write_benchmarks({"mine": MINE}))
    with pytest.raises(FileNotFoundError, match=rf"\[E061\] Benchmark 'mine': train file not found .*{re.escape(str(tmp_path / 'data' / 'train.txt'))}"):
        prepare_benchmark("mine", None, tmp_path / "out", 0, benchmarks=benchmarks)
    with pytest.raises(ValueError, match=r"\[E060\] Benchmark 'conll03' reads its train file from a corpora folder .*pass CORPORA_DIR"):
        prepare_benchmark("conll03", None, tmp_path / "out", 0)
    with pytest.raises(FileNotFoundError, match=r"\[E061\] .*layout of ../shared/corpora"):
        find_file("conll03", "train", tmp_path, "conll2003/eng.train")
    assert not (tmp_path / "out").exists()


def test_a_target_the_corpus_does_not_annotate_stops_prepare(write_benchmarks, wnut_files, tmp_path):
    path = write_benchmarks({"mine": {**MINE, "target": "tag"}})
    out = tmp_path / "corpus" / "mine"
    with pytest.raises(ValueError, match=r"\[E063\] Benchmark 'mine': target 'tag', but its wnut train part .* has no tag labels .*\['ents'\]"):
        prepare_benchmark("mine", None, out, 0, benchmarks=load_benchmarks(path))
    assert not out.parent.exists()  # no part written, no staging left, no folder made for them
    wnut_files["train"].write_text("Going\tO\nhome\tO\n", encoding="utf8")  # no entity at all
    path = write_benchmarks({"mine": MINE})
    with pytest.raises(ValueError, match=r"has no ner labels \(it has: none\): expected a train file with gold labels\."):
        prepare_benchmark("mine", None, out, 0, benchmarks=load_benchmarks(path))


def test_a_failed_prepare_leaves_the_earlier_output_as_it_was(write_benchmarks, wnut_files, tmp_path):
    out = tmp_path / "corpus" / "mine"
    prepare_benchmark("mine", None, out, 0, benchmarks=load_benchmarks(write_benchmarks({"mine": MINE})))
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    wnut_files["test"].write_text("John\tB-person\nlives\nin\tO\n", encoding="utf8")
    with pytest.raises(ValueError, match=r"test.txt:2: \[E053\]"):
        prepare_benchmark("mine", None, out, 0, benchmarks=load_benchmarks(write_benchmarks({"mine": MINE})))
    # train and dev were converted before test failed: none of them replaced the old files
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in out.parent.iterdir()) == ["mine"]


@pytest.mark.parametrize("settings,part,source", [
    ({"files": {"train": "train.txt", "test": "test.txt"}, "dev_from_train": 0.01}, "dev", "a 0.01 share of .*train.txt"),
    ({"files": {"all": "train.txt"}, "split": [0.5, 0.5, 0.0]}, "test", "a 0 share of .*train.txt"),
])
def test_a_part_without_sentences_stops_prepare(write_benchmarks, wnut_files, tmp_path, settings, part, source):
    path = write_benchmarks({"mine": {**MINE, **settings}})
    out = tmp_path / "corpus" / "mine"
    with pytest.raises(ValueError, match=rf"\[E083\] Benchmark 'mine': its {part} part would hold no sentences \({source}\)"):
        prepare_benchmark("mine", None, out, 0, benchmarks=load_benchmarks(path))
    assert not out.exists()


def test_an_output_folder_that_is_a_dangling_link_is_refused_before_any_work(write_benchmarks, wnut_files, tmp_path):
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "gone", target_is_directory=True)
    with pytest.raises(ValueError, match=r"\[E038\] Invalid output folder .*out.*symbolic link to a missing target"):
        prepare_benchmark("mine", None, link, 0, benchmarks=load_benchmarks(write_benchmarks({"mine": MINE})))


def test_an_output_folder_that_is_a_file_is_refused(write_benchmarks, wnut_files, tmp_path):
    with pytest.raises(ValueError, match=r"\[E038\] Invalid output folder .*expected a folder, not a file"):
        prepare_benchmark("mine", None, wnut_files["train"], 0, benchmarks=load_benchmarks(write_benchmarks({"mine": MINE})))


def test_benchmarks_file_with_a_bom_is_read_and_a_name_given_twice_or_non_utf8_is_refused(tmp_path):
    path = tmp_path / "benchmarks.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"mine": MINE}).encode("utf8"))
    assert read_benchmarks(path)["mine"]["lang"] == "en"
    path.write_text('{"mine": %s,\n "mine": %s}' % (json.dumps(MINE), json.dumps({**MINE, "target": "tag"})))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: \[E084\] 'mine' appears twice"):
        read_benchmarks(path)
    path.write_bytes(b'{\n"mine": {"description": "caf\xe9"}}')
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: \[E056\] byte b'\\xe9' is not UTF-8"):
        read_benchmarks(path)


def test_a_label_map_file_is_relative_to_the_benchmarks_file(write_benchmarks, tmp_path):
    path = write_benchmarks({"mine": {**MINE, "label_map": "map.json"}, "other": {**MINE, "label_map": "genia-ptb"}})
    benchmarks = load_benchmarks(path)
    assert benchmarks["mine"]["label_map"] == str((tmp_path / "data" / "map.json").resolve())
    assert benchmarks["other"]["label_map"] == "genia-ptb"  # a shipped table keeps its name
