"""Labelling rate (paper section 3.3): keep a seeded random fraction of a corpus.

The sample is nested: for one seed and one corpus, the sample at a lower rate is contained
in the sample at any higher rate, so results across rates (the paper's Figure 2) compare
growing sets of labelled sentences rather than unrelated ones.
"""

from typing import List, Sequence, TypeVar

import numpy

from .errors import Errors

T = TypeVar("T")


def sample_rate(items: Sequence[T], rate: float, seed: int) -> List[T]:
    """Keep a fraction `rate` of `items`, chosen by `seed`, in their original order.

    Each item gets a rank from the seeded permutation
    `numpy.random.default_rng(seed).permutation(len(items))`; the items with rank below
    `max(1, round(rate * len(items)))` are kept. At least one item is kept from a
    non-empty sequence, and rate 1.0 keeps everything.

    items (Sequence[T]): The items to sample from, e.g. the sentences of a corpus.
    rate (float): The fraction to keep, in (0, 1].
    seed (int): The seed of the permutation that ranks the items.
    RETURNS (List[T]): The kept items, in their original order.
    """
    if not 0.0 < rate <= 1.0:
        raise ValueError(Errors.E038.format(setting="labelling rate", value=rate, expected="a number in (0, 1]"))
    n_items = len(items)
    if n_items == 0:
        return []
    ranks = numpy.random.default_rng(seed).permutation(n_items)
    n_keep = max(1, round(rate * n_items))
    return [item for item, rank in zip(items, ranks) if rank < n_keep]
