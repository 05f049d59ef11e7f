"""The CRF's confidence measures against brute force over all label sequences (float64):
forward-backward marginals, sequence entropy and k-best Viterbi, unconstrained, under
random constraints and under every tag scheme."""

import math
from typing import List, Optional, Sequence, Tuple

import numpy
import pytest
import torch

from spacy_xfer.models.pytorch_crf import LinearChainCRF
from spacy_xfer.tags import allowed_transitions

from .test_crf import (
    Constraints,
    all_seqs,
    brute_log_z,
    is_allowed,
    make_crf,
    random_constraints,
    raw_params,
    scheme_labels,
    seq_score,
    single_thread,  # noqa: F401  (fixture)
)

CASES = ["none", "random", "IOB1", "IOB2", "BIOES", "BILUO"]


def setup_case(case: str, seed: int) -> Tuple[LinearChainCRF, torch.Tensor, List[int], Optional[Constraints]]:
    """A float64 CRF, flat emissions and sentence lengths; scheme cases use the scheme's
    labels (5 or 9) and short sentences so that brute force stays small."""
    rng = numpy.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    if case in ("none", "random"):
        n_labels = 3
        lengths = [4, 1, 3, 2, 4]
        constraints = random_constraints(n_labels, lengths, rng) if case == "random" else None
    else:
        labels = scheme_labels(case)
        n_labels = len(labels)
        lengths = [3, 1, 2, 3] if n_labels < 9 else [3, 1, 2]
        constraints = allowed_transitions(labels, case)
    crf = make_crf(n_labels, gen, constraints)
    emissions = 2.0 * torch.randn(sum(lengths), n_labels, generator=gen, dtype=torch.float64)
    return crf, emissions, lengths, constraints


def sentences(emissions: torch.Tensor, lengths: Sequence[int]):
    start = 0
    for length in lengths:
        yield emissions[start : start + length].numpy()
        start += length


def allowed_with_log_probs(em: numpy.ndarray, params, constraints) -> List[Tuple[Tuple[int, ...], float]]:
    length, n_labels = em.shape
    log_z = brute_log_z(em, params, constraints)
    seqs = [y for y in all_seqs(n_labels, length) if is_allowed(y, constraints)]
    return [(y, seq_score(em, params, y) - log_z) for y in seqs]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_marginals_match_brute_force(case, seed):
    crf, emissions, lengths, constraints = setup_case(case, seed)
    got = crf(emissions, torch.tensor(lengths)).marginals().numpy()
    assert got.shape == emissions.shape
    params = raw_params(crf)
    row = 0
    for em in sentences(emissions, lengths):
        expected = numpy.zeros(em.shape)
        for y, log_p in allowed_with_log_probs(em, params, constraints):
            expected[numpy.arange(len(y)), y] += math.exp(log_p)
        numpy.testing.assert_allclose(got[row : row + len(em)], expected, atol=1e-10)
        row += len(em)
    numpy.testing.assert_allclose(got.sum(1), 1.0, atol=1e-10)


def test_marginals_give_forbidden_labels_exactly_zero():
    labels = scheme_labels("BILUO")
    crf, emissions, lengths, _ = setup_case("BILUO", 0)
    got = crf(1e6 * emissions, torch.tensor(lengths)).marginals().numpy()
    first = numpy.cumsum([0] + lengths[:-1])
    cannot_start = [i for i, label in enumerate(labels) if label[0] in "IL"]
    assert numpy.isfinite(got).all()
    assert (got[numpy.ix_(first, cannot_start)] == 0.0).all()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequence_entropy_matches_brute_force(case, seed):
    crf, emissions, lengths, constraints = setup_case(case, seed)
    got = crf(emissions, torch.tensor(lengths)).entropy().numpy()
    params = raw_params(crf)
    for i, em in enumerate(sentences(emissions, lengths)):
        log_probs = numpy.array([log_p for _, log_p in allowed_with_log_probs(em, params, constraints)])
        expected = -(numpy.exp(log_probs) * log_probs).sum()
        assert got[i] == pytest.approx(expected, abs=1e-9)


def test_sequence_entropy_is_not_the_sum_of_token_entropies():
    """Strong transitions make the tokens' labels dependent: two equally likely
    sequences (1 bit) whose tokens each look like a fair coin (2 bits summed)."""
    crf = LinearChainCRF(2).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor([[0.0, -50.0], [-50.0, 0.0]]))
    emissions = torch.zeros(2, 2, dtype=torch.float64)
    entropy = crf(emissions, torch.tensor([2])).entropy().item()
    marginals = crf(emissions, torch.tensor([2])).marginals().numpy()
    token_sum = -(marginals * numpy.log(marginals)).sum()
    assert entropy == pytest.approx(math.log(2), abs=1e-9)
    assert token_sum == pytest.approx(2 * math.log(2), abs=1e-9)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_nbest_matches_brute_force(case, seed, k):
    crf, emissions, lengths, constraints = setup_case(case, seed)
    got = crf(emissions, torch.tensor(lengths)).nbest(k)
    params = raw_params(crf)
    for (paths, log_probs), em in zip(got, sentences(emissions, lengths)):
        ranked = sorted(allowed_with_log_probs(em, params, constraints), key=lambda pair: -pair[1])[:k]
        assert paths.shape == (len(ranked), len(em))
        assert [tuple(int(t) for t in path) for path in paths] == [y for y, _ in ranked]
        numpy.testing.assert_allclose(log_probs, [log_p for _, log_p in ranked], atol=1e-10)


def test_nbest_returns_fewer_when_fewer_sequences_are_allowed():
    """One token under IOB2 with one type: only `O` and `B-X` may stand alone."""
    crf = LinearChainCRF(3).double()
    crf.set_constraints(*allowed_transitions(["O", "B-X", "I-X"], "IOB2"))
    emissions = torch.tensor([[0.0, 1.0, 9.0]], dtype=torch.float64)
    (paths, log_probs), = crf(emissions, torch.tensor([1])).nbest(5)
    assert paths.tolist() == [[1], [0]]
    assert numpy.exp(log_probs).sum() == pytest.approx(1.0)


def test_nbest_first_is_viterbi_at_any_batching():
    crf, emissions, lengths, _ = setup_case("BILUO", 5)
    viterbi = crf(emissions, torch.tensor(lengths)).decode()
    best = crf(emissions, torch.tensor(lengths)).nbest(4)
    for path, (paths, _) in zip(viterbi, best):
        assert paths[0].tolist() == path.tolist()
    alone = crf(emissions[: lengths[0]], torch.tensor(lengths[:1])).nbest(4)[0]
    numpy.testing.assert_array_equal(alone[0], best[0][0])
    numpy.testing.assert_allclose(alone[1], best[0][1], atol=1e-12)


def test_nbest_rejects_k_below_one():
    crf, emissions, lengths, _ = setup_case("none", 0)
    with pytest.raises(ValueError, match="k >= 1"):
        crf(emissions, torch.tensor(lengths)).nbest(0)
