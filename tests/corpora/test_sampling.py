"""Labelling rate (nested seeded samples) and seeded random splits."""

import pytest

from spacy_xfer.corpora import SPLIT_NAMES, split_items
from spacy_xfer.labelling_rate import sample_rate

ITEMS = list(range(1000))


def test_labelling_rate_samples_are_nested_ordered_and_non_empty():
    small, large = sample_rate(ITEMS, 0.001, 13), sample_rate(ITEMS, 0.01, 13)
    assert len(small) == 1 and len(large) == 10
    assert set(small) < set(large)
    assert large == sorted(large)
    assert sample_rate(ITEMS[:5], 0.001, 13) != []
    with pytest.raises(ValueError):
        sample_rate(ITEMS, 0.0, 13)


def test_split_sizes_disjoint_ordered_and_seeded():
    parts = split_items(ITEMS, (0.8, 0.1, 0.1), 13)
    assert [len(part) for part in parts] == [800, 100, 100]
    assert sorted(sum(parts, [])) == ITEMS
    assert all(part == sorted(part) for part in parts)
    assert parts == split_items(ITEMS, (0.8, 0.1, 0.1), 13)
    assert parts != split_items(ITEMS, (0.8, 0.1, 0.1), 14)
    assert SPLIT_NAMES == ("train", "dev", "test")


def test_split_rounds_and_allows_empty_parts():
    assert [len(p) for p in split_items(list(range(787)), (0.8, 0.1, 0.1), 0)] == [630, 78, 79]
    assert [len(p) for p in split_items(ITEMS, (0.9, 0.1, 0.0), 0)] == [900, 100, 0]
    assert split_items([], (0.8, 0.1, 0.1), 0) == [[], [], []]


@pytest.mark.parametrize("ratios", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_split_rejects_ratios_that_do_not_sum_to_one(ratios):
    with pytest.raises(ValueError, match="ratios"):
        split_items(ITEMS, ratios, 0)
