"""Thinc glue of the CRF: the emission projection and the CRF as layers, and the
functions over the CRF's output that the `xfer_tagger` component calls.

The CRF layer takes the emission scores of each doc and outputs `TaggerScores`: the
`CRFScores` of the batch (flat emissions, transition, start and end scores) and the
docs' lengths. Everything sequence-level is a pure function of them: `crf_loss` (the
softmax-margin loss and the gradient of every score it was given, nothing
accumulated), `crf_decode` (Viterbi) and, for confidence, `crf_path_probs`
(forward-backward marginals), `crf_nbest` (k-best Viterbi) and `crf_entropy`. The
gradient goes back through the CRF layer's backprop, which accumulates the transition,
start and end gradients into the CRF's parameters and passes the emissions' gradient on
to the projection.
"""

from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import torch
from thinc.api import ArgsKwargs, Model
from thinc.types import Floats2d, Ints1d

from ..pytorch_crf import CRFScores, EmissionProjection, LinearChainCRF
from .flat import from_flat_tensor, to_flat_tensor
from .torch_layer import module_of


class TaggerScores(NamedTuple):
    """What the CRF layer outputs for a batch of docs (and, as a gradient, what its
    backprop takes): the `CRFScores` of the non-empty docs, and every doc's length."""

    crf: CRFScores
    doc_lengths: List[int]

    @property
    def filled(self) -> List[int]:
        """The positions of the non-empty docs, whose sentences `crf` holds."""
        return [i for i, n in enumerate(self.doc_lengths) if n]


def init_emissions(model: Model, X=None, Y=None) -> None:
    projection: EmissionProjection = module_of(model)  # type: ignore[assignment]
    projection.resize(model.get_dim("nI"), model.get_dim("nO"))


def init_crf(model: Model, X=None, Y=None) -> None:
    crf: LinearChainCRF = module_of(model)  # type: ignore[assignment]
    crf.resize(model.get_dim("nO"))


def convert_crf_inputs(model: Model, X: List[Floats2d], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Each doc's emission scores -> (flat emissions, the non-empty docs' lengths);
    the emissions' gradient -> each doc's."""
    doc_lengths = [len(x) for x in X]
    flat = to_flat_tensor(model, X, requires_grad=is_train)
    lengths = torch.tensor([n for n in doc_lengths if n], dtype=torch.int64)

    def get_dX(d_inputs: ArgsKwargs) -> List[Floats2d]:
        return from_flat_tensor(model.ops, d_inputs.args[0], doc_lengths)

    return ArgsKwargs(args=(flat, lengths), kwargs={}), get_dX


def convert_crf_outputs(
    model: Model, X_scores: Tuple[List[Floats2d], CRFScores], is_train: bool
) -> Tuple[TaggerScores, Callable[[TaggerScores], ArgsKwargs]]:
    """The CRF's scores, with the docs' lengths; their gradient -> the backward
    arguments of the emissions and the transition, start and end scores."""
    X, scores = X_scores

    def get_d_scores(d_scores: TaggerScores) -> ArgsKwargs:
        d = d_scores.crf
        tensors = (scores.emissions, scores.transitions, scores.start, scores.end)
        return ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": (d.emissions, d.transitions, d.start, d.end)})

    return TaggerScores(scores, [len(x) for x in X]), get_d_scores


def get_crf(model: Model) -> LinearChainCRF:
    """The torch CRF module of a CRFTagger model."""
    return module_of(model.get_ref("crf"))  # type: ignore[return-value]


def crf_loss(
    scores: TaggerScores, gold: Sequence[Optional[Ints1d]], cost: float
) -> Tuple[float, TaggerScores]:
    """The softmax-margin loss of the docs with gold, and the gradient of every score
    it was given; a pure function (no gradient is accumulated anywhere).

    gold (Sequence[Optional[Ints1d]]): per doc, label ids per token, MISSING (-1)
        where unknown; None for a doc without gold. Docs with no known label add
        nothing and get a zero gradient.
    RETURNS (Tuple[float, TaggerScores]): the summed loss and d_scores.
    RAISES: ValueError (E016, E019) from `CRFScores.loss_and_gradients`.
    """
    crf = scores.crf
    filled_gold = [gold[i] for i in scores.filled]
    active = numpy.array([g is not None and bool((numpy.asarray(g) >= 0).any()) for g in filled_gold], dtype=bool)
    rows = torch.from_numpy(numpy.flatnonzero(numpy.repeat(active, crf.lengths.numpy()))).to(crf.emissions.device)
    own = crf._replace(emissions=crf.emissions.detach().index_select(0, rows), lengths=crf.lengths[torch.from_numpy(active)])
    own_gold = [numpy.asarray(filled_gold[j], dtype="int64") for j in numpy.flatnonzero(active)]
    gold_flat = torch.from_numpy(numpy.concatenate(own_gold) if own_gold else numpy.zeros(0, dtype="int64"))
    losses, (d_own, d_transitions, d_start, d_end) = own.loss_and_gradients(gold_flat.to(crf.emissions.device), cost)
    d_emissions = torch.zeros_like(crf.emissions, dtype=d_own.dtype).index_copy_(0, rows, d_own)
    return float(losses.sum().item()), _gradient(scores, (d_emissions, d_transitions, d_start, d_end))


def _gradient(scores: TaggerScores, grads: Sequence[torch.Tensor]) -> TaggerScores:
    d_emissions, d_transitions, d_start, d_end = grads
    crf = scores.crf._replace(emissions=d_emissions, transitions=d_transitions, start=d_start, end=d_end)
    return scores._replace(crf=crf)


def _per_doc(scores: TaggerScores, filled_results: Sequence, empty) -> list:
    """Results of the non-empty docs, in doc order, with `empty` for the empty ones."""
    results = [empty] * len(scores.doc_lengths)
    for i, result in zip(scores.filled, filled_results):
        results[i] = result
    return results


def crf_decode(scores: TaggerScores) -> List[numpy.ndarray]:
    """Viterbi label ids of each doc (an empty array for an empty doc)."""
    empty = numpy.zeros((0,), dtype="int64")
    if not scores.filled:
        return [empty] * len(scores.doc_lengths)
    return _per_doc(scores, scores.crf._replace(emissions=scores.crf.emissions.detach()).decode(), empty)


class PathProbs(NamedTuple):
    """How sure the CRF is of one sentence's predicted path y (float64, from the
    forward-backward pass).

    token_probs (ndarray): (n_tokens,) the marginal p(y_t) of each predicted label.
    prefix (ndarray): (n_tokens,) log alpha_t(y_t) - log Z: the allowed prefixes ending
        in y_t, its emission included.
    links (ndarray): (n_tokens,) cumulative transition + emission scores along y from
        token 1 (links[0] = 0).
    suffix (ndarray): (n_tokens,) log beta_t(y_t): the allowed suffixes after y_t.
    """

    token_probs: numpy.ndarray
    prefix: numpy.ndarray
    links: numpy.ndarray
    suffix: numpy.ndarray

    def segment_prob(self, start: int, end: int) -> float:
        """p(tokens start..end-1 take exactly their predicted labels), e.g. a span's
        `B-X I-X L-X`, summed over everything outside the segment (end exclusive)."""
        last = end - 1
        return float(numpy.exp(self.prefix[start] + self.links[last] - self.links[start] + self.suffix[last]))


NO_PROBS = PathProbs(*(numpy.zeros(0),) * len(PathProbs._fields))


def _float64(scores: TaggerScores) -> CRFScores:
    """The CRF's scores with the emissions in float64, without gradient."""
    return scores.crf._replace(emissions=scores.crf.emissions.detach().double())


def crf_path_probs(scores: TaggerScores, paths: Sequence[numpy.ndarray]) -> List[PathProbs]:
    """The `PathProbs` of each doc's predicted label ids `paths` (`NO_PROBS` for an
    empty doc)."""
    if not scores.filled:
        return [NO_PROBS] * len(scores.doc_lengths)
    crf = _float64(scores)
    log_alpha, log_beta, log_z = (t.cpu().numpy() for t in crf.forward_backward())
    emissions = crf.emissions.cpu().numpy()
    transitions = crf.transitions.detach().double().cpu().numpy()
    probs = []
    start = 0
    for path, n_log_z in zip((paths[i] for i in scores.filled), log_z):
        rows = numpy.arange(start, start + len(path))
        prefix = log_alpha[rows, path] - n_log_z
        suffix = log_beta[rows, path]
        steps = transitions[path[:-1], path[1:]] + emissions[rows[1:], path[1:]]
        links = numpy.concatenate([[0.0], numpy.cumsum(steps)])
        probs.append(PathProbs(numpy.exp(prefix + suffix), prefix, links, suffix))
        start += len(path)
    return _per_doc(scores, probs, NO_PROBS)


def crf_nbest(scores: TaggerScores, k: int) -> List[Tuple[numpy.ndarray, numpy.ndarray]]:
    """k-best Viterbi of each doc: (paths (n_best, length) label ids,
    log-probabilities (n_best,)), best first, in float64; an empty doc has one empty
    path of log-probability 0."""
    empty = (numpy.zeros((1, 0), dtype="int64"), numpy.zeros(1))
    if not scores.filled:
        return [empty] * len(scores.doc_lengths)
    return _per_doc(scores, _float64(scores).nbest(k), empty)


def crf_entropy(scores: TaggerScores) -> List[float]:
    """The sequence entropy (nats) of each doc, in float64 (0 for an empty doc)."""
    if not scores.filled:
        return [0.0] * len(scores.doc_lengths)
    return _per_doc(scores, _float64(scores).entropy().cpu().numpy().tolist(), 0.0)
