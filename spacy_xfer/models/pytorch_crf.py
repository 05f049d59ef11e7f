"""Linear-chain CRF: transition/start/end scores over emission scores it takes in (the
projection that computes them, `EmissionProjection`, is a module of its own), the
forward algorithm in log space, Viterbi decoding and the softmax-margin loss; for
confidence, the forward-backward marginals, the sequence entropy and k-best Viterbi.

The recursions run on the packed layout: sentences sorted longest first, and step t
touches only the sentences still running.

Constraints are absolute. A transition, start or end that the tag scheme forbids is
never *added* as a finite penalty (which a large enough emission gap would beat);
instead each step's summed scores are masked:

- Viterbi (no gradient) masks with -inf, so a forbidden sequence never wins over an
  allowed one, whatever the (finite) scores. Only `max` and `+` touch the -inf, so
  nothing becomes NaN.
- The forward algorithm (log Z, the loss) needs finite values: log-sum-exp over a
  row of -inf is -inf with a NaN gradient (-inf - -inf). So after each step's scores
  are summed (previous step + transition, start + first emissions, last step + end),
  `masked_fill` *replaces* every forbidden entry, and every label a token may not
  take (missing gold), with `floor(dtype)`: half the most negative finite float
  (-1.7e38 in float32). Adding a score to `floor` leaves it unchanged unless the score
  exceeds half the spacing of floats there (1e31 in float32), so a partial sequence
  through a forbidden entry stays exactly at `floor`; `exp(floor - log Z)` is 0, so
  it adds nothing to log Z and gets a zero gradient (masked entries get none from
  `masked_fill` either). This holds for any emissions below 1e31 (float32), far
  beyond the 1e7 the tests use.

The forward-backward pass (marginals, entropy) uses the same `floor` masking, so a
forbidden label or transition gets probability exactly 0; k-best Viterbi masks with
-inf like Viterbi and returns only sequences of finite score (fewer than k when fewer
are allowed).

A sentence with no allowed sequence at all (a label set that cannot open or close one,
e.g. only `I-PER` under IOB2) decodes to some forbidden sequence and has
log Z = `floor`; the loss refuses gold that no allowed sequence agrees with (E016).
"""

from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import torch
from torch import nn

from ..errors import Errors
from . import fused_crf_loss, fused_viterbi
from .packing import PackedIndex, inverse_permutation, packed_index
from .pytorch_resizable import Resizable

MISSING = -1
# Without numba: the largest Viterbi step (sentences * labels * labels scores) run in
# numpy on CPU; larger ones run in torch (`CRFScores.decode`). Compared in one process
# on one thread, numpy decoded 1 sentence of 17 labels in 0.6x torch's time, 10 in
# 0.8x; from about 9,000 scores per step on torch was faster.
HOST_VITERBI_MAX_CELLS = 2**12


def floor(dtype: torch.dtype) -> float:
    """The score the forward algorithm gives forbidden entries: half the most negative
    finite number of `dtype` (so that adding one step's scores cannot overflow)."""
    return torch.finfo(dtype).min / 2


class EmissionProjection(Resizable):
    """The linear layer that turns token features into the CRF's emission scores:
    (n_tokens, n_in) -> (n_tokens, n_labels)."""

    def __init__(self, n_in: int, n_labels: int) -> None:
        super().__init__()
        self.project = nn.Linear(n_in, n_labels)

    def resize(self, n_in: int, n_labels: int) -> None:
        """Rebuild for `n_in` input features and `n_labels` labels (fresh weights)."""
        device = self.project.weight.device
        self.__init__(n_in, n_labels)  # type: ignore[misc]
        self.to(device)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["project.weight"].shape[1], state["project.weight"].shape[0])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.project(features)


class LinearChainCRF(Resizable):
    """A linear-chain CRF: transition, start and end scores and the constraints of a
    tag scheme. It takes emission scores in and gives the `CRFScores` of the batch,
    whose methods are the sequence-level functions; sequences the tag scheme forbids
    (see `set_constraints`) are excluded, in training and decoding alike, at any score
    scale (see the module docstring for how).
    """

    def __init__(self, n_labels: int) -> None:
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(n_labels, n_labels))
        self.start = nn.Parameter(torch.zeros(n_labels))
        self.end = nn.Parameter(torch.zeros(n_labels))
        self.register_buffer("allowed_transitions", torch.ones(n_labels, n_labels, dtype=torch.bool))
        self.register_buffer("allowed_start", torch.ones(n_labels, dtype=torch.bool))
        self.register_buffer("allowed_end", torch.ones(n_labels, dtype=torch.bool))

    @property
    def n_labels(self) -> int:
        return self.transitions.shape[0]

    def resize(self, n_labels: int) -> None:
        """Rebuild for `n_labels` labels (fresh scores, no constraints)."""
        device = self.transitions.device
        self.__init__(n_labels)  # type: ignore[misc]
        self.to(device)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["transitions"].shape[0])

    def set_constraints(
        self, transitions: numpy.ndarray, start: numpy.ndarray, end: numpy.ndarray
    ) -> None:
        """Set which transitions are allowed (bool arrays, True = allowed)."""
        device = self.transitions.device
        self.allowed_transitions = torch.as_tensor(transitions, dtype=torch.bool, device=device)
        self.allowed_start = torch.as_tensor(start, dtype=torch.bool, device=device)
        self.allowed_end = torch.as_tensor(end, dtype=torch.bool, device=device)

    def forward(self, emissions: torch.Tensor, lengths: torch.Tensor) -> "CRFScores":
        """The scores of a batch of sentences.

        emissions (Tensor): (n_tokens, n_labels) floats, sentences one after another.
        lengths (Tensor): (n_sentences,) integers, each > 0, summing to n_tokens.
        RETURNS (CRFScores): the emissions (the same tensor), the lengths (int64, on
            CPU) and this CRF's scores and constraints.
        RAISES: ValueError (E019) when the emissions or lengths do not fit.
        """
        _validate_emissions(emissions, lengths, self.n_labels)
        return CRFScores(
            emissions,
            lengths.to("cpu", torch.int64),
            self.transitions,
            self.start,
            self.end,
            self.allowed_transitions,
            self.allowed_start,
            self.allowed_end,
        )


class CRFScores(NamedTuple):
    """Everything that scores the label sequences of a batch of sentences: flat
    emissions (sentences one after another) with the sentence lengths, and the CRF's
    transition, start and end scores with the tag scheme's constraints. Its methods
    are the CRF's sequence-level functions, on the packed layout.

    emissions (Tensor): (n_tokens, n_labels).
    lengths (Tensor): (n_sentences,) int64 on CPU, each > 0.
    transitions (Tensor): (n_labels, n_labels), from label i to label j.
    start, end (Tensor): (n_labels,) scores of a sentence's first and last label.
    allowed_transitions, allowed_start, allowed_end (Tensor): bool, True = allowed.
    """

    emissions: torch.Tensor
    lengths: torch.Tensor
    transitions: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    allowed_transitions: torch.Tensor
    allowed_start: torch.Tensor
    allowed_end: torch.Tensor

    @property
    def n_labels(self) -> int:
        return self.transitions.shape[0]

    def log_partition(self) -> torch.Tensor:
        """log sum over all allowed label sequences of exp(score), per sentence:
        (n_sentences,); `floor(dtype)` for a sentence with no allowed sequence."""
        emissions, lengths = self.emissions, self.lengths
        return self._log_partition_packed(emissions, packed_index(lengths))

    def _log_partition_packed(
        self, emissions: torch.Tensor, index: PackedIndex, allowed: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """The forward algorithm on the packed layout, in log space; (n_sentences,) in
        the input's sentence order. Forbidden entries are replaced by `floor` after the
        scores are summed (module docstring).

        allowed (Optional[Tensor]): (n_tokens, n_labels) bool, flat like `emissions`:
            the labels each token may take (all when None).
        """
        low = floor(emissions.dtype)
        forbidden = ~self.allowed_transitions
        steps = _packed_steps(emissions, index)
        barred = _packed_steps(~allowed, index) if allowed is not None else None
        alpha = (self.start + steps[0]).masked_fill(~self.allowed_start, low)
        if barred is not None:
            alpha = alpha.masked_fill(barred[0], low)
        finished = []
        for t in range(1, len(steps)):
            running = steps[t].shape[0]
            if running < alpha.shape[0]:
                finished.append(alpha[running:])
                alpha = alpha[:running]
            scores = (alpha.unsqueeze(2) + self.transitions).masked_fill(forbidden, low)
            alpha = torch.logsumexp(scores, dim=1) + steps[t]
            if barred is not None:
                alpha = alpha.masked_fill(barred[t], low)
        finished.append(alpha)
        last = (torch.cat(finished[::-1]) + self.end).masked_fill(~self.allowed_end, low)
        log_z = torch.logsumexp(last, dim=1)
        return log_z.index_select(0, inverse_permutation(index.order).to(log_z.device))

    def path_score(self, tags: torch.Tensor) -> torch.Tensor:
        """The score of the given (n_tokens,) label ids (no missing ids), per sentence:
        (n_sentences,); `floor(dtype)` for a sequence the constraints forbid."""
        emissions, lengths = self.emissions, self.lengths
        device = emissions.device
        lengths = lengths.to(device)
        tags = tags.clamp(min=0)
        sentence = torch.repeat_interleave(torch.arange(len(lengths), device=device), lengths)
        within = sentence[1:] == sentence[:-1]
        prev, cur = tags[:-1][within], tags[1:][within]
        unary = emissions.gather(1, tags.unsqueeze(1)).squeeze(1)
        last = torch.cumsum(lengths, 0) - 1
        first_tags, last_tags = tags[last - lengths + 1], tags[last]
        score = emissions.new_zeros(len(lengths))
        score = score.index_add(0, sentence, unary)
        score = score.index_add(0, sentence[1:][within], self.transitions[prev, cur])
        score = score + self.start[first_tags] + self.end[last_tags]
        n_forbidden = torch.zeros(len(lengths), dtype=torch.int64, device=device).index_add(
            0, sentence[1:][within], (~self.allowed_transitions[prev, cur]).long()
        )
        allowed = (n_forbidden == 0) & self.allowed_start[first_tags] & self.allowed_end[last_tags]
        return score.masked_fill(~allowed, floor(emissions.dtype))

    def loss(self, gold: torch.Tensor, cost: float) -> torch.Tensor:
        """Softmax-margin loss per sentence (Gimpel & Smith 2010):

            log sum_y exp(score(y) + cost * hamming(y, gold)) - score(gold)

        `cost = 0` gives the CRF negative log-likelihood. Tags equal to MISSING (-1)
        are unobserved: the gold term then sums over every allowed sequence that
        agrees with the observed tags, and the Hamming cost counts observed positions
        only. Both sums run over allowed sequences only (module docstring), so the loss
        and its gradient are finite at any score scale.

        gold (Tensor): (n_tokens,) label ids, MISSING where unknown, on the emissions'
            device.
        RETURNS (Tensor): (n_sentences,) the loss of each sentence.
        RAISES: ValueError (E019) when gold does not fit the emissions; (E016) when
            no allowed sequence agrees with a sentence's observed tags (e.g.
            `B-PER ? I-LOC` under BIOES).
        """
        _validate_gold(gold, self.emissions)
        emissions, lengths = self.emissions, self.lengths
        index = packed_index(lengths)
        observed = (gold != MISSING).unsqueeze(1)
        one_hot = torch.zeros_like(emissions).scatter_(1, gold.clamp(min=0).unsqueeze(1), 1.0)
        one_hot = one_hot * observed
        hamming = cost * (observed.to(emissions.dtype) - one_hot)
        log_z = self._log_partition_packed(emissions + hamming, index)
        if bool(observed.all()):
            gold_score = self.path_score(gold)
        else:
            agree = (one_hot > 0) | ~observed
            gold_score = self._log_partition_packed(emissions, index, allowed=agree)
        # An impossible gold sequence scores `floor` (plus nothing a float can hold).
        impossible = gold_score <= floor(emissions.dtype) / 2
        if bool(impossible.any()):
            raise ValueError(Errors.E016.format(sentences=impossible.nonzero().flatten().tolist()))
        return log_z - gold_score

    def loss_and_gradients(
        self, gold: torch.Tensor, cost: float
    ) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        """`loss` of each sentence, detached, and the gradients of their sum by the
        emissions, transitions, start and end scores; no gradient is accumulated
        anywhere (the scores' own `.grad` included).

        On CPU with numba installed, float32 or float64 scores take one compiled loop
        (`fused_crf_loss`: forward-backward with the gradients in closed form);
        otherwise `loss` runs in torch and autograd gives the gradients. The two agree
        up to float rounding (`fused_crf_loss` says where torch's float sums lose more).

        RETURNS (Tuple[Tensor, Tuple[Tensor, ...]]): the losses (n_sentences,) and
            the four gradients, each of its score's shape.
        RAISES: ValueError (E019, E016) as `loss`.
        """
        _validate_emissions(self.emissions, self.lengths, self.n_labels)
        _validate_gold(gold, self.emissions)
        if not len(self.lengths):
            zeros = tuple(torch.zeros_like(t) for t in (self.emissions, self.transitions, self.start, self.end))
            return self.emissions.new_zeros(0), zeros  # type: ignore[return-value]
        if self._compiled_takes(fused_crf_loss.AVAILABLE):
            return fused_crf_loss.fused_loss_and_gradients(self.emissions, self.lengths, self.with_masks(), gold, cost)
        leaves = tuple(t.detach().requires_grad_() for t in (self.emissions, self.transitions, self.start, self.end))
        with torch.enable_grad():
            own = self._replace(emissions=leaves[0], transitions=leaves[1], start=leaves[2], end=leaves[3])
            losses = own.loss(gold, cost)
            # (the transitions have no gradient when every sentence is one token long)
            grads = torch.autograd.grad(losses.sum(), leaves, allow_unused=True)
        grads = tuple(torch.zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, grads))
        return losses.detach(), grads  # type: ignore[return-value]

    def with_masks(self) -> Tuple[Tuple[torch.Tensor, torch.Tensor], ...]:
        """The transition, start and end scores, each with its mask of allowed entries,
        as the compiled loops (`fused_viterbi`, `fused_crf_loss`) take them."""
        return (
            (self.transitions, self.allowed_transitions),
            (self.start, self.allowed_start),
            (self.end, self.allowed_end),
        )

    def _compiled_takes(self, available: bool) -> bool:
        """Whether a compiled loop (`fused_viterbi`, `fused_crf_loss`) takes these
        scores: `available` (its module's: numba installed), CPU, and one dtype it is
        compiled for."""
        emissions = self.emissions
        return (
            available
            and emissions.device.type == "cpu"
            and emissions.dtype in fused_viterbi.DTYPES
            and self.transitions.dtype == self.start.dtype == self.end.dtype == emissions.dtype
        )

    @torch.no_grad()
    def decode(self) -> List[numpy.ndarray]:
        """Viterbi: the best label ids of each sentence. Forbidden
        transitions, starts and ends score -inf, so the best allowed sequence wins
        whatever the scores.

        On CPU with numba installed, float32 or float64 scores decode in one compiled
        loop (`fused_viterbi`), at any batch size. Otherwise a small batch on CPU (at
        most `HOST_VITERBI_MAX_CELLS` scores per step) runs the recursion in numpy
        (`_viterbi_host`), and the rest in torch (`_viterbi_torch`). All three take
        the same float additions and maxima in the same order (ties to the first
        label), so they give the same paths. At batch 1 a step's arithmetic is a few
        hundred additions and the cost is dispatching its ops, which numpy does with
        less overhead than torch and the compiled loop not at all; at larger batches
        torch's max with indices (one pass) beats numpy's.
        """
        emissions, lengths = self.emissions, self.lengths
        if not len(lengths):
            return []
        if self._compiled_takes(fused_viterbi.AVAILABLE):
            return fused_viterbi.fused_viterbi(emissions, lengths, self.with_masks())
        never = float("-inf")
        transitions = self.transitions.masked_fill(~self.allowed_transitions, never)
        start = self.start.masked_fill(~self.allowed_start, never)
        end = self.end.masked_fill(~self.allowed_end, never)
        index = packed_index(lengths)
        if emissions.device.type == "cpu" and len(lengths) * self.n_labels**2 <= HOST_VITERBI_MAX_CELLS:
            recursion = _viterbi_host
        else:
            recursion = _viterbi_torch
        current, pointers = recursion(emissions, index, transitions, start, end)
        batch_sizes = index.batch_sizes.tolist()
        offsets = numpy.cumsum([0] + batch_sizes[1:])
        paths = numpy.zeros((len(current), len(batch_sizes)), dtype="int64")
        for t in range(len(batch_sizes) - 1, 0, -1):
            running = batch_sizes[t]
            paths[:running, t] = current[:running]
            assert pointers is not None
            step_pointers = pointers[offsets[t - 1] : offsets[t]]
            current[:running] = step_pointers[numpy.arange(running), current[:running]]
        paths[:, 0] = current
        sorted_lengths = lengths.cpu()[index.order].tolist()
        by_sentence: List[numpy.ndarray] = [numpy.empty(0, dtype="int64")] * len(current)
        for row, (sentence, length) in enumerate(zip(index.order.tolist(), sorted_lengths)):
            by_sentence[sentence] = paths[row, :length]
        return by_sentence

    @torch.no_grad()
    def forward_backward(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The forward and backward log scores, on the packed layout
        (one vectorised step per position, like the forward algorithm).

        RETURNS (Tuple[Tensor, Tensor, Tensor]): `log_alpha` and `log_beta`, both
            (n_tokens, n_labels) flat like `emissions`, and `log_z` (n_sentences,).
            `log_alpha[t, j]` sums the allowed prefixes ending in label j at token t
            (its emission included), `log_beta[t, j]` the allowed suffixes after it,
            so `log_alpha + log_beta - log_z[sentence]` is the log marginal. Forbidden
            entries hold `floor(dtype)`-scale values whose exp is 0.
        """
        emissions, lengths = self.emissions, self.lengths
        index = packed_index(lengths)
        alphas, betas, log_z = self._forward_backward_packed(emissions, index)
        unpack = inverse_permutation(index.flat_index).to(emissions.device)
        order = inverse_permutation(index.order).to(emissions.device)
        return (
            torch.cat(alphas).index_select(0, unpack),
            torch.cat(betas).index_select(0, unpack),
            log_z.index_select(0, order),
        )

    def _forward_backward_packed(
        self, emissions: torch.Tensor, index: PackedIndex
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor], torch.Tensor]:
        """Per-step (running, n_labels) log alphas and betas, and log Z per packed row."""
        low = floor(emissions.dtype)
        forbidden = ~self.allowed_transitions
        steps = _packed_steps(emissions, index)
        alphas = [(self.start + steps[0]).masked_fill(~self.allowed_start, low)]
        for step in steps[1:]:
            previous = alphas[-1][: step.shape[0]].unsqueeze(2)
            scores = (previous + self.transitions).masked_fill(forbidden, low)
            alphas.append(torch.logsumexp(scores, dim=1) + step)
        end = self.end.to(emissions.dtype).masked_fill(~self.allowed_end, low)
        betas: List[torch.Tensor] = [end.expand(steps[-1].shape)]
        for t in range(len(steps) - 2, -1, -1):
            after = (steps[t + 1] + betas[0]).unsqueeze(1)
            scores = (self.transitions + after).masked_fill(forbidden, low)
            ending = end.expand(steps[t].shape[0] - after.shape[0], -1)
            betas.insert(0, torch.cat([torch.logsumexp(scores, dim=2), ending]))
        log_z = torch.logsumexp(alphas[0] + betas[0], dim=1)
        return alphas, betas, log_z

    @torch.no_grad()
    def marginals(self) -> torch.Tensor:
        """p(label j at token t) under the CRF's distribution over allowed sequences:
        (n_tokens, n_labels), each row summing to 1 (0 for labels no allowed sequence
        gives the token)."""
        emissions, lengths = self.emissions, self.lengths
        log_alpha, log_beta, log_z = self.forward_backward()
        sentence = _sentence_of_tokens(lengths, emissions.device)
        return torch.exp(log_alpha + log_beta - log_z[sentence].unsqueeze(1))

    @torch.no_grad()
    def entropy(self) -> torch.Tensor:
        """The entropy (nats) of the CRF's distribution over each sentence's allowed
        label sequences, exactly: H = log Z - E[score(y)], the expectation taken with
        the forward-backward marginals of tokens and of adjacent pairs (n_sentences,).
        Compute in float64 when H is small next to log Z (float32 keeps ~7 digits of
        log Z)."""
        emissions, lengths = self.emissions, self.lengths
        index = packed_index(lengths)
        alphas, betas, log_z = self._forward_backward_packed(emissions, index)
        forbidden = ~self.allowed_transitions
        steps = _packed_steps(emissions, index)
        expected = (torch.exp(alphas[0] + betas[0] - log_z.unsqueeze(1)) * self.start).sum(1)
        for t, step in enumerate(steps):
            running = step.shape[0]
            marginal = torch.exp(alphas[t] + betas[t] - log_z[:running].unsqueeze(1))
            gained = (marginal * step).sum(1)
            continuing = steps[t + 1].shape[0] if t + 1 < len(steps) else 0
            if continuing < running:  # rows whose sentence ends here
                ends = (marginal[continuing:] * self.end).sum(1)
                gained = torch.cat([gained[:continuing], gained[continuing:] + ends])
            if t > 0:
                log_pair = (
                    alphas[t - 1][:running].unsqueeze(2)
                    + self.transitions
                    + (step + betas[t]).unsqueeze(1)
                    - log_z[:running, None, None]
                )
                pair = torch.exp(log_pair).masked_fill(forbidden, 0.0)
                gained = gained + (pair * self.transitions).sum((1, 2))
            expected = torch.cat([expected[:running] + gained, expected[running:]])
        entropy = log_z - expected
        return entropy.index_select(0, inverse_permutation(index.order).to(entropy.device))

    @torch.no_grad()
    def nbest(self, k: int) -> List[Tuple[numpy.ndarray, numpy.ndarray]]:
        """k-best Viterbi: per sentence, its min(k, n_allowed) best
        allowed label sequences, best first, as (paths (n_best, length) ints, their
        log-probabilities (n_best,) = score - log Z). Each step keeps the k best
        partial paths ending in each label; forbidden transitions score -inf like
        `decode`, so `k = 1` gives a best path (`decode`'s, unless several paths tie
        for best: ties may resolve differently, and the scores here are summed in
        float64 (`crf_nbest`)).

        RAISES: ValueError when k < 1.
        """
        emissions, lengths = self.emissions, self.lengths
        if k < 1:
            raise ValueError(Errors.E038.format(setting="k of the k-best Viterbi", value=k, expected="k >= 1"))
        k = max(1, self._n_allowed(k))  # before any allocation: no sentence has more sequences
        never = float("-inf")
        n_labels = self.n_labels
        transitions = self.transitions.masked_fill(~self.allowed_transitions, never)
        start = self.start.masked_fill(~self.allowed_start, never)
        end = self.end.masked_fill(~self.allowed_end, never)
        index = packed_index(lengths)
        steps = _packed_steps(emissions, index)
        # score[r, j, rank]: the rank-th best partial path of row r ending in label j
        score = emissions.new_full((steps[0].shape[0], n_labels, k), never)
        score[:, :, 0] = start + steps[0]
        finished, backpointers = [], []
        for step in steps[1:]:
            running = step.shape[0]
            if running < score.shape[0]:
                finished.append(score[running:])
                score = score[:running]
            extended = (score.unsqueeze(3) + transitions[:, None, :]).reshape(running, n_labels * k, n_labels)
            best, best_prev = extended.topk(k, dim=1)  # (running, k, n_labels): prev label * k + prev rank
            backpointers.append(best_prev.cpu().numpy())
            score = best.transpose(1, 2) + step.unsqueeze(2)
        finished.append(score)
        closed = (torch.cat(finished[::-1]) + end[None, :, None]).reshape(len(lengths), n_labels * k)
        top, top_arg = closed.topk(k, dim=1)
        labels, ranks = (top_arg // k).cpu().numpy(), (top_arg % k).cpu().numpy()
        batch_sizes = index.batch_sizes.tolist()
        paths = numpy.zeros((len(lengths), k, len(batch_sizes)), dtype="int64")
        for t in range(len(batch_sizes) - 1, 0, -1):
            running = batch_sizes[t]
            paths[:running, :, t] = labels[:running]
            rows = numpy.arange(running)[:, None]
            previous = backpointers[t - 1][rows, ranks[:running], labels[:running]]
            labels[:running], ranks[:running] = previous // k, previous % k
        paths[:, :, 0] = labels
        log_probs = (top - self._log_partition_packed(emissions, index)[index.order].unsqueeze(1)).cpu().numpy()
        finite = numpy.isfinite(top.cpu().numpy())
        by_sentence: List[Tuple[numpy.ndarray, numpy.ndarray]] = [None] * len(lengths)  # type: ignore[list-item]
        sorted_lengths = lengths.cpu()[index.order].tolist()
        for row, (sentence, length) in enumerate(zip(index.order.tolist(), sorted_lengths)):
            keep = finite[row]
            by_sentence[sentence] = (paths[row, keep, :length], log_probs[row, keep])
        return by_sentence

    def _n_allowed(self, k: int) -> int:
        """min(k, the most allowed label sequences of any sentence of the batch),
        counted over the allowed start, transitions and end, each count capped at k
        (a count that reaches k stays at least k, so the cap changes no minimum)."""
        lengths = set(self.lengths.tolist())
        if not lengths:
            return k
        cap = float(k)
        transitions = self.allowed_transitions.cpu().numpy().astype("float64")
        end = self.allowed_end.cpu().numpy()
        counts = self.allowed_start.cpu().numpy().astype("float64")  # sequences of length t ending in each label
        most = 0.0
        for length in range(1, max(lengths) + 1):
            if length > 1:
                counts = numpy.minimum(counts @ transitions, cap)
            if length in lengths:
                most = max(most, min(float(counts[end].sum()), cap))
        return min(k, int(most))


def _sentence_of_tokens(lengths: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(n_tokens,) the sentence index of each flat token."""
    lengths = lengths.to(device)
    return torch.repeat_interleave(torch.arange(len(lengths), device=device), lengths)


def _packed_steps(emissions: torch.Tensor, index: PackedIndex) -> Sequence[torch.Tensor]:
    """Flat (n_tokens, n_labels) emissions -> one (running sentences, n_labels) tensor
    per step, rows in `index.order`."""
    packed = emissions.index_select(0, index.flat_index.to(emissions.device))
    return packed.split(index.batch_sizes.tolist())


def _viterbi_forward(steps: Sequence, transitions, start, end, best_of: Callable, concat: Callable) -> Tuple[Any, List]:
    """The Viterbi recursion on the packed layout, over torch tensors or numpy arrays
    alike (`best_of(candidates)` gives the maximum over axis 1 and its first argmax,
    `concat` joins arrays along axis 0). Forbidden scores are -inf in `transitions`,
    `start` and `end`.

    RETURNS: the closed scores of every packed row (n_sentences, n_labels), the best
        last label being their argmax, and per step 1.. the backpointers (running,
        n_labels): the best previous label of each row and label.
    """
    score = start + steps[0]
    finished, backpointers = [], []
    for step in steps[1:]:
        running = step.shape[0]
        if running < score.shape[0]:
            finished.append(score[running:])
            score = score[:running]
        best, best_prev = best_of(score[:, :, None] + transitions)
        backpointers.append(best_prev)
        score = best + step
    finished.append(score)
    return concat(finished[::-1]) + end, backpointers


def _viterbi_torch(
    emissions: torch.Tensor, index: PackedIndex, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> Tuple[numpy.ndarray, Optional[numpy.ndarray]]:
    """`_viterbi_forward` in torch: the best last label of each packed row
    (n_sentences,), and the backpointers of all steps one after another (None for
    sentences of one token)."""
    closed, backpointers = _viterbi_forward(
        _packed_steps(emissions, index), transitions, start, end, lambda c: c.max(dim=1), torch.cat
    )
    pointers = torch.cat(backpointers).cpu().numpy() if backpointers else None
    return closed.argmax(dim=1).cpu().numpy(), pointers


def _viterbi_host(
    emissions: torch.Tensor, index: PackedIndex, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor
) -> Tuple[numpy.ndarray, Optional[numpy.ndarray]]:
    """`_viterbi_torch` in numpy, for CPU tensors: the same float additions and maxima
    (ties to the first label), so the same result."""
    packed = emissions.detach().numpy()[index.flat_index.numpy()]
    batch_sizes = index.batch_sizes.tolist()
    bounds = numpy.cumsum([0] + batch_sizes).tolist()
    steps = [packed[bounds[t] : bounds[t + 1]] for t in range(len(batch_sizes))]
    closed, backpointers = _viterbi_forward(
        steps, transitions.numpy(), start.numpy(), end.numpy(), _numpy_best, numpy.concatenate
    )
    pointers = numpy.concatenate(backpointers) if backpointers else None
    return closed.argmax(axis=1), pointers


def _numpy_best(candidates: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    # the ufunc's reduce directly: `ndarray.max` goes through a Python wrapper
    return numpy.maximum.reduce(candidates, axis=1), candidates.argmax(axis=1)


def _validate_emissions(emissions: torch.Tensor, lengths: torch.Tensor, n_labels: int) -> None:
    """E019 unless emissions are (n_tokens, n_labels) floats and lengths are positive
    integers summing to n_tokens."""
    problem = None
    if emissions.dim() != 2 or emissions.shape[1] != n_labels or not emissions.is_floating_point():
        problem = f"emissions of shape {tuple(emissions.shape)} and dtype {emissions.dtype}, expected (n_tokens, {n_labels}) floats"
    elif lengths.dim() != 1 or lengths.is_floating_point():
        problem = f"lengths of shape {tuple(lengths.shape)} and dtype {lengths.dtype}, expected (n_sentences,) integers"
    elif len(lengths) and int(lengths.min()) < 1:
        problem = f"a sentence of length {int(lengths.min())}, expected every length > 0"
    elif int(lengths.sum()) != emissions.shape[0]:
        problem = f"lengths summing to {int(lengths.sum())} for {emissions.shape[0]} emission rows"
    if problem is not None:
        raise ValueError(Errors.E019.format(problem=problem))


def _validate_gold(gold: torch.Tensor, emissions: torch.Tensor) -> None:
    """E019 unless gold holds one label id (or MISSING) per emission row."""
    problem = None
    if gold.shape != emissions.shape[:1] or gold.is_floating_point():
        problem = f"gold of shape {tuple(gold.shape)} and dtype {gold.dtype}, expected ({emissions.shape[0]},) integers"
    elif len(gold) and (int(gold.min()) < MISSING or int(gold.max()) >= emissions.shape[1]):
        problem = f"gold label ids from {int(gold.min())} to {int(gold.max())}, expected {MISSING} to {emissions.shape[1] - 1}"
    if problem is not None:
        raise ValueError(Errors.E019.format(problem=problem))
