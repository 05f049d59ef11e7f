"""`spacy train` reads each corpus file once per process: the shipped T-B config calls
task samplers over the same `.spacy` files from every component's initialize, the
training stream and every evaluation; a user training on a 1 GB corpus relies on it
being read once, and on the training log saying once what each task keeps."""

import logging
from collections import Counter
from pathlib import Path
from typing import Dict

from spacy.language import Language
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_config
from spacy.vocab import Vocab

from spacy_xfer.training import task_sampler

from .util import make_docs, write_docbin

CONFIG = Path(__file__).parent.parent.parent / "configs" / "t_b.cfg"
TINY_ENCODER = {"char_width": 4, "char_output_width": 4, "width": 4, "output_width": 8, "depth": 1, "char_depth": 1}


def counting_reads(monkeypatch) -> Counter:
    """Count the reads of each `.spacy` file (by name) by the task sampler."""
    reads: Counter = Counter()
    read_docs = task_sampler.read_docs

    def counted(path, vocab):
        reads[Path(path).name] += 1
        return read_docs(path, vocab)

    monkeypatch.setattr(task_sampler, "read_docs", counted)
    return reads


def test_spacy_train_reads_each_corpus_file_once(tmp_path, monkeypatch, caplog):
    paths: Dict[str, str] = {
        name: str(write_docbin(tmp_path / f"{name}.spacy", make_docs(name, 12)))
        for name in ("source_train", "source_dev", "target_train", "target_dev")
    }
    overrides = {f"paths.{name}": path for name, path in paths.items()}
    overrides.update({f"components.encoder.model.{key}": value for key, value in TINY_ENCODER.items()})
    # the source's dev set is scored too (the shipped configs leave it out)
    overrides.update({"training.max_steps": 3, "training.eval_frequency": 1, "xfer.source_dev_rate": 1.0})
    config = load_config(CONFIG, overrides=overrides, interpolate=False)
    reads = counting_reads(monkeypatch)
    reads_at_first_update: Dict[str, int] = {}
    update = Language.update

    def first_update_noted(nlp, *args, **kwargs):
        if not reads_at_first_update:
            reads_at_first_update.update(reads)
        return update(nlp, *args, **kwargs)

    monkeypatch.setattr(Language, "update", first_update_noted)
    with caplog.at_level(logging.INFO, logger="spacy.xfer"):
        train(init_nlp(config), None)
    # before this change each training file was read 7 times before the first update
    # (3 components' initialize read the stream and their own corpus, then the loop)
    assert reads_at_first_update == {"source_train.spacy": 1, "target_train.spacy": 1}
    # four evaluations, each file read once
    assert reads == {name: 1 for name in ("source_train.spacy", "target_train.spacy", "source_dev.spacy", "target_dev.spacy")}
    kept = [record.getMessage() for record in caplog.records if "keeps" in record.getMessage()]
    assert len(kept) == 4 and len(set(kept)) == 4
    assert sorted(message.rsplit("/", 1)[1] for message in kept) == sorted(Path(p).name for p in paths.values())


def test_a_changed_file_is_read_again(tmp_path, monkeypatch):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 3))
    vocab = Vocab()
    reads = counting_reads(monkeypatch)
    first = task_sampler.file_sentences(path, vocab)
    assert task_sampler.file_sentences(path, vocab) is first
    assert task_sampler.file_sentences(path, Vocab()) is not first  # docs belong to their vocab
    write_docbin(path, make_docs("b", 4))
    again = task_sampler.file_sentences(path, vocab)
    assert [doc[0].text for doc in again] == ["b0", "b1", "b2", "b3"]
    assert reads["a.spacy"] == 3


def test_one_file_for_two_tasks_keeps_each_tasks_name(tmp_path):
    path = str(write_docbin(tmp_path / "a.spacy", make_docs("a", 4)))
    vocab = Vocab()
    sampler = task_sampler.create_task_sampler_v1(
        {"x": {"path": path, "prob": 1.0}, "y": {"path": path, "prob": 1.0}}, stream=False
    )
    examples = list(sampler.stream(vocab))
    assert [eg.reference.user_data[task_sampler.TASK_KEY] for eg in examples] == ["x"] * 4 + ["y"] * 4


def test_a_finite_reader_makes_its_examples_once(tmp_path):
    path = tmp_path / "a.spacy"
    write_docbin(path, make_docs("a", 3))
    vocab = Vocab()

    def examples():  # a new reader each time, as each component's initialize corpus is
        return list(task_sampler.create_task_sampler_v1({"a": {"path": str(path), "prob": 1.0}}, stream=False).stream(vocab))

    first = examples()
    assert len(first) == 3 and all(a is b for a, b in zip(first, examples()))
    write_docbin(path, make_docs("b", 2))
    assert [eg.x[0].text for eg in examples()] == ["b0", "b1"]
