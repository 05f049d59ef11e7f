"""Thinc glue of the CRF tagger: joining the tok2vec with extra features, sizing the CRF
at initialize, and the sequence-level functions over its scores that the `xfer_tagger`
component calls (the softmax-margin loss, Viterbi; for confidence the forward-backward
marginals, k-best Viterbi and the sequence entropy).
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import Model, torch2xp, xp2torch
from thinc.types import Floats2d, Ints1d

from ...errors import Errors
from ..pytorch_crf import LinearChainCRF
from .torch_layer import module_of


def init_crf_tagger(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    *inputs, crf = model.layers
    for layer in inputs:
        layer.initialize(X=X)
    crf.set_dim("nI", sum(input_width(layer, X) for layer in inputs), force=True)
    crf.set_dim("nO", model.get_dim("nO"), force=True)
    crf.initialize()


def input_width(layer: Model, docs: Optional[List[Doc]]) -> int:
    """The width of a CRF input layer's vectors: its `nO` if set, else measured on the
    first non-empty doc of `docs`, which also sets an `nO` dimension left unset (as
    spaCy's tagger sizes its softmax from the data).

    RETURNS (int): the width.
    RAISES (ValueError): E017 when the width is unset and there is no non-empty doc.
    """
    if layer.has_dim("nO"):
        return layer.get_dim("nO")
    sample = next(([doc] for doc in docs or () if len(doc)), None)
    if sample is None:
        raise ValueError(Errors.E017.format(layer=layer.name))
    width = layer.predict(sample)[0].shape[1]
    if layer.has_dim("nO") is None:
        layer.set_dim("nO", width)
    return width


def crf_tagger_forward(model: Model, docs: List[Doc], is_train: bool):
    *inputs, crf = model.layers
    outputs, backprops = zip(*(layer(docs, is_train) for layer in inputs))
    if len(inputs) == 1:
        joined = list(outputs[0])
    else:
        joined = [model.ops.xp.hstack(parts) for parts in zip(*outputs)]
    scores, backprop_crf = crf(joined, is_train)

    def backprop(d_scores: List[Floats2d]) -> List[Doc]:
        d_joined = backprop_crf(d_scores)
        if len(inputs) == 1:
            backprops[0](d_joined)
            return []
        offsets = numpy.cumsum([0] + [layer.get_dim("nO") for layer in inputs])
        for i, layer_backprop in enumerate(backprops):
            layer_backprop([d[:, offsets[i] : offsets[i + 1]] for d in d_joined])
        return []

    return scores, backprop


def init_crf(model: Model, X=None, Y=None) -> None:
    crf: LinearChainCRF = module_of(model)  # type: ignore[assignment]
    crf.resize(model.get_dim("nI"), model.get_dim("nO"))


def get_crf(model: Model) -> LinearChainCRF:
    """The torch CRF module of a CRFTagger model."""
    return module_of(model.get_ref("crf"))  # type: ignore[return-value]


def _flat(
    model: Model, scores: Sequence[Floats2d], *, requires_grad: bool
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The sentences' scores as one flat (n_tokens, n_labels) tensor on the CRF's
    device, and their (n_sentences,) lengths on CPU."""
    device = get_crf(model).transitions.device
    flat = xp2torch(model.ops.flatten(list(scores)), requires_grad=requires_grad, device=device)
    return flat, torch.tensor([len(s) for s in scores], dtype=torch.int64)


def crf_loss(
    model: Model, scores: Sequence[Floats2d], gold: Sequence[Ints1d], cost: float
) -> Tuple[float, List[Floats2d]]:
    """Softmax-margin loss of non-empty sentences and the gradient of their scores.

    The gradients of the transition, start and end scores are accumulated into the
    CRF's parameters, to be applied by the model's `finish_update`.
    gold (Sequence[Ints1d]): label ids per token, MISSING (-1) where unknown.
    RETURNS (Tuple[float, List[Floats2d]]): the summed loss and d_scores.
    """
    flat, lengths = _flat(model, scores, requires_grad=True)
    gold_flat = torch.from_numpy(numpy.concatenate([numpy.asarray(g, dtype="int64") for g in gold]))
    loss = get_crf(model).loss_flat(flat, gold_flat.to(flat.device), lengths, cost).sum()
    loss.backward()
    d_flat = torch2xp(flat.grad, ops=model.ops)
    return float(loss.item()), model.ops.unflatten(model.ops.asarray2f(d_flat), model.ops.asarray1i(lengths.numpy()))


def crf_decode(model: Model, scores: Sequence[Floats2d]) -> List[numpy.ndarray]:
    """Viterbi label ids for each non-empty sentence's scores."""
    flat, lengths = _flat(model, scores, requires_grad=False)
    return get_crf(model).decode_flat(flat.detach(), lengths)


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


class NBest(NamedTuple):
    """A sentence's k best label sequences (CRF labels: BILUO tags for span targets),
    best first, with their log-probabilities, and the sequence entropy (nats) if asked."""

    labels: List[List[str]]
    log_probs: List[float]
    entropy: Optional[float]


def crf_path_probs(model: Model, scores: Sequence[Floats2d], paths: Sequence[numpy.ndarray]) -> List[PathProbs]:
    """The `PathProbs` of each non-empty sentence's predicted label ids `paths`."""
    flat, lengths = _flat(model, scores, requires_grad=False)
    crf = get_crf(model)
    flat = flat.detach().double()
    log_alpha, log_beta, log_z = (t.cpu().numpy() for t in crf.forward_backward_flat(flat, lengths))
    emissions = flat.cpu().numpy()
    transitions = crf.transitions.detach().double().cpu().numpy()
    probs = []
    start = 0
    for path, n_log_z in zip(paths, log_z):
        rows = numpy.arange(start, start + len(path))
        prefix = log_alpha[rows, path] - n_log_z
        suffix = log_beta[rows, path]
        steps = transitions[path[:-1], path[1:]] + emissions[rows[1:], path[1:]]
        links = numpy.concatenate([[0.0], numpy.cumsum(steps)])
        probs.append(PathProbs(numpy.exp(prefix + suffix), prefix, links, suffix))
        start += len(path)
    return probs


def crf_nbest(model: Model, scores: Sequence[Floats2d], k: int) -> List[Tuple[numpy.ndarray, numpy.ndarray]]:
    """k-best Viterbi of each non-empty sentence: (paths (n_best, length) label ids,
    log-probabilities (n_best,)), best first, in float64."""
    flat, lengths = _flat(model, scores, requires_grad=False)
    return get_crf(model).nbest_flat(flat.detach().double(), lengths, k)


def crf_entropy(model: Model, scores: Sequence[Floats2d]) -> numpy.ndarray:
    """The sequence entropy (nats) of each non-empty sentence, in float64."""
    flat, lengths = _flat(model, scores, requires_grad=False)
    return get_crf(model).entropy_flat(flat.detach().double(), lengths).cpu().numpy()
