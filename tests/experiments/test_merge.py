"""Merged benchmarks: the prepared parts of two or more benchmarks of one language and
target, concatenated part by part (e.g. two corpora of one tag set as one larger source)."""

import json
import re

import pytest

from spacy_xfer.experiments.benchmarks import BENCHMARKS, load_benchmarks, prepared_benchmark, read_benchmarks
from spacy_xfer.experiments.steps import prepare_benchmark, prepared_label_notes

from .util import run, words_of

SPLITS = ("train", "dev", "test")


@pytest.fixture
def benchmarks_file(tmp_path):
    """A benchmarks file of `a` (train/dev/test files), `b` (one file, split at random)
    and `ab`, their merge; returns a function writing it with more entries."""
    folder = tmp_path / "data"
    folder.mkdir()
    for part in SPLITS:
        (folder / f"{part}.txt").write_text("".join(f"A{part}{i}\tB-person\nsat\tO\n\n" for i in range(4)), encoding="utf8")
    (folder / "b").mkdir()
    (folder / "b" / "train.txt").write_text("".join(f"B{i}\tB-location\n.\tO\n\n" for i in range(20)), encoding="utf8")
    a = {"format": "wnut", "lang": "en", "target": "ents", "files": {part: f"{part}.txt" for part in SPLITS}}
    b = {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": "b/train.txt"}, "split": [0.6, 0.2, 0.2]}

    def write(**more):
        path = folder / "benchmarks.json"
        path.write_text(json.dumps({"a": a, "b": b, "ab": {"merge": ["a", "b"], "description": "both"}, **more}))
        return path

    return write


def test_a_merge_is_its_parts_prepared_with_the_same_seed_and_concatenated(benchmarks_file, tmp_path):
    benchmarks = load_benchmarks(benchmarks_file())
    corpus = tmp_path / "corpus"
    for name in ("a", "b", "ab"):
        prepare_benchmark(name, None, corpus / name, 7, benchmarks=benchmarks)
    for part in SPLITS:
        expected = words_of(corpus / "a" / f"{part}.spacy") + words_of(corpus / "b" / f"{part}.spacy")
        assert words_of(corpus / "ab" / f"{part}.spacy") == expected
    stats = json.loads((corpus / "ab" / "train.stats.json").read_text())
    assert list(stats["merged"]) == ["a", "b"] and stats["sentences"] == 4 + 12
    assert stats["labels"]["ner"] == {"person": 4, "location": 12}
    assert stats["documents"] == 2  # both members read a train.txt, two documents
    files = sorted(path.name for path in (corpus / "ab").iterdir())
    assert files == ["benchmark.json", *sorted(f"{part}{ext}" for part in SPLITS for ext in (".spacy", ".stats.json"))]
    # train and evaluate read the merge's language and target, and the file keeps its parts' definitions
    definition = prepared_benchmark("ab", corpus)
    assert (definition["lang"], definition["target"], definition["merge"]) == ("en", "ents", ["a", "b"])
    parts = read_benchmarks(corpus / "ab" / "benchmark.json", relative_to_file=False)
    assert parts["b"]["files"] == {"all": str((tmp_path / "data" / "b" / "train.txt").resolve())}
    before = (corpus / "ab" / "train.spacy").read_bytes()
    prepare_benchmark("ab", None, corpus / "ab", 7, benchmarks=benchmarks)
    assert (corpus / "ab" / "train.spacy").read_bytes() == before  # same seed, same corpus
    prepare_benchmark("ab", None, corpus / "ab", 8, benchmarks=benchmarks)
    assert (corpus / "ab" / "train.spacy").read_bytes() != before  # b's split is drawn anew


@pytest.mark.parametrize("more,problem", [
    ({"ab": {"merge": ["a", "zz"]}}, r"'zz' is no benchmark; expected benchmarks built in or defined in a --benchmarks file \(not merges\): \[.*'a', 'b', 'conll00'"),
    ({"abb": {"merge": ["ab", "b"]}}, "'ab' is a merge itself; expected benchmarks read from corpus files"),
    ({"ab": {"merge": ["a", "b"], "lang": "nl"}}, r"its members have lang \{'a': 'en', 'b': 'en'\} and 'nl' of its own; expected one lang"),
    ({"t": {"format": "wnut", "lang": "en", "target": "tag", "files": {"all": "b/train.txt"}, "split": [0.6, 0.2, 0.2]},
      "ab": {"merge": ["a", "t"]}}, r"its members have target \{'a': 'ents', 't': 'tag'\}"),
])
def test_a_merge_of_what_cannot_be_concatenated_is_refused_before_any_work(benchmarks_file, tmp_path, more, problem):
    name = "abb" if "abb" in more else "ab"
    path = benchmarks_file(**more)
    message = rf"\[E114\] Benchmark '{name}' merges \[.*\]: {problem}"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {message}"):
        load_benchmarks(path)
    unchecked = {**BENCHMARKS, **read_benchmarks(path)}  # as prepare meets a merge no file check saw
    with pytest.raises(ValueError, match=message):
        prepare_benchmark(name, None, tmp_path / "corpus" / name, 0, benchmarks=unchecked)
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("entry,message", [
    ({"merge": ["a", "b"], "format": "wnut"}, r"so \['format'\] belong to those: expected only"),
    ({"merge": ["a"]}, r"merge is \['a'\]: expected two or more different benchmark names"),
    ({"merge": ["a", "a"]}, "expected two or more different"),
    ({"merge": "a,b"}, "merge is 'a,b': expected a JSON array"),
    ({"merge": ["a", "b"], "target": "pos"}, "target 'pos': expected one of"),
])
def test_a_merge_entry_is_checked_with_the_file(benchmarks_file, entry, message):
    path = benchmarks_file(ab=entry)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: \[E055\] benchmark 'ab': .*{message}"):
        read_benchmarks(path)


def test_prepare_says_what_a_merge_holds(benchmarks_file, tmp_path):
    result = run("prepare", "ab", tmp_path / "corpus" / "ab", "--benchmarks", benchmarks_file())
    assert result.exit_code == 0, result.output
    assert "ab train: 16 sentences, 32 tokens (4 from a, 12 from b)" in result.output
    assert "ab: lang en, target ents" in result.output
    # the members' tag sets are not mapped: each one's own labels are named
    assert "member a's train has 1 of its 1 ner labels in no other member ('person'; 4 occurrences)" in result.output
    assert "member b's train has 1 of its 1 ner labels in no other member ('location'; 12 occurrences)" in result.output
    assert result.output.count("most of its labels are its own: do the members use one tag set?") == 2


@pytest.mark.parametrize("member", ["train.spacy", "benchmark.json", "../escaped", "x/y", "."])
def test_a_member_named_like_a_file_or_a_path_is_prepared_inside_the_output_only(benchmarks_file, tmp_path, member):
    path = benchmarks_file(**{member: {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": "b/train.txt"},
                                       "split": [0.6, 0.2, 0.2]}, "m": {"merge": [member, "a"]}})
    corpus = tmp_path / "corpus"
    prepare_benchmark("m", None, corpus / "m", 0, benchmarks=load_benchmarks(path))
    assert sorted(p.name for p in corpus.iterdir()) == ["m"] and len(words_of(corpus / "m" / "train.spacy")) == 16
    # a member that fails leaves nothing behind, and the earlier output as it was
    before = {p.name: p.read_bytes() for p in (corpus / "m").iterdir()}
    (tmp_path / "data" / "test.txt").write_text("", encoding="utf8")
    with pytest.raises(ValueError, match=r"test.txt: \[E054\] no sentences read"):
        prepare_benchmark("m", None, corpus / "m", 0, benchmarks=load_benchmarks(path))
    assert {p.name: p.read_bytes() for p in (corpus / "m").iterdir()} == before
    assert sorted(p.name for p in corpus.iterdir()) == ["m"]


def test_prepare_says_which_members_are_your_definitions(benchmarks_file, tmp_path):
    ptb = {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": "b/train.txt"}, "split": [0.6, 0.2, 0.2]}
    path = benchmarks_file(ptb=ptb, ud_en=ptb)
    result = run("prepare", "ptb_ewt", tmp_path / "corpus" / "ptb_ewt", "--benchmarks", path)
    assert result.exit_code == 0, result.output
    assert "ptb: your definition, not the built-in benchmark" in result.output
    assert "ud_en: your definition, not the built-in benchmark" in result.output
    assert "ptb_ewt: your definition" not in result.output


def test_prepare_reads_every_benchmarks_file_and_a_merge_may_join_members_of_two(benchmarks_file, tmp_path):
    """--benchmarks repeated: each file's paths are its own, and a merge in one names a
    member of the other (a repeated option is not left to keep only the last)."""
    more = tmp_path / "more"
    more.mkdir()
    (more / "all.txt").write_text("".join(f"C{i}\tB-person\n!\tO\n\n" for i in range(10)), encoding="utf8")
    c = {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": "all.txt"}, "split": [0.6, 0.2, 0.2]}
    second = more / "benchmarks.json"
    second.write_text(json.dumps({"c": c, "ac": {"merge": ["a", "c"]}}), encoding="utf8")
    corpus = tmp_path / "corpus"
    result = run("prepare", "ac", corpus / "ac", "--benchmarks", benchmarks_file(), "--benchmarks", second)
    assert result.exit_code == 0, result.output
    assert "ac train: 10 sentences, 20 tokens (4 from a, 6 from c)" in result.output
    assert "member a's train" not in result.output  # both tag person only
    assert {w[0][0] for w in words_of(corpus / "ac" / "train.spacy")} == {"A", "C"}
    result = run("prepare", "ac", corpus / "ac2", "--benchmarks", second)
    assert result.exit_code == 1 and "[E114] Benchmark 'ac' merges ['a', 'c']: 'a' is no benchmark" in result.output
    # a file given twice (as in a generated command) is read once
    again = tmp_path / "data" / ".." / "data" / "benchmarks.json"
    result = run("prepare", "ac", corpus / "ac3", "--benchmarks", benchmarks_file(), "--benchmarks", second, "--benchmarks", again)
    assert result.exit_code == 0, result.output
    # members of another language: a member's file is named when it is not the merge's
    (more / "benchmarks.json").write_text(json.dumps({"c": {**c, "lang": "nl"}, "ac": {"merge": ["a", "c"]}}), encoding="utf8")
    result = run("prepare", "ac", corpus / "ac4", "--benchmarks", benchmarks_file(), "--benchmarks", second)
    assert result.exit_code == 1 and f"{second}: [E114] Benchmark 'ac'" in result.output
    assert f"its members have lang {{'a': 'en', 'c': 'nl'}} ('a' from {benchmarks_file()}); expected one lang" in result.output


def test_a_name_two_benchmarks_files_define_is_refused_naming_both(benchmarks_file, tmp_path):
    first = benchmarks_file()
    second = tmp_path / "second.json"
    second.write_text(json.dumps({"b": {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": str(first)}, "split": [0.6, 0.2, 0.2]}}))
    with pytest.raises(ValueError, match=rf"\[E115\] Benchmark 'b' is defined in {re.escape(str(first))} and again in {re.escape(str(second))}"):
        load_benchmarks(first, second)
    result = run("prepare", "a", tmp_path / "corpus" / "a", "--benchmarks", first, "--benchmarks", second)
    assert result.exit_code == 1 and "[E115] Benchmark 'b'" in result.output
    assert not (tmp_path / "corpus").exists()


def test_a_members_own_labels_are_noted_and_a_tag_set_is_questioned_only_when_most_are_its_own():
    def stats(labels):
        return {"labels": {"tag": labels}}

    merged = {"wsj": stats({"NN": 9, "VB": 4, "#": 1}), "web": stats({"NN": 7, "VB": 3, "HYPH": 2}), "upos": stats({"NOUN": 5, "VERB": 2, "NN": 1})}
    notes = prepared_label_notes({"target": "tag"}, {"train": {"labels": {"tag": {}}, "merged": merged}})
    assert notes[0] == "member wsj's train has 1 of its 3 tag labels in no other member ('#'; 1 occurrences): the merge learns them as they are (it maps no tags)"
    assert notes[1].startswith("member web's train has 1 of its 3 tag labels") and "one tag set" not in notes[1]
    assert notes[2].endswith("('NOUN', 'VERB'; 7 occurrences): the merge learns them as they are (it maps no tags); most of its labels are its own: do the members use one tag set?")
