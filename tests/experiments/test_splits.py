"""In-order splits: `split --order file`, and `split_order: file` of a benchmark (for a
corpus to split and for dev taken from train)."""

import json

import pytest

from spacy_xfer.corpora import split_items

from .util import WNUT, failure, run, words_of

ITEMS = list(range(20))


def first_words(path):
    return [words[0] for words in words_of(path)]


def test_file_order_splits_into_contiguous_runs_whatever_the_seed():
    parts = split_items(ITEMS, (0.7, 0.2, 0.1), 13, order="file")
    assert parts == [ITEMS[:14], ITEMS[14:18], ITEMS[18:]]
    assert split_items(ITEMS, (0.7, 0.2, 0.1), 14, order="file") == parts
    assert split_items(ITEMS, (0.7, 0.2, 0.1), 13) != parts  # random by default
    with pytest.raises(ValueError, match="Unknown split order 'sorted'"):
        split_items(ITEMS, (0.7, 0.2, 0.1), 13, order="sorted")


def test_split_command_in_file_order(tmp_path):
    corpus = tmp_path / "ner.txt"
    corpus.write_text(WNUT, encoding="utf8")
    for seed in ("1", "2"):
        result = run("split", "wnut", corpus, tmp_path / seed, "--order", "file", "--ratios", "0.5", "0.25", "0.25",
                     "--seed", seed)
        assert result.exit_code == 0, result.output
    assert first_words(tmp_path / "1" / "train.spacy") == [f"P{i}" for i in range(6)]
    assert first_words(tmp_path / "1" / "dev.spacy") == ["P6", "P7", "P8"]
    assert first_words(tmp_path / "1" / "test.spacy") == ["P9", "P10", "P11"]
    for part in ("train", "dev", "test"):
        assert words_of(tmp_path / "1" / f"{part}.spacy") == words_of(tmp_path / "2" / f"{part}.spacy")
    stats = json.loads((tmp_path / "1" / "dev.stats.json").read_text())
    assert stats["order"] == "file"
    assert "'sorted': expected one of random, file" in failure(run("split", "wnut", corpus, tmp_path, "--order", "sorted"))


def test_dev_from_train_in_file_order_is_the_last_share_of_train(wnut_files, tmp_path):
    out = tmp_path / "corpus" / "mine"
    files = ("--train", wnut_files["train"], "--test", wnut_files["test"])
    result = run("prepare", "mine", out, "--format", "wnut", "--lang", "en", "--target", "ents", *files,
                 "--dev-from-train", "0.25", "--split-order", "file")
    assert result.exit_code == 0, result.output
    assert first_words(out / "train.spacy") == [f"P{i}" for i in range(9)]
    assert first_words(out / "dev.spacy") == ["P9", "P10", "P11"]
    assert len(words_of(out / "test.spacy")) == 12
    definition = json.loads((out / "benchmark.json").read_text())["mine"]
    assert (definition["dev_from_train"], definition["split_order"]) == (0.25, "file")


@pytest.mark.parametrize("order", ["file", "random"])
def test_a_benchmark_split_follows_its_split_order(order, write_benchmarks, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ner.txt").write_text(WNUT, encoding="utf8")
    bench = {"format": "wnut", "lang": "en", "target": "ents", "files": {"all": "ner.txt"}, "split": [0.5, 0.25, 0.25]}
    path = write_benchmarks({"tweets": {**bench, "split_order": order}})
    outputs = []
    for seed in (0, 1):
        out = tmp_path / "corpus" / f"{seed}"
        result = run("prepare", "tweets", out, "--benchmarks", path, "--seed", seed)
        assert result.exit_code == 0, result.output
        outputs.append(first_words(out / "test.spacy"))
    if order == "file":
        assert outputs == [["P9", "P10", "P11"]] * 2
    else:
        assert outputs[0] != outputs[1]
