import math

import numpy
import pytest

from spacy_xfer.labelling_rate import sample_rate

ITEMS = list(range(1000))


@pytest.mark.parametrize("seed", [0, 1, 17])
def test_sample_rate_is_nested(seed):
    rates = [0.001, 0.01, 0.1, 0.5, 1.0]
    samples = [set(sample_rate(ITEMS, rate, seed)) for rate in rates]
    assert [len(sample) for sample in samples] == [1, 10, 100, 500, 1000]
    for smaller, larger in zip(samples, samples[1:]):
        assert smaller < larger


def test_sample_rate_follows_the_seeded_ranking():
    ranks = numpy.random.default_rng(3).permutation(len(ITEMS))
    expected = [item for item, rank in zip(ITEMS, ranks) if rank < 25]
    assert sample_rate(ITEMS, 0.025, 3) == expected


def test_sample_rate_is_deterministic_and_keeps_order():
    sample = sample_rate(ITEMS, 0.1, 5)
    assert sample == sample_rate(ITEMS, 0.1, 5)
    assert sample == sorted(sample)
    assert sample != sample_rate(ITEMS, 0.1, 6)


def test_sample_rate_keeps_at_least_one():
    assert len(sample_rate(["a", "b", "c"], 0.001, 0)) == 1
    assert sample_rate([], 0.5, 0) == []


def test_sample_rate_one_keeps_all():
    items = ["c", "a", "b"]
    assert sample_rate(items, 1.0, 9) == items


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.01, math.nan])
def test_sample_rate_rejects_invalid_rates(rate):
    with pytest.raises(ValueError, match="labelling rate"):
        sample_rate(ITEMS, rate, 0)
