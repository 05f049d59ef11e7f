"""Splits (seeded random, or in file order) of a corpus. The labelling rate, which the
task sampler also uses, is `spacy_xfer.labelling_rate.sample_rate`."""

import math
from typing import List, Sequence, TypeVar

import numpy

from ..errors import Errors

T = TypeVar("T")
SPLIT_NAMES = ("train", "dev", "test")
SPLIT_ORDERS = ("random", "file")

__all__ = ["SPLIT_NAMES", "SPLIT_ORDERS", "split_items"]


def split_items(
    items: Sequence[T], ratios: Sequence[float], seed: int, order: str = "random"
) -> List[List[T]]:
    """Split items into parts of the given ratios, e.g. 80/10/10, at random or in order.

    The items are ranked by the seeded permutation `numpy.random.default_rng(seed)
    .permutation(len(items))` (order `random`) or by their position (order `file`: part
    k is one contiguous run, the first part first); part k takes the ranks between the
    rounded cumulative ratios. Each part keeps the original order.

    items (Sequence[T]): The items, e.g. the sentences of a corpus.
    ratios (Sequence[float]): One non-negative ratio per part, summing to 1.
    seed (int): The seed of the permutation (unused in file order).
    order (str): `random` or `file`.
    RETURNS (List[List[T]]): The parts, in the order of `ratios`.
    """
    if any(ratio < 0 for ratio in ratios) or not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        expected = "non-negative numbers summing to 1"
        raise ValueError(Errors.E038.format(setting="split ratios", value=list(ratios), expected=expected))
    if order not in SPLIT_ORDERS:
        raise ValueError(Errors.E039.format(kind="split order", value=order, choices=", ".join(SPLIT_ORDERS)))
    if order == "random":
        ranks = numpy.random.default_rng(seed).permutation(len(items))
    else:
        ranks = numpy.arange(len(items))
    bounds = [round(share * len(items)) for share in numpy.cumsum([0.0, *ratios])]
    bounds[-1] = len(items)
    part_of = numpy.searchsorted(bounds[1:], ranks, side="right")
    parts: List[List[T]] = [[] for _ in ratios]
    for item, part in zip(items, part_of):
        parts[part].append(item)
    return parts
