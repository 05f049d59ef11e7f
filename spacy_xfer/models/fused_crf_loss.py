"""The softmax-margin loss of a linear-chain CRF and its gradients in one compiled loop
(numba): the fused path that trains on CPU.

Why it exists: in torch the forward algorithm runs a handful of small ops per token
(add the transitions, logsumexp, add the emissions, mask), each recorded by autograd
and replayed backward, and the gold term as many again: training at the paper's batch
of 10 sentences ran 1.12x as fast with this loop as before it (`bench/peers.py`, README
"Speed"), so the loss took at least a tenth of a step. Here each sentence's
forward-backward runs in one call, in float64, and gives the loss and its gradients in
closed form (Sutton & McCallum 2012, "An Introduction to Conditional Random Fields",
sec. 5.1): the derivative of a log partition by a score is the marginal probability
of the position or transition it scores, so

    d loss / d scores = marginals of the cost-augmented scores - marginals of the gold,

where the gold's marginals are the one-hot gold path, or with unobserved tags
(MISSING) the marginals of the allowed sequences that agree with the observed ones.
Forbidden transitions, starts and ends (the masks) are left out of every sum, which the
torch path does by giving them `floor(dtype)`, whose exp is 0: the two agree up to float
rounding at the scales a network gives (tests compare them; at emissions near 1e30, or
a cost of 1e6, torch's float sums lose the marginals, these stay at most 1).
`pytorch_crf.CRFScores.loss_and_gradients` makes the choice.
"""

from typing import Tuple

import numpy
import torch

from ..errors import Errors
from .fused_viterbi import Masked, as_arrays, masked_scores, scores_fit
from .numba_jit import AVAILABLE, compiled

Gradients = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def fused_loss_and_gradients(
    emissions: torch.Tensor, lengths: torch.Tensor, masked: Masked, gold: torch.Tensor, cost: float
) -> Tuple[torch.Tensor, Gradients]:
    """The softmax-margin loss of each sentence (`CRFScores.loss`) and the gradients of
    their sum by the emissions, transitions, start and end scores. Emissions, lengths
    and the masked scores as `fused_viterbi.fused_viterbi` takes them.

    gold (Tensor): (n_tokens,) integer label ids, MISSING (-1) where unobserved (its
        dtype is checked by `CRFScores.loss_and_gradients`; here its length and range).
    cost (float): the Hamming cost per observed token labelled otherwise than gold.
    RETURNS (Tuple[Tensor, Gradients]): the losses (n_sentences,) and the gradients,
        each of its score's shape, in the scores' dtype; NaN scores give NaN losses
        and all-NaN gradients.
    RAISES (ValueError): E019 if the tensors do not fit one another; E016 if no allowed
        sequence agrees with a sentence's observed tags.
    """
    tensors, arrays, sizes = as_arrays(emissions, lengths, masked)
    labels = gold.numpy().astype(numpy.int64, copy=False)
    if not _fits(*arrays, sizes, labels):
        problem = (
            f"{len(sizes)} sentence lengths summing to {int(sizes.sum())} and gold label ids from "
            f"{int(labels.min(initial=0))} to {int(labels.max(initial=0))} for scores and masks of shapes "
            f"{', '.join(str(tuple(t.shape)) for t in tensors)}, expected lengths > 0 summing to the "
            "emissions' rows, one number of labels, and label ids below it (or -1)"
        )
        raise ValueError(Errors.E019.format(problem=problem))
    losses = numpy.zeros(len(sizes))
    impossible = numpy.zeros(len(sizes), dtype=numpy.bool_)
    grads = [numpy.zeros(t.shape) for t in (emissions, *(scores for scores, _ in masked))]
    _loss(*arrays, sizes, labels, float(cost), losses, impossible, *grads)
    if impossible.any():
        raise ValueError(Errors.E016.format(sentences=numpy.flatnonzero(impossible).tolist()))
    if numpy.isnan(losses).any():  # NaN scores: the sums skipped them, so no gradient holds
        for grad in grads:
            grad.fill(numpy.nan)
    dtype = emissions.dtype
    d_emissions, d_transitions, d_start, d_end = (torch.from_numpy(g).to(dtype) for g in grads)
    return torch.from_numpy(losses).to(dtype), (d_emissions, d_transitions, d_start, d_end)


def _fits(emissions, transitions, allowed, start, allowed_start, end, allowed_end, lengths, gold):  # pragma: no cover - compiled
    """Whether `_loss` may run on these arrays: every index it takes is in range."""
    n_labels = transitions.shape[0]
    if not scores_fit(emissions, transitions, allowed, start, allowed_start, end, allowed_end, lengths):
        return False
    if gold.shape[0] != emissions.shape[0]:
        return False
    for label in gold:
        if label < -1 or label >= n_labels:
            return False
    return True


def _log_sum_exp(values):  # pragma: no cover - compiled
    """log sum exp of a 1-d float64 array; -inf if every value is -inf, NaN if one is."""
    top = -numpy.inf
    for value in values:
        if value != value:
            return value
        top = max(top, value)
    if top == -numpy.inf:
        return top
    total = 0.0
    for value in values:
        if value > -numpy.inf:  # forbidden entries add exp(-inf) = 0: skip the call
            total += numpy.exp(value - top)
    return top + numpy.log(total)


def _token_scores(emissions, offset, length, gold, cost, augmented, scores):  # pragma: no cover - compiled
    """Fill `scores` (length, n_labels) with one sentence's emissions: with the Hamming
    cost added (`augmented`), or else with only the gold label allowed where it is
    observed (-inf for the others)."""
    for t in range(length):
        label = gold[offset + t]
        for j in range(scores.shape[1]):
            score = float(emissions[offset + t, j])
            if augmented:
                if label >= 0 and j != label:
                    score += cost
            elif label >= 0 and j != label:
                score = -numpy.inf
            scores[t, j] = score


def _add_marginals(scores, length, moves, firsts, lasts, sign, offset, alpha, beta, work, d_emissions, d_transitions, d_start, d_end):  # pragma: no cover - compiled
    """Forward-backward over one sentence's token scores; adds `sign` times the
    marginals to the gradients and returns the log partition (-inf, adding nothing,
    when no sequence is allowed)."""
    n_labels = moves.shape[0]
    for j in range(n_labels):
        alpha[0, j] = firsts[j] + scores[0, j]
    for t in range(1, length):
        for j in range(n_labels):
            for i in range(n_labels):
                work[i] = alpha[t - 1, i] + moves[i, j]
            alpha[t, j] = _log_sum_exp(work) + scores[t, j]
    for j in range(n_labels):
        work[j] = alpha[length - 1, j] + lasts[j]
    log_z = _log_sum_exp(work)
    if log_z == -numpy.inf:
        return log_z
    for j in range(n_labels):
        beta[length - 1, j] = lasts[j]
    for t in range(length - 2, -1, -1):
        for i in range(n_labels):
            for j in range(n_labels):
                work[j] = moves[i, j] + scores[t + 1, j] + beta[t + 1, j]
            beta[t, i] = _log_sum_exp(work)
    for t in range(length):
        for j in range(n_labels):
            log_p = alpha[t, j] + beta[t, j] - log_z
            if log_p > -numpy.inf:
                d_emissions[offset + t, j] += sign * numpy.exp(log_p)
    for j in range(n_labels):
        if alpha[0, j] + beta[0, j] > -numpy.inf:
            d_start[j] += sign * numpy.exp(alpha[0, j] + beta[0, j] - log_z)
        if alpha[length - 1, j] + lasts[j] > -numpy.inf:
            d_end[j] += sign * numpy.exp(alpha[length - 1, j] + lasts[j] - log_z)
    for t in range(1, length):
        for i in range(n_labels):
            if alpha[t - 1, i] == -numpy.inf:
                continue
            for j in range(n_labels):
                log_pair = alpha[t - 1, i] + moves[i, j] + scores[t, j] + beta[t, j]
                if log_pair > -numpy.inf:
                    d_transitions[i, j] += sign * numpy.exp(log_pair - log_z)
    return log_z


def _loss(emissions, transitions, allowed, start, allowed_start, end, allowed_end, lengths, gold, cost, losses, impossible, d_emissions, d_transitions, d_start, d_end):  # pragma: no cover - compiled
    """Each sentence's loss into `losses`, True into `impossible` where no allowed
    sequence agrees with its gold, and the gradients of their sum added to the d_
    arrays (arguments as `fused_loss_and_gradients`'s, as numpy arrays; the outputs
    float64). NaN scores give NaN losses, which the caller reports (E020)."""
    n_labels = transitions.shape[0]
    longest = 1
    for length in lengths:
        longest = max(longest, length)
    moves = numpy.empty((n_labels, n_labels))
    firsts = numpy.empty(n_labels)
    lasts = numpy.empty(n_labels)
    masked_scores(transitions, allowed, start, allowed_start, end, allowed_end, moves, firsts, lasts)
    scores = numpy.empty((longest, n_labels))
    alpha = numpy.empty((longest, n_labels))
    beta = numpy.empty((longest, n_labels))
    work = numpy.empty(n_labels)
    offset = 0
    for sentence in range(lengths.shape[0]):
        length = lengths[sentence]
        # the gold term first: a sentence it refuses adds nothing
        _token_scores(emissions, offset, length, gold, cost, False, scores)
        log_gold = _add_marginals(scores, length, moves, firsts, lasts, -1.0, offset, alpha, beta, work, d_emissions, d_transitions, d_start, d_end)
        if log_gold == -numpy.inf:
            impossible[sentence] = True
        else:
            _token_scores(emissions, offset, length, gold, cost, True, scores)
            log_z = _add_marginals(scores, length, moves, firsts, lasts, 1.0, offset, alpha, beta, work, d_emissions, d_transitions, d_start, d_end)
            losses[sentence] = log_z - log_gold
        offset += length


if AVAILABLE:
    _log_sum_exp = compiled(_log_sum_exp)
    _token_scores = compiled(_token_scores)
    _add_marginals = compiled(_add_marginals)
    _fits = compiled(_fits)
    _loss = compiled(_loss)
