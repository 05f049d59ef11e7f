"""The command line: convert, split, export, --help, errors and atomic writes."""

import json
import subprocess
import sys

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.corpora import io as corpora_io
from spacy_xfer.corpora import SPLIT_NAMES, write_atomic

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


def test_malformed_input_fails_cleanly_and_writes_nothing(write, tmp_path):
    output = tmp_path / "out" / "train.spacy"
    result = run("convert", "conll2000", write("a DT B-NP\nb NN\n", "bad.txt"), output)
    assert result.exit_code == 1
    assert "bad.txt:2: 2 columns; expected 3 columns" in result.output
    assert "--lenient" in result.output
    assert not output.exists() and list(tmp_path.glob("out/*")) == []
    result = run("convert", "conll2000", tmp_path / "bad.txt", output, "--lenient")
    assert result.exit_code == 0
    assert "1 skipped" in result.output
    stats = json.loads((tmp_path / "out" / "train.stats.json").read_text())
    assert stats["problems"]["skipped_lines"] == 1


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


def test_export_writes_columns_back(write, tmp_path):
    run("convert", "conll2003", write(CONLL2003, "eng.train"), tmp_path / "c.spacy")
    result = run("export", tmp_path / "c.spacy", tmp_path / "c.txt", "--sep", "space")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "c.txt").read_text().split("\n")
    assert lines[:3] == ["EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "German JJ B-NP B-MISC"]
    run("export", tmp_path / "c.spacy", tmp_path / "n.txt", "--layers", "ner")
    assert (tmp_path / "n.txt").read_text().startswith("EU\tB-ORG\nrejects\tO\n")
