from itertools import count, cycle, islice
from typing import Iterator, List

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_xfer.training.task_batcher import batch_by_task, configure_batch_by_task_v1
from spacy_xfer.tasks import TASK_KEY

VOCAB = Vocab()


def make_examples(tasks: str) -> List[Example]:
    """One single-word Example per character of `tasks`, whose task is that character."""
    examples = []
    for i, task in enumerate(tasks):
        doc = Doc(VOCAB, words=[f"w{i}"], user_data={TASK_KEY: task})
        examples.append(Example(doc, doc.copy()))
    return examples


def shape(batches: List[List[Example]]) -> List[str]:
    return ["".join(eg.reference.user_data[TASK_KEY] for eg in batch) for batch in batches]


def test_batch_by_task_cuts_at_size_and_at_task_changes():
    batches = list(batch_by_task(make_examples("aaabbbbbbbbbbbbbaabc"), size=4))
    assert shape(batches) == ["aaa", "bbbb", "bbbb", "bbbb", "b", "aa", "b", "c"]
    assert [eg.x[0].text for batch in batches for eg in batch] == [f"w{i}" for i in range(20)]


def test_batch_by_task_is_lazy_on_an_endless_stream():
    pulled = count()

    def stream() -> Iterator[Example]:
        for eg in cycle(make_examples("aaaaaabbb")):
            next(pulled)
            yield eg

    batches = batch_by_task(stream(), size=3)
    assert shape(list(islice(batches, 3))) == ["aaa", "aaa", "bbb"]
    assert next(pulled) == 9  # a full batch is handed out without reading ahead
    for batch in islice(batches, 200):
        assert 1 <= len(batch) <= 3
        assert len({eg.reference.user_data[TASK_KEY] for eg in batch}) == 1


def test_batch_by_task_rejects_examples_without_a_task():
    doc = Doc(VOCAB, words=["w"])
    with pytest.raises(ValueError, match=TASK_KEY):
        list(batch_by_task([Example(doc, doc.copy())], size=2))


def test_batcher_resolves_from_the_registry():
    config = {"batcher": {"@batchers": "spacy_xfer.batch_by_task.v1", "size": 2}}
    batcher = spacy.registry.resolve(config)["batcher"]
    assert shape(list(batcher(make_examples("aaab")))) == ["aa", "a", "b"]


def test_batcher_rejects_invalid_size():
    with pytest.raises(ValueError, match="batch size 0"):
        configure_batch_by_task_v1(size=0)
