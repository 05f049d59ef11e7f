"""The command line: convert, split, export, --help, errors and atomic writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.cli import experiment as experiment_cli
from spacy_xfer.corpora import io as corpora_io
from spacy_xfer.corpora import SPLIT_NAMES, write_atomic
from spacy_xfer.device import DeviceError, gpu_problems, use_device

from .test_readers import CONLL2003

TWEETS = "".join(f"w{i} NN\nx{i} VB\n\n" for i in range(50))


def run(*args: str):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def load(path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def test_help_lists_the_commands_and_formats():
    result = subprocess.run(
        [sys.executable, "-m", "spacy_xfer", "--help"], capture_output=True, text=True, check=True
    )
    assert all(command in result.stdout for command in ("convert", "split", "export"))
    for command in ("convert", "split", "export"):
        assert run(command, "--help").exit_code == 0
    assert "twitter-chunk" in run("convert", "--help").stdout


def test_convert_writes_docbin_and_stats(write, tmp_path):
    output = tmp_path / "corpus" / "conll03" / "train.spacy"
    result = run("convert", "conll2003", write(CONLL2003, "eng.train"), output)
    assert result.exit_code == 0, result.output
    docs = load(output)
    assert [len(doc) for doc in docs] == [4, 2, 3]
    assert docs[0].user_data["doc_id"] == "eng.train#1"
    stats = json.loads((output.parent / "train.stats.json").read_text())
    assert (stats["sentences"], stats["tokens"], stats["documents"]) == (3, 9, 2)
    assert stats["labels"]["ner"]["LOC"] == 2
    assert stats["format"] == "conll2003" and stats["rate"] == 1.0


def test_convert_with_rate_and_seed(write, tmp_path):
    path = write(TWEETS)
    run("convert", "twitter-pos", path, tmp_path / "a.spacy", "--rate", "0.1", "--seed", "13")
    run("convert", "twitter-pos", path, tmp_path / "b.spacy", "--rate", "0.2", "--seed", "13")
    small, large = ([d.text for d in load(tmp_path / f"{n}.spacy")] for n in "ab")
    assert len(small) == 5 and len(large) == 10 and set(small) < set(large)
    stats = json.loads((tmp_path / "a.stats.json").read_text())
    assert (stats["sentences_read"], stats["sentences"], stats["seed"]) == (50, 5, 13)


def test_split_writes_three_parts(write, tmp_path):
    out = tmp_path / "twpos"
    args = ("split", "twitter-pos", write(TWEETS), out, "--ratios", "0.8", "0.1", "0.1")
    args += ("--seed", "13")
    assert run(*args).exit_code == 0
    parts = {name: [d.text for d in load(out / f"{name}.spacy")] for name in SPLIT_NAMES}
    assert [len(p) for p in parts.values()] == [40, 5, 5]
    assert len(set(sum(parts.values(), []))) == 50
    assert all((out / f"{name}.stats.json").exists() for name in parts)
    assert run(*args, "--rate", "0.5").exit_code == 0
    assert len(load(out / "train.spacy")) == 20


def test_split_refuses_an_empty_part_and_writes_nothing(write, tmp_path):
    path = write("w NN\nx VB\n\ny NN\n\n")
    result = run("split", "twitter-pos", path, tmp_path / "out", "--ratios", "0.8", "0.1", "0.1")
    assert result.exit_code == 1
    assert "[E095]" in result.output and "its dev part would hold no sentences" in result.output
    assert not (tmp_path / "out").exists()
    # the folders made for the output are removed again, also on a path through `..`
    result = run("split", "twitter-pos", path, tmp_path / "new" / ".." / "x" / "out")
    assert result.exit_code == 1 and "[E095]" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]
    assert run("split", "twitter-pos", path, tmp_path / "out", "--ratios", "0.5", "0.5", "0").exit_code == 0
    assert [len(load(tmp_path / "out" / f"{name}.spacy")) for name in SPLIT_NAMES] == [1, 1, 0]


def test_malformed_input_fails_cleanly_and_writes_nothing(write, tmp_path):
    output = tmp_path / "out" / "train.spacy"
    result = run("convert", "conll2000", write("a DT B-NP\nb NN\n\nc DT B-NP\n", "bad.txt"), output)
    assert result.exit_code == 1
    assert "bad.txt:2: [E053] 2 columns; expected 3 columns" in result.output
    assert "--lenient" in result.output
    assert not output.exists() and list(tmp_path.glob("out/*")) == []
    result = run("convert", "conll2000", tmp_path / "bad.txt", output, "--lenient")
    assert result.exit_code == 0
    assert "1 skipped, 1 sentences left out" in result.output
    stats = json.loads((tmp_path / "out" / "train.stats.json").read_text())
    assert stats["problems"]["skipped_lines"] == 1
    # a sentence that lost a line is left out whole, not kept with a word missing
    assert [[t.text for t in doc] for doc in load(output)] == [["c"]]


def test_bad_options_are_reported(write, tmp_path):
    path = write("a NN\n")
    assert run("convert", "conll", path, tmp_path / "x.spacy").exit_code == 2
    assert run("convert", "twitter-pos", path, tmp_path / "x.spacy", "--rate", "0").exit_code == 2
    result = run("convert", "twitter-pos", path, tmp_path / "x.spacy", "--map", "nope")
    assert result.exit_code == 1 and "genia-ptb" in result.output
    result = run("split", "twitter-pos", path, tmp_path, "--ratios", "0.5", "0.1", "0.1")
    assert result.exit_code == 1 and "ratios" in result.output


def test_interrupted_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "train.spacy"
    target.write_bytes(b"old")

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(corpora_io.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["train.spacy"]


def test_outputs_that_would_replace_an_input_are_refused_and_the_input_kept(write, tmp_path):
    path = write(TWEETS, "tweets.txt")
    stats_clash = write(TWEETS, "t.stats.json")  # the stats file of t.spacy
    split_clash = write(TWEETS, "train.spacy")  # the train part of a split into its folder
    run("convert", "twitter-pos", path, tmp_path / "in.spacy")
    for args in (
        ("convert", "twitter-pos", path, path),
        ("convert", "twitter-pos", stats_clash, tmp_path / "t.spacy"),
        ("split", "twitter-pos", split_clash, split_clash.parent),
        ("export", tmp_path / "in.spacy", tmp_path / "in.spacy"),
    ):
        result = run(*args)
        assert result.exit_code == 1 and "[E038]" in result.output, result.output
        assert "does not replace an input file" in result.output
    assert path.read_text() == stats_clash.read_text() == split_clash.read_text() == TWEETS
    assert len(load(tmp_path / "in.spacy")) == 50 and not (tmp_path / "t.spacy").exists()


def test_outputs_inside_a_folder_input_can_be_written_again(tmp_path):
    """A folder input is read by the format's pattern: a DocBin written there by a
    first run is no input of the second."""
    corpus = tmp_path / "ptb"
    corpus.mkdir()
    (corpus / "wsj_0001.pos").write_text("[ The/DT dog/NN ]\nbarks/VBZ ./.\n\n[ A/DT cat/NN ]\nsits/VBZ ./.\n")
    for _ in range(2):
        result = run("convert", "ptb", corpus, corpus / "out.spacy")
        assert result.exit_code == 0, result.output
        result = run("split", "ptb", corpus, corpus / "parts", "--ratios", "0.5", "0.5", "0")
        assert result.exit_code == 0, result.output


def test_an_output_in_a_folder_one_cannot_write_is_refused_naming_the_folder(write, tmp_path, monkeypatch):
    """Checked with `os.access` (patched: the tests may run as root, who can write
    anywhere): the nearest existing folder of a new output, the folder of an existing
    file, an existing output folder itself, and the folder above a split's output
    folder, where its files are staged."""
    path = write(TWEETS, "tweets.txt")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.spacy").write_bytes(b"")
    (locked / "parts").mkdir()
    real_access = corpora_io.os.access
    monkeypatch.setattr(corpora_io.os, "access", lambda p, mode: not (Path(p) == locked and mode & os.W_OK) and real_access(p, mode))
    for args in (
        ("convert", "twitter-pos", path, locked / "new" / "t.spacy"),
        ("convert", "twitter-pos", path, locked / "old.spacy"),
        ("split", "twitter-pos", path, locked),
        ("split", "twitter-pos", path, locked / "parts"),
    ):
        result = run(*args)
        assert result.exit_code == 1 and "[E038]" in result.output, result.output
        assert f"a path in a folder you can write ({locked} is not)" in " ".join(result.output.split())
    assert sorted(p.name for p in locked.iterdir()) == ["old.spacy", "parts"] and not any((locked / "parts").iterdir())
    assert run("convert", "twitter-pos", path, tmp_path / "t.spacy").exit_code == 0


def test_a_failed_stats_path_leaves_no_docbin(write, tmp_path):
    (tmp_path / "out.stats.json").mkdir()
    result = run("convert", "twitter-pos", write(TWEETS), tmp_path / "out.spacy")
    assert result.exit_code == 1 and "[E081]" in result.output
    assert not (tmp_path / "out.spacy").exists()


def test_export_writes_columns_back(write, tmp_path):
    run("convert", "conll2003", write(CONLL2003, "eng.train"), tmp_path / "c.spacy")
    result = run("export", tmp_path / "c.spacy", tmp_path / "c.txt", "--sep", "space")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "c.txt").read_text().split("\n")
    assert lines[:3] == ["EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "German JJ B-NP B-MISC"]
    run("export", tmp_path / "c.spacy", tmp_path / "n.txt", "--layers", "ner")
    assert (tmp_path / "n.txt").read_text().startswith("EU\tB-ORG\nrejects\tO\n")
    result = run("export", tmp_path / "c.spacy", "-", "--layers", "ner")  # the standard output
    assert result.exit_code == 0 and result.stdout == (tmp_path / "n.txt").read_text()
    assert "-: 3 sentences of 3 docs" in result.stderr and not Path("-").exists()


def test_export_writes_a_blank_line_after_each_sentence_of_a_doc(tmp_path):
    # a DocBin of `spacy convert` holds several sentences per Doc
    doc = Doc(Vocab(), words=["Hi", ".", "Bye", "."], tags=["UH", ".", "UH", "."], sent_starts=[True, False, True, False])
    DocBin(docs=[doc, Doc(doc.vocab, words=["Yes"], tags=["UH"])]).to_disk(tmp_path / "s.spacy")
    result = run("export", tmp_path / "s.spacy", tmp_path / "s.txt")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.txt").read_text() == "Hi\tUH\n.\t.\n\nBye\tUH\n.\t.\n\nYes\tUH\n\n"
    assert "3 sentences of 2 docs" in result.stdout


@pytest.mark.parametrize("words,sep,token,problem", [
    (["He", "-DOCSTART-", "here"], "tab", "token 1 ('-DOCSTART-')", "read back as a document separator"),
    (["A", " ", "b"], "tab", "token 1 (' ')", "read back as the fields ['NN']"),
    (["a", " b"], "tab", "token 1 (' b')", "read back as the fields ['b', 'NN']"),
    (["in", "New York"], "space", "token 1 ('New York')", "read back as the fields ['New', 'York', 'NN']"),
    (["a\nb"], "tab", "token 0 ('a\\nb')", "holds a line break"),
])
def test_export_refuses_a_word_convert_would_read_otherwise(tmp_path, words, sep, token, problem):
    vocab = Vocab()
    path, output = tmp_path / "w.spacy", tmp_path / "w.txt"
    DocBin(docs=[Doc(vocab, words=["ok"], tags=["NN"]), Doc(vocab, words=words, tags=["NN"] * len(words))]).to_disk(path)
    result = run("export", path, output, "--sep", sep)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: [E110] doc 1 cannot be written as columns")
    assert token in result.stderr and problem in result.stderr, result.stderr
    assert "expected words and labels that the column readers read back as written" in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("tag,problem", [
    ("N N", "a label with whitespace (['N N'])"),
    ("_", "token 0 ('b') has the tag '_', which reads back as a missing tag"),
])
def test_export_refuses_a_tag_convert_would_read_otherwise(tmp_path, tag, problem):
    path, output = tmp_path / "t.spacy", tmp_path / "t.txt"
    DocBin(docs=[Doc(Vocab(), words=["b"], tags=[tag])]).to_disk(path)
    result = run("export", path, output)
    assert result.exit_code == 1 and "[E110] doc 0" in result.stderr and problem in result.stderr, result.stderr
    assert not output.exists()


def test_exported_words_with_non_ascii_whitespace_read_back_as_given(write, tmp_path):
    path = write("\u00a0abc\tNN\nx\u3000\tNN\n\u00a0\tNN\n", "nb.txt")
    assert run("convert", "twitter-pos", path, tmp_path / "nb.spacy").exit_code == 0
    assert run("export", tmp_path / "nb.spacy", tmp_path / "nb.out").exit_code == 0
    assert (tmp_path / "nb.out").read_text() == path.read_text() + "\n"


def test_export_of_overlapping_chunks_names_the_docbin_and_the_doc(tmp_path):
    vocab = Vocab()
    doc = Doc(vocab, words=["a", "b", "c", "d"])
    doc.spans["chunks"] = [Span(doc, 0, 2, "NP"), Span(doc, 1, 3, "NP")]
    path = tmp_path / "o.spacy"
    DocBin(docs=[Doc(vocab, words=["ok"]), doc]).to_disk(path)
    result = run("export", path, tmp_path / "o.txt", "--layers", "chunk")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: [E110] doc 1 cannot be written as columns")
    assert "[E045] Chunks overlap at tokens 1-3" in result.stderr
    assert not (tmp_path / "o.txt").exists()


def test_empty_word_is_a_file_line_error_and_lenient_skips_its_sentence(write, tmp_path):
    row = "{}\t{}\t_\tNOUN\t_\t_\t0\troot\t_\t_\n"
    path = write(row.format(1, "a") + row.format(2, "") + "\n" + row.format(1, "b"), "e.conllu")
    output = tmp_path / "out" / "e.spacy"
    result = run("convert", "conllu", path, output)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}:2: [E053] empty word; expected ")
    assert "--lenient" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    result = run("convert", "conllu", path, output, "--lenient")
    assert result.exit_code == 0, result.output
    assert "1 sentences left out" in result.stderr
    assert [doc.text for doc in load(output)] == ["b "]
    stats = json.loads((tmp_path / "out" / "e.stats.json").read_text())
    assert (stats["sentences"], stats["problems"]["skipped_sentences"]) == (1, 1)


@pytest.mark.parametrize("line", ["\tO", "rocks\t"])
def test_an_empty_tab_field_at_either_end_of_a_line_is_named(write, tmp_path, line):
    """`<TAB>tag` and `word<TAB>` have the layout's width before stripping: the error
    says a field is empty, not that the line has one column. TABs that end a line of
    full fields, and lines indented with a TAB, read as before."""
    output = tmp_path / "out" / "t.spacy"
    path = write(f"Going\tO\n{line}\n", "w.txt")
    result = run("convert", "wnut", path, output)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}:2: [E053] an empty TAB field at the start or end of the line")
    result = run("convert", "wnut", write("Going\tO\t\n\tto\tB-loc\nhome O\t\n", "t.txt"), output)
    assert result.exit_code == 0, result.output
    assert [(t.text, t.ent_iob_) for t in load(output)[0]] == [("Going", "O"), ("to", "B"), ("home", "O")]
    result = run("convert", "conll2002", write("Juan\tB-PER\t\nvive\tO\n", "c.txt"), output)
    assert result.exit_code == 0, result.output
    assert [t.ent_type_ for t in load(output)[0]] == ["PER", ""]


def test_lines_that_end_with_cr_only_are_named_and_lenient_splits_them(write, tmp_path):
    path = write("Going\tO\rto\tO\r\rI\tO\r", "mac.txt")
    output = tmp_path / "out" / "m.spacy"
    result = run("convert", "wnut", path, output)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}:1: [E053] carriage returns (CR) inside a line without LF")
    assert not (tmp_path / "out").exists()
    result = run("convert", "wnut", path, output, "--lenient")
    assert result.exit_code == 0, result.output
    assert [doc.text.split() for doc in load(output)] == [["Going", "to"], ["I"]]
    # a stray CR in a file of LF line ends is not a line end
    result = run("convert", "wnut", write("Going\r\tO\nto\tO\r\n", "stray.txt"), output)
    assert result.exit_code == 0, result.output
    assert [t.text for t in load(output)[0]] == ["Going", "to"]


@pytest.mark.parametrize("command", ["convert", "split"])
def test_input_that_yields_nothing_is_an_error_and_writes_nothing(write, tmp_path, command):
    output = tmp_path / "out" / ("x.spacy" if command == "convert" else "parts")
    empty = write("", "empty.txt")
    result = run(command, "conll2003", empty, output)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {empty}: [E054] no sentences read; expected at least one")
    row = "{}\t{}\t_\tNOUN\t_\t_\t0\troot\t_\t_\n"
    no_xpos = write(row.format(1, "a") + row.format(2, "b"), "ewt.conllu")
    result = run(command, "conllu", no_xpos, output, "--conllu-tag", "xpos")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {no_xpos}: [E054] no tag labels: the CoNLL-U XPOS field")
    assert "--lenient" not in result.stderr  # lenient reading would not help
    assert not (tmp_path / "out").exists()


REPO = Path(__file__).resolve().parents[2]
SINGLE_CFG = REPO / "configs" / "single.cfg"
NO_GPU = bool(gpu_problems(0))


TRAIN = ("train", SINGLE_CFG, "OUT")
EXPERIMENT_ERRORS = [
    # (arguments, start of the message); OUT, TMP and MISSING stand for paths in tmp_path
    (("prepare", "nope", "MISSING", "OUT"), "[E039] Unknown benchmark 'nope': expected one of"),
    (("prepare", "ptb", "MISSING", "OUT"), "[E061] Benchmark 'ptb': all file not found"),
    (TRAIN + ("--target", "nope"), "[E058] Unknown benchmark 'nope'"),
    (
        TRAIN + ("--target", "twitter_pos", "--corpus-dir", "MISSING"),
        "[E065] MISSING/twitter_pos/train.spacy not found: expected the output of",
    ),
    (
        ("train", REPO / "configs" / "t_a.cfg", "OUT", "--target", "twitter_pos"),
        "[E064] This config needs a source corpus: pass --source",
    ),
    (("evaluate", "TMP", "OUT/m.json", "--target", "twitter_pos"), "[E053] Could not read meta"),
]


@pytest.mark.parametrize("args,message", EXPERIMENT_ERRORS)
def test_experiment_commands_report_user_errors_in_one_line(tmp_path, args, message):
    def fill(text):
        text = str(text).replace("OUT", str(tmp_path / "out")).replace("TMP", str(tmp_path))
        return text.replace("MISSING", str(tmp_path / "x"))

    result = run(*map(fill, args))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {fill(message)}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bugs_keep_their_traceback(monkeypatch):
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(experiment_cli, "prepare_benchmark", bug)
    result = run("prepare", "ptb", "x", "y")
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


@pytest.mark.skipif(not NO_GPU, reason="this machine has a usable GPU")
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_gpu_without_cupy_or_cuda_fails_first_in_one_line(tmp_path, command):
    out = tmp_path / "out"
    if command == "train":
        args = ("train", SINGLE_CFG, out, "--target", "twitter_pos", "--corpus-dir", tmp_path)
    else:
        args = ("evaluate", tmp_path, out / "m.json", "--target", "twitter_pos")
    result = run(*args, "--gpu-id", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: [E052] GPU 0 was requested, but ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.skipif(not NO_GPU, reason="this machine has a usable GPU")
def test_gpu_error_of_the_real_command_is_one_line(tmp_path):
    # the command the project runs with --vars.gpu_id 0
    out = tmp_path / "training"
    args = ["train", str(SINGLE_CFG), str(out), "--target", "twitter_pos", "--gpu-id", "0"]
    result = subprocess.run(
        [sys.executable, "-m", "spacy_xfer", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 1
    with pytest.raises(DeviceError) as info:
        use_device(0)
    assert result.stderr.splitlines() == [f"Error: {info.value}"]
    assert result.stdout == "" and not out.exists()


@pytest.mark.parametrize("encoding,expected", [
    ("bogus", "a Python text codec name"),
    ("utf-16", "an encoding that writes a line break as the byte"),
])
def test_an_encoding_the_readers_cannot_use_is_refused(write, tmp_path, encoding, expected):
    result = run("convert", "wnut", write("a\tO\n"), tmp_path / "x.spacy", "--encoding", encoding)
    assert result.exit_code == 1 and f"Invalid encoding '{encoding}': expected {expected}" in result.output
    assert not (tmp_path / "x.spacy").exists()
