import json
import logging
import math
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Dict, List, Tuple

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from spacy.training.loop import create_train_batches
from thinc.api import Config

from spacy_xfer.labelling_rate import sample_rate
from spacy_xfer.training.task_batcher import configure_batch_by_task_v1
from spacy_xfer.tasks import TASK_KEY
from spacy_xfer.training.task_sampler import TaskSampler, left_out_tasks, read_task_settings

from .util import blank_english, make_docs, write_docbin

PROBS = {"pos": 0.5, "ner": 0.3, "chunk": 0.2}


def sampler_config(tasks: Dict[str, dict], **settings) -> str:
    """A `[corpora.train]` block for the task sampler; values are written as JSON."""
    lines = ["[corpora]", "", "[corpora.train]", '@readers = "spacy_xfer.TaskSampler.v1"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    lines += ["", "[corpora.train.tasks]"]
    for name, task in tasks.items():
        lines += ["", f"[corpora.train.tasks.{name}]"]
        for key, value in task.items():
            lines.append(f"{key} = {json.dumps(str(value) if key == 'path' and value is not None else value)}")
    return "\n".join(lines)


def resolve_sampler(tasks: Dict[str, dict], **settings) -> TaskSampler:
    config = Config().from_str(sampler_config(tasks, **settings))
    return spacy.registry.resolve(config)["corpora"]["train"]


def stream_summary(sampler: TaskSampler, n_examples: int) -> List[Tuple[str, str]]:
    """(task, first word) of the first examples of a new stream."""
    return [
        (eg.reference.user_data[TASK_KEY], eg.reference[0].text)
        for eg in islice(sampler.stream(Vocab()), n_examples)
    ]


def with_probs(paths: Dict[str, Path], probs: Dict[str, float]) -> Dict[str, dict]:
    return {name: {"path": path, "prob": probs[name]} for name, path in paths.items()}


@pytest.fixture
def sampler(three_tasks: Dict[str, Path]) -> TaskSampler:
    return resolve_sampler(with_probs(three_tasks, PROBS), seed=0, batch_size=2, log_every=100)


def test_realised_proportions_match_the_configured_ones(sampler):
    n_batches = 600
    stream = sampler.stream(Vocab())
    examples = list(islice(stream, n_batches * sampler.batch_size))
    assert sum(sampler.batch_counts.values()) == n_batches
    assert sampler.probs == {name: PROBS[name] for name in sorted(PROBS)}
    for task, prob in sampler.probs.items():
        std_error = math.sqrt(prob * (1 - prob) / n_batches)
        assert abs(sampler.proportions[task] - prob) < 4 * std_error
    # the counts describe the stream: one task per run of `batch_size` examples
    tasks = [eg.reference.user_data[TASK_KEY] for eg in examples]
    per_batch = [tasks[i : i + 2] for i in range(0, len(tasks), 2)]
    assert all(batch[0] == batch[1] for batch in per_batch)
    assert Counter(batch[0] for batch in per_batch) == sampler.batch_counts


def test_same_seed_same_stream(three_tasks, sampler):
    first = stream_summary(sampler, 300)
    assert stream_summary(sampler, 300) == first
    again = resolve_sampler(with_probs(three_tasks, PROBS), seed=0, batch_size=2)
    assert stream_summary(again, 300) == first
    other = resolve_sampler(with_probs(three_tasks, PROBS), seed=1, batch_size=2)
    assert stream_summary(other, 300) != first


def test_examples_carry_their_task_and_keep_the_given_words(tmp_path):
    vocab = Vocab()
    doc = Doc(vocab, words=["I", "ca", "n't", "go"], spaces=[True, False, True, False])
    doc.user_data["source"] = "kept"
    path = write_docbin(tmp_path / "twitter.spacy", [doc])
    sampler = resolve_sampler({"tw": {"path": path, "prob": 1.0}}, batch_size=3)
    for eg in islice(sampler.stream(vocab), 3):
        assert eg.predicted.user_data[TASK_KEY] == eg.reference.user_data[TASK_KEY] == "tw"
        assert [t.text for t in eg.predicted] == ["I", "ca", "n't", "go"]
        assert eg.predicted.text == eg.reference.text == "I can't go"
        assert eg.reference.user_data["source"] == "kept"


def test_each_pass_over_a_task_is_a_new_permutation(tmp_path):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 6))
    sampler = resolve_sampler({"a": {"path": path, "prob": 1.0}}, batch_size=6, seed=3)
    words = [word for _, word in stream_summary(sampler, 6 * 8)]
    passes = [tuple(words[i : i + 6]) for i in range(0, len(words), 6)]
    assert all(sorted(p) == sorted(f"a{i}" for i in range(6)) for p in passes)
    assert len(set(passes)) > 1


def test_labelling_rate_keeps_the_seeded_nested_subset(tmp_path):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 40))
    for rate, rate_seed in [(0.1, 0), (0.1, 4), (0.5, 4)]:
        task = {"a": {"path": path, "prob": 1.0, "rate": rate}}
        sampler = resolve_sampler(task, rate_seed=rate_seed, batch_size=5)
        seen = {word for _, word in stream_summary(sampler, 200)}
        expected = sample_rate([f"a{i}" for i in range(40)], rate, rate_seed)
        assert seen == set(expected)


def test_folders_and_multi_sentence_docs_are_read_as_sentences(tmp_path):
    vocab = Vocab()
    two = Doc(vocab, words=["One", ".", "Two", "."], sent_starts=[True, False, True, False])
    write_docbin(tmp_path / "corpus" / "part1.spacy", [two])
    write_docbin(tmp_path / "corpus" / "nested" / "part2.spacy", make_docs("b", 2))
    write_docbin(tmp_path / "corpus" / "part3.spacy", [Doc(vocab, words=[])])
    sampler = resolve_sampler({"a": {"path": tmp_path / "corpus", "prob": 1.0}}, batch_size=4)
    sentences = sampler.read_sentences(sampler.tasks[0], vocab)
    texts = sorted(" ".join(token.text for token in doc) for doc in sentences)
    assert texts == ["One .", "Two .", "b0 saw it", "b1 saw it"]


def test_probabilities_are_normalised(three_tasks):
    tasks = with_probs(three_tasks, {name: 2 for name in three_tasks})
    assert resolve_sampler(tasks).probs == {name: 1 / 3 for name in sorted(three_tasks)}


def test_realised_proportions_are_logged(three_tasks, caplog):
    tasks = with_probs(three_tasks, {name: 1 for name in three_tasks})
    sampler = resolve_sampler(tasks, batch_size=1, log_every=5)
    with caplog.at_level(logging.INFO, logger="spacy.xfer"):
        list(islice(sampler.stream(Vocab()), 10))
    logged = [r.getMessage() for r in caplog.records if "task proportions" in r.getMessage()]
    assert len(logged) == 2
    assert logged[-1].startswith("TaskSampler: after 10 batches")
    assert all(f"{name} " in logged[-1] for name in three_tasks)


def test_stream_feeds_spacys_streaming_training_loop(sampler):
    nlp = blank_english()
    batcher = configure_batch_by_task_v1(size=2)
    batches = create_train_batches(nlp, sampler, batcher, max_epochs=-1)
    for epoch, batch in islice(batches, 50):
        assert epoch == 0
        assert len(batch) == 2
        assert len({eg.reference.user_data[TASK_KEY] for eg in batch}) == 1


@pytest.mark.parametrize(
    "settings,error,message",
    [
        ({"prob": 0.0}, ValueError, "Task 'a': invalid prob 0.0"),
        ({"prob": -1}, ValueError, "Task 'a': invalid prob -1"),
        ({"prob": "half"}, ValueError, "Task 'a': invalid prob 'half'"),
        ({"prob": 1, "rate": 0}, ValueError, "Task 'a': labelling rate 0 keeps no sentences; a streamed task"),
        ({"prob": 1, "rate": -0.1}, ValueError, "Task 'a': invalid labelling rate -0.1"),
        ({"prob": 1, "rate": 1.5}, ValueError, "Task 'a': invalid labelling rate 1.5"),
        ({"prob": 1, "weight": 1}, ValueError, r"Task 'a': unknown settings \['weight'\]"),
        ({}, ValueError, r"Task 'a': .*missing settings \['prob'\]"),
    ],
)
def test_invalid_task_settings_are_rejected(tmp_path, settings, error, message):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 2))
    with pytest.raises(error, match=message):
        resolve_sampler({"a": {"path": path, **settings}})


def test_missing_corpus_paths_are_rejected(tmp_path):
    missing = tmp_path / "nowhere" / "train.spacy"
    with pytest.raises(FileNotFoundError, match=f"Task 'b': corpus path {missing} not found"):
        resolve_sampler({"b": {"path": missing, "prob": 1}})
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning), pytest.raises(FileNotFoundError, match="no .spacy files"):
        resolve_sampler({"b": {"path": tmp_path / "empty", "prob": 1}})


@pytest.mark.parametrize("settings", [{"batch_size": 0}, {"log_every": -1}, {"seed": -1}, {"rate_seed": -2}])
def test_invalid_sampler_settings_are_rejected(tmp_path, settings):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 2))
    (setting,) = settings
    with pytest.raises(ValueError, match=rf"\[E038\] Invalid (spacy_xfer.TaskSampler.v1's )?{setting} "):
        resolve_sampler({"a": {"path": path, "prob": 1}}, **settings)


def test_numpy_integer_seeds_are_seeds(tmp_path):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 2))
    sampler = TaskSampler([read_task_settings("a", {"path": path, "prob": 1})], seed=numpy.int64(13), rate_seed=numpy.int32(2))
    assert sampler.seed == 13 and sampler.rate_seed == 2


def test_a_finite_reader_leaves_out_a_task_at_rate_0_without_reading_it(tmp_path, caplog):
    kept = write_docbin(tmp_path / "a.spacy", make_docs("a", 3))
    unreadable = tmp_path / "b.spacy"
    unreadable.write_bytes(b"not a DocBin")
    tasks = {"a": {"path": kept, "prob": 1}, "b": {"path": unreadable, "prob": 1, "rate": 0}}
    sampler = resolve_sampler(tasks, stream=False)
    with caplog.at_level(logging.INFO, logger="spacy.xfer"):
        examples = list(sampler.stream(Vocab()))
    assert f"TaskSampler: task 'b' left out (rate 0): {unreadable} not read" in caplog.text
    assert [(eg.reference.user_data[TASK_KEY], eg.reference[0].text) for eg in examples] == [
        ("a", "a0"), ("a", "a1"), ("a", "a2")
    ]


def test_a_left_out_task_needs_no_path_but_any_other_does(tmp_path):
    kept = write_docbin(tmp_path / "a.spacy", make_docs("a", 2))
    sampler = resolve_sampler({"a": {"path": kept, "prob": 1}, "b": {"path": None, "prob": 1, "rate": 0}}, stream=False)
    assert [eg.reference.user_data[TASK_KEY] for eg in sampler.stream(Vocab())] == ["a", "a"]
    with pytest.raises(FileNotFoundError, match="Task 'b': corpus path None not found"):
        resolve_sampler({"a": {"path": kept, "prob": 1}, "b": {"path": None, "prob": 1, "rate": 0.5}}, stream=False)
    with pytest.raises(ValueError, match="Task 'b': labelling rate 0 keeps no sentences; a streamed task"):
        resolve_sampler({"a": {"path": kept, "prob": 1}, "b": {"path": None, "prob": 1, "rate": 0}})


def test_a_finite_reader_needs_one_task_it_reads(tmp_path):
    path = write_docbin(tmp_path / "a.spacy", make_docs("a", 2))
    with pytest.raises(ValueError, match="Task 'a': labelling rate 0 keeps no sentences; at least one task"):
        resolve_sampler({"a": {"path": path, "prob": 1, "rate": 0}}, stream=False)


def test_left_out_tasks_are_those_of_a_task_sampler_at_rate_0():
    sampler = {"@readers": "spacy_xfer.TaskSampler.v1", "tasks": {
        "a": {"rate": 0}, "b": {"rate": 0.0}, "c": {"rate": False}, "d": {}, "e": {"rate": 0.5}}}
    assert left_out_tasks(sampler) == ["a", "b"]
    assert left_out_tasks({"@readers": "spacy.Corpus.v1", "tasks": {"a": {"rate": 0}}}) == []
    assert left_out_tasks(None) == []
