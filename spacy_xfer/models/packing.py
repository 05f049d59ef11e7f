"""The packed layout (time-major, longest sequence first) of a flat run of sequences,
as `torch.nn.utils.rnn.PackedSequence` takes it, built by index: the word encoder packs
sentences of token vectors, the char encoder words of characters (both run their GRUs
on it: `pytorch_gru`), and the CRF runs its recursions over packed sentences.

Everything here is linear in the number of items (tokens, characters) plus the number
of sequences and the longest length: no (n_sequences, max_len) array is built, so one
very long sequence among many short ones costs only its own length.
"""

from typing import NamedTuple, Tuple

import numpy
import torch


class PackedIndex(NamedTuple):
    """The packed (time-major, longest sequence first) layout of a flat run of items.

    flat_index (Tensor): (n_items,) the flat position of each row of the packed data,
        so that `flat.index_select(0, flat_index)` packs.
    batch_sizes (Tensor): (max_len,) the number of sequences longer than t, as
        `PackedSequence` takes them.
    order (Tensor): (n_sequences,) the sequences, longest first (stable), the row order
        of every packed step.
    """

    flat_index: torch.Tensor
    batch_sizes: torch.Tensor
    order: torch.Tensor


def packed_index(lengths: torch.Tensor) -> PackedIndex:
    """The packed layout of sequences of these lengths (all > 0), on CPU.

    Time and memory: O(n_items + n_sequences + max_len), n_items = lengths.sum().
    Computed in numpy: it is a few dozen integer ops on short arrays, which numpy runs
    with less overhead per op than torch (each encoder and the CRF build one per call,
    so at batch 1 the dispatch, not the arithmetic, is its cost).
    """
    n = lengths.to("cpu", torch.int64).numpy()
    if len(n) == 1:  # one sequence (a sentence at batch 1) is its own packed layout
        arrays = (numpy.arange(n[0]), numpy.ones(n[0]), numpy.zeros(1))
        return PackedIndex(*(torch.from_numpy(a.astype(numpy.int64, copy=False)) for a in arrays))
    order = numpy.argsort(-n, kind="stable")
    counts = numpy.bincount(n, minlength=int(n.max()) + 1)
    batch_sizes = len(n) - numpy.cumsum(counts)[:-1]  # sequences longer than t
    n_items = int(n.sum())
    sequence = numpy.repeat(numpy.arange(len(n)), n)
    position = numpy.arange(n_items) - starts(n)[sequence]
    # Step t holds the batch_sizes[t] longest sequences, in `order`: item (s, t) is
    # packed row (rows of the steps before t) + (rank of s in `order`).
    packed_row = starts(batch_sizes)[position] + _inverse(order)[sequence]
    arrays = (_inverse(packed_row), batch_sizes, order)
    return PackedIndex(*(torch.from_numpy(a.astype(numpy.int64, copy=False)) for a in arrays))


def starts(sizes: numpy.ndarray) -> numpy.ndarray:
    """Where each run starts, for runs of these sizes laid one after another: the
    sequences of a flat run, or the steps of packed data (the first row of each)."""
    return numpy.cumsum(sizes) - sizes


def _inverse(index: numpy.ndarray) -> numpy.ndarray:
    inverse = numpy.empty_like(index)
    inverse[index] = numpy.arange(len(index))
    return inverse


def inverse_permutation(index: torch.Tensor) -> torch.Tensor:
    """The index that undoes `index_select(0, index)` for a permutation `index`, on CPU
    (as the layout's indices are made: computed in numpy, as `packed_index` says why).

    index (Tensor): (n,) int64, on CPU.
    RETURNS (Tensor): (n,) int64, on CPU.
    """
    return torch.from_numpy(_inverse(index.numpy()))


def end_rows(lengths: torch.Tensor, index: PackedIndex) -> Tuple[torch.Tensor, torch.Tensor]:
    """The packed rows of each sequence's first and last items, in the sequences' own
    order (not `index.order`): where a bidirectional GRU over the packed data leaves
    each sequence's final backward and forward states.

    lengths (Tensor): (n_sequences,) the lengths `index` was made from, on CPU.
    RETURNS (Tuple[Tensor, Tensor]): the first items' rows and the last items', each
        (n_sequences,) int64, on CPU.
    """
    first = _inverse(index.order.numpy())  # step 0 holds every sequence's first item, in `order`
    last = starts(index.batch_sizes.numpy())[lengths.to("cpu", torch.int64).numpy() - 1] + first
    return torch.from_numpy(first), torch.from_numpy(last)


def mirrored_rows(batch_sizes: torch.Tensor) -> torch.Tensor:
    """The packed row of each packed row's mirror: the item of the same sequence at
    position length - 1 - t for the item at position t. The mirrored order of every
    sequence has the same packed layout, so `index_select(0, mirrored_rows(...))`
    reverses each sequence in place (and applied twice restores it).

    batch_sizes (Tensor): (max_len,) a packed layout's batch sizes, on CPU.
    RETURNS (Tensor): (n_items,) int64, on CPU.
    """
    sizes = batch_sizes.to(torch.int64).numpy()
    step_offsets = starts(sizes)
    step = numpy.repeat(numpy.arange(len(sizes)), sizes)
    sequence = numpy.arange(int(sizes.sum())) - step_offsets[step]  # rank in the packed order
    n_sequences = int(sizes[0]) if len(sizes) else 0
    # the length of the sequence of each rank: the steps with more rows than the rank
    lengths = len(sizes) - numpy.cumsum(numpy.bincount(sizes, minlength=n_sequences + 1))[:n_sequences]
    return torch.from_numpy(step_offsets[lengths[sequence] - 1 - step] + sequence)
