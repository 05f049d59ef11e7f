"""Linear-chain CRF: emission projection, transition/start/end scores, the forward
algorithm in log space, Viterbi decoding and the softmax-margin loss."""

from typing import Dict

import numpy
import torch
from torch import nn

from .pytorch_resizable import Resizable

# Score added to a forbidden transition. Finite, so that nothing becomes NaN.
FORBIDDEN = -1.0e4
MISSING = -1


class LinearChainCRF(Resizable):
    """A linear-chain CRF over projected features.

    `forward` gives the emission scores; the sequence-level functions take emissions
    padded to (n_sentences, max_len, n_labels) and a (n_sentences, max_len) mask.
    Transitions the tag scheme forbids (see `set_constraints`) score FORBIDDEN, in
    training and decoding alike.
    """

    def __init__(self, n_in: int, n_labels: int) -> None:
        super().__init__()
        self.project = nn.Linear(n_in, n_labels)
        self.transitions = nn.Parameter(torch.zeros(n_labels, n_labels))
        self.start = nn.Parameter(torch.zeros(n_labels))
        self.end = nn.Parameter(torch.zeros(n_labels))
        self.register_buffer("allowed_transitions", torch.ones(n_labels, n_labels, dtype=torch.bool))
        self.register_buffer("allowed_start", torch.ones(n_labels, dtype=torch.bool))
        self.register_buffer("allowed_end", torch.ones(n_labels, dtype=torch.bool))

    @property
    def n_labels(self) -> int:
        return self.transitions.shape[0]

    def resize(self, n_in: int, n_labels: int) -> None:
        """Rebuild for `n_in` input features and `n_labels` labels (fresh scores, no
        constraints)."""
        device = self.transitions.device
        self.__init__(n_in, n_labels)  # type: ignore[misc]
        self.to(device)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["project.weight"].shape[1], state["transitions"].shape[0])

    def set_constraints(
        self, transitions: numpy.ndarray, start: numpy.ndarray, end: numpy.ndarray
    ) -> None:
        """Set which transitions are allowed (bool arrays, True = allowed)."""
        device = self.transitions.device
        self.allowed_transitions = torch.as_tensor(transitions, dtype=torch.bool, device=device)
        self.allowed_start = torch.as_tensor(start, dtype=torch.bool, device=device)
        self.allowed_end = torch.as_tensor(end, dtype=torch.bool, device=device)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(n_tokens, n_in) features -> (n_tokens, n_labels) emission scores."""
        return self.project(features)

    def _scores(self):
        forbid = lambda scores, allowed: scores.masked_fill(~allowed, FORBIDDEN)  # noqa: E731
        return (
            forbid(self.transitions, self.allowed_transitions),
            forbid(self.start, self.allowed_start),
            forbid(self.end, self.allowed_end),
        )

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log sum over all label sequences of exp(score), per sentence: (n_sentences,)."""
        transitions, start, end = self._scores()
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The score of the given label sequences (no missing tags), per sentence."""
        transitions, start, end = self._scores()
        lengths = mask.sum(1)
        tags = tags.clamp(min=0)
        unary = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        binary = transitions[tags[:, :-1], tags[:, 1:]]
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        return (
            (unary * mask).sum(1)
            + (binary * mask[:, 1:]).sum(1)
            + start[tags[:, 0]]
            + end[last]
        )

    def loss(
        self,
        emissions: torch.Tensor,
        gold: torch.Tensor,
        mask: torch.Tensor,
        cost: float,
    ) -> torch.Tensor:
        """Softmax-margin loss per sentence (Gimpel & Smith 2010):

            log sum_y exp(score(y) + cost * hamming(y, gold)) - score(gold)

        `cost = 0` gives the CRF negative log-likelihood. Tags equal to MISSING (-1)
        are unobserved: the gold term then sums over every sequence that agrees with
        the observed tags, and the Hamming cost counts observed positions only.
        """
        observed = (gold != MISSING) & mask
        one_hot = torch.zeros_like(emissions).scatter_(2, gold.clamp(min=0).unsqueeze(2), 1.0)
        one_hot = one_hot * observed.unsqueeze(2)
        hamming = cost * (observed.unsqueeze(2).float() - one_hot)
        log_z = self.log_partition(emissions + hamming, mask)
        if bool((observed == mask).all()):
            gold_score = self.path_score(emissions, gold, mask)
        else:
            agree = (one_hot > 0) | ~observed.unsqueeze(2)
            gold_score = self.log_partition(emissions.masked_fill(~agree, FORBIDDEN), mask)
        return log_z - gold_score

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> numpy.ndarray:
        """Viterbi: the best label sequence per sentence, (n_sentences, max_len) ints
        (positions past a sentence's end are 0)."""
        transitions, start, end = self._scores()
        n_sents, max_len, _ = emissions.shape
        score = start + emissions[:, 0]
        backpointers = []
        for t in range(1, max_len):
            best, best_prev = (score.unsqueeze(2) + transitions).max(dim=1)
            backpointers.append(best_prev)
            score = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], score)
        current = (score + end).argmax(dim=1).cpu().numpy()
        pointers = torch.stack(backpointers, 1).cpu().numpy() if backpointers else None
        lengths = mask.sum(1).cpu().numpy()
        paths = numpy.zeros((n_sents, max_len), dtype="int64")
        rows = numpy.arange(n_sents)
        for t in range(max_len - 1, 0, -1):
            active = lengths > t
            paths[active, t] = current[active]
            assert pointers is not None
            current = numpy.where(active, pointers[rows, t - 1, current], current)
        paths[:, 0] = current
        return paths
