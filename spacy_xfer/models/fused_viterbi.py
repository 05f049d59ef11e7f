"""Viterbi decoding of a linear-chain CRF in one compiled loop (numba): the fused path
that decodes on CPU.

Why it exists: the recursion in numpy or torch runs a few array ops per token (add the
transitions, the maximum, its argmax, add the emissions) and the backtrace one more; at
batch 1 each op is a dispatch of a microsecond or more around a few hundred additions:
0.18 ms of the about 2.3 ms a CoNLL03 sentence took, against 0.03 ms here
(`bench/gru_floor.py`, README "Speed"). Here the recursion and the backtrace of every sentence are one call. It
takes the same float additions, in the same order, as `pytorch_crf._viterbi_forward`
(ties and NaN as numpy's `argmax`: the first), so it gives the same paths; the
forbidden entries are set to -inf inside the loop, as `decode` does with `masked_fill`
before the other recursions. `pytorch_crf.CRFScores.decode` makes the choice.
"""

from typing import List, Optional, Tuple

import numpy
import torch

from ..errors import Errors
from .numba_jit import AVAILABLE, compiled

DTYPES = (torch.float32, torch.float64)  # what the CRF's compiled loops (this one, `fused_crf_loss`) are compiled and tested for


Masked = Tuple[Tuple[torch.Tensor, torch.Tensor], ...]  # (scores, bool mask of the allowed) x 3


def fused_viterbi(emissions: torch.Tensor, lengths: torch.Tensor, masked: Masked) -> List[numpy.ndarray]:
    """The best label ids of each sentence. Forbidden transitions, starts and ends score
    -inf, so the best allowed sequence wins whatever the scores. All tensors on CPU, the
    scores of one dtype of `DTYPES`.

    emissions (Tensor): (n_tokens, n_labels), the sentences' tokens one after another.
    lengths (Tensor): (n_sentences,) integers, each > 0, summing to n_tokens.
    masked (Masked): the transition scores (n_labels, n_labels), from the row's label to
        the column's, the start scores (n_labels,) and the end scores (n_labels,), each
        with its bool mask of the allowed entries, of its shape
        (`CRFScores.with_masks()`).
    RETURNS (List[ndarray]): per sentence, (length,) int64 label ids.
    RAISES (ValueError): E019 if the dimensions or dtypes are not those above, or the
        lengths and shapes do not fit one another (the compiled loop checks no index,
        so they are checked before it runs).
    """
    tensors, arrays, sizes = as_arrays(emissions, lengths, masked)
    if not scores_fit(*arrays, sizes):
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        shown = f"{sizes[:10].tolist()}{' ...' if len(sizes) > 10 else ''}"
        problem = (
            f"{len(sizes)} sentence lengths ({shown}, summing to {int(sizes.sum())}) for scores and masks of "
            f"shapes {shapes}, expected lengths > 0 summing to the emissions' rows, and one number of labels"
        )
        raise ValueError(Errors.E019.format(problem=problem))
    path = numpy.empty(len(emissions), dtype=numpy.int64)
    _viterbi(*arrays, sizes, path)
    ends = numpy.cumsum(sizes).tolist()
    return [path[stop - size : stop] for stop, size in zip(ends, sizes.tolist())]


def as_arrays(
    emissions: torch.Tensor, lengths: torch.Tensor, masked: Masked
) -> Tuple[Tuple[torch.Tensor, ...], List[numpy.ndarray], numpy.ndarray]:
    """The tensors of a compiled loop's arguments (the emissions, then each score
    followed by its mask), their numpy views, and the lengths as int64.

    RAISES (ValueError): E019 if their dimensions or dtypes are not those
        `fused_viterbi` takes (`_kind_problem`).
    """
    problem = _kind_problem(emissions, lengths, masked)
    if problem is not None:
        raise ValueError(Errors.E019.format(problem=problem))
    tensors = (emissions, *(t for pair in masked for t in pair))
    return tensors, [t.detach().numpy() for t in tensors], lengths.numpy().astype(numpy.int64, copy=False)


def _kind_problem(emissions: torch.Tensor, lengths: torch.Tensor, masked: Masked) -> Optional[str]:
    """What is wrong with the dimensions and dtypes of the CRF's tensors as the compiled
    loops take them, if anything."""
    scores = (emissions, *(score for score, _ in masked))
    masks = [mask for _, mask in masked]
    dims = [emissions.dim(), *(t.dim() for pair in masked for t in pair)]
    if dims != [2, 2, 2, 1, 1, 1, 1] or lengths.dim() != 1:
        return f"scores and masks of {dims} dimensions and lengths of {lengths.dim()}, expected [2, 2, 2, 1, 1, 1, 1] and 1"
    dtypes = {t.dtype for t in scores}
    if len(dtypes) != 1 or scores[0].dtype not in DTYPES or lengths.is_floating_point():
        return f"scores of dtypes {sorted(map(str, dtypes))} and lengths of {lengths.dtype}, expected one of {DTYPES} and integers"
    if any(mask.dtype != torch.bool for mask in masks):
        return f"masks of dtypes {[str(mask.dtype) for mask in masks]}, expected torch.bool"
    return None


def scores_fit(emissions, transitions, allowed, start, allowed_start, end, allowed_end, lengths):  # pragma: no cover - compiled
    """Whether the CRF's compiled loops (`_viterbi`, `fused_crf_loss._loss`) may run on
    these arrays: every index they take is in range."""
    n_labels = transitions.shape[0]
    if n_labels == 0 or emissions.shape[1] != n_labels:
        return False
    for square in (transitions.shape, allowed.shape):
        if square[0] != n_labels or square[1] != n_labels:
            return False
    for row in (start.shape, allowed_start.shape, end.shape, allowed_end.shape):
        if row[0] != n_labels:
            return False
    total = 0
    for length in lengths:
        if length < 1 or length > emissions.shape[0]:
            return False
        total += length
        if total > emissions.shape[0]:  # also before the sum could wrap around
            return False
    return total == emissions.shape[0]


def masked_scores(transitions, allowed, start, allowed_start, end, allowed_end, moves, firsts, lasts):  # pragma: no cover - compiled
    """The transition, start and end scores with their forbidden entries at -inf, as
    `masked_fill` makes them for the other recursions, written into `moves`, `firsts`
    and `lasts` (of the shapes of the scores)."""
    never = -numpy.inf
    for i in range(transitions.shape[0]):
        firsts[i] = start[i] if allowed_start[i] else never
        lasts[i] = end[i] if allowed_end[i] else never
        for j in range(transitions.shape[0]):
            moves[i, j] = transitions[i, j] if allowed[i, j] else never


def _viterbi(emissions, transitions, allowed, start, allowed_start, end, allowed_end, lengths, path):  # pragma: no cover - compiled
    """The recursion and backtrace of each sentence (arguments as `fused_viterbi`'s, as
    numpy arrays; writes the label ids into `path`, (n_tokens,))."""
    n_labels = transitions.shape[0]
    longest = 1
    for length in lengths:
        longest = max(longest, length)
    moves = numpy.empty((n_labels, n_labels), transitions.dtype)
    firsts = numpy.empty(n_labels, start.dtype)
    lasts = numpy.empty(n_labels, end.dtype)
    masked_scores(transitions, allowed, start, allowed_start, end, allowed_end, moves, firsts, lasts)
    score = numpy.empty(n_labels, emissions.dtype)
    following = numpy.empty(n_labels, emissions.dtype)
    pointers = numpy.empty((longest, n_labels), numpy.int64)
    offset = 0
    for length in lengths:
        for j in range(n_labels):
            score[j] = firsts[j] + emissions[offset, j]
        for t in range(1, length):
            for j in range(n_labels):
                best = score[0] + moves[0, j]
                best_prev = 0
                for i in range(1, n_labels):
                    candidate = score[i] + moves[i, j]
                    if candidate > best or (candidate != candidate and best == best):
                        best, best_prev = candidate, i
                following[j] = best + emissions[offset + t, j]
                pointers[t, j] = best_prev
            score, following = following, score
        best = score[0] + lasts[0]
        label = 0
        for j in range(1, n_labels):
            closed = score[j] + lasts[j]
            if closed > best or (closed != closed and best == best):
                best, label = closed, j
        for t in range(length - 1, 0, -1):
            path[offset + t] = label
            label = pointers[t, label]
        path[offset] = label
        offset += length


if AVAILABLE:
    scores_fit = compiled(scores_fit)
    masked_scores = compiled(masked_scores)
    _viterbi = compiled(_viterbi)
