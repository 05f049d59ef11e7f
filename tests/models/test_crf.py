"""LinearChainCRF against brute force over all label sequences (float64)."""

import itertools
import os
from typing import List, Optional, Sequence, Tuple

import numpy
import pytest
import torch

from spacy_xfer.models import fused_crf_loss, fused_viterbi, pytorch_crf
from spacy_xfer.models.pytorch_crf import MISSING, LinearChainCRF, floor
from spacy_xfer.tags import allowed_transitions, chunks_from_biluo, chunks_from_tags, chunks_to_tags

from ..util import import_extra

SEEDS = [0, 1, 2, 3, 4, 5]
Constraints = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """The tensors here are tiny: intra-op threads only add wake-up latency (which is
    large on a loaded machine)."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


# ---------------------------------------------------------------------------
# helpers: the CRF's functions on the padded batches the tests build


def padded_log_partition(crf: LinearChainCRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return crf(emissions[mask], mask.sum(1)).log_partition()


def padded_path_score(crf: LinearChainCRF, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return crf(emissions[mask], mask.sum(1)).path_score(tags[mask])


def padded_loss(crf: LinearChainCRF, emissions: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor, cost: float):
    return crf(emissions[mask], mask.sum(1)).loss(gold[mask], cost)


def padded_decode(crf: LinearChainCRF, emissions: torch.Tensor, mask: torch.Tensor) -> numpy.ndarray:
    """(n_sentences, max_len) label ids, 0 past each sentence's end."""
    paths = numpy.zeros(mask.shape, dtype="int64")
    for i, path in enumerate(crf(emissions[mask], mask.sum(1)).decode()):
        paths[i, : len(path)] = path
    return paths


def make_crf(n_labels: int, gen: torch.Generator, constraints: Optional[Constraints] = None) -> LinearChainCRF:
    crf = LinearChainCRF(n_labels).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(n_labels, n_labels, generator=gen, dtype=torch.float64))
        crf.start.copy_(torch.randn(n_labels, generator=gen, dtype=torch.float64))
        crf.end.copy_(torch.randn(n_labels, generator=gen, dtype=torch.float64))
    if constraints is not None:
        crf.set_constraints(*constraints)
    return crf


def make_batch(lengths: Sequence[int], n_labels: int, gen: torch.Generator, extra_pad: int = 0, pad_value=None):
    """Emissions (n, max_len, K) with garbage (large, finite) values in the padding, and the mask."""
    max_len = max(lengths) + extra_pad
    emissions = torch.randn(len(lengths), max_len, n_labels, generator=gen, dtype=torch.float64)
    mask = torch.arange(max_len).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    if pad_value is None:
        garbage = 50.0 * torch.randn(emissions.shape, generator=gen, dtype=torch.float64)
    else:
        garbage = pad_value
    emissions = torch.where(mask.unsqueeze(2), emissions, torch.as_tensor(garbage, dtype=torch.float64))
    return emissions, mask


def random_constraints(n_labels: int, lengths: Sequence[int], rng: numpy.random.Generator) -> Constraints:
    """Random allowed-transition masks under which every length in `lengths` has at
    least one allowed sequence."""
    while True:
        trans = rng.random((n_labels, n_labels)) < 0.6
        start = rng.random(n_labels) < 0.7
        end = rng.random(n_labels) < 0.7
        if all(has_allowed_sequence(n, (trans, start, end)) for n in set(lengths)):
            return trans, start, end


def has_allowed_sequence(length: int, constraints: Constraints) -> bool:
    trans, start, end = constraints
    reachable = start.copy()
    for _ in range(length - 1):
        reachable = (reachable[:, None] & trans).any(0)
    return bool((reachable & end).any())


def all_seqs(n_labels: int, length: int):
    return itertools.product(range(n_labels), repeat=length)


def is_allowed(y: Sequence[int], constraints: Optional[Constraints]) -> bool:
    if constraints is None:
        return True
    trans, start, end = constraints
    return bool(start[y[0]] and end[y[-1]] and all(trans[a, b] for a, b in zip(y[:-1], y[1:])))


def raw_params(crf: LinearChainCRF):
    return (
        crf.transitions.detach().numpy(),
        crf.start.detach().numpy(),
        crf.end.detach().numpy(),
    )


def seq_score(em: numpy.ndarray, params, y: Sequence[int]) -> float:
    """Score of sequence y for one sentence: em is (length, K), unpadded."""
    trans, start, end = params
    score = start[y[0]] + end[y[-1]] + sum(em[t, y[t]] for t in range(len(y)))
    score += sum(trans[y[t - 1], y[t]] for t in range(1, len(y)))
    return float(score)


def logsumexp(values: List[float]) -> float:
    values = numpy.asarray(values, dtype=numpy.float64)
    top = values.max()
    return float(top + numpy.log(numpy.exp(values - top).sum()))


def brute_log_z(em, params, constraints=None) -> float:
    length, n_labels = em.shape
    return logsumexp([seq_score(em, params, y) for y in all_seqs(n_labels, length) if is_allowed(y, constraints)])


def brute_argmax(em, params, constraints=None) -> Tuple[int, ...]:
    length, n_labels = em.shape
    candidates = [y for y in all_seqs(n_labels, length) if is_allowed(y, constraints)]
    return max(candidates, key=lambda y: seq_score(em, params, y))


def hamming(y: Sequence[int], gold: Sequence[int]) -> int:
    """Hamming distance counting observed (non-MISSING) gold positions only."""
    return sum(1 for a, g in zip(y, gold) if g != MISSING and a != g)


def agrees(y: Sequence[int], gold: Sequence[int]) -> bool:
    return all(g == MISSING or a == g for a, g in zip(y, gold))


def brute_loss(em, params, gold, cost, constraints=None) -> float:
    length, n_labels = em.shape
    seqs = [y for y in all_seqs(n_labels, length) if is_allowed(y, constraints)]
    upper = logsumexp([seq_score(em, params, y) + cost * hamming(y, gold) for y in seqs])
    lower = logsumexp([seq_score(em, params, y) for y in seqs if agrees(y, gold)])
    return upper - lower


def random_lengths(rng: numpy.random.Generator, n: int, max_len: int = 5) -> List[int]:
    lengths = [int(x) for x in rng.integers(1, max_len + 1, size=n)]
    lengths[int(rng.integers(n))] = max_len  # one full-length sentence, others padded
    return lengths


# ---------------------------------------------------------------------------
# 1. log_partition


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_matches_brute_force(seed, constrained):
    rng = numpy.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    for n_labels in (1, 2, 3, 4):
        lengths = random_lengths(rng, 4, max_len=5 if n_labels < 4 else 4)
        constraints = random_constraints(n_labels, lengths, rng) if constrained else None
        crf = make_crf(n_labels, gen, constraints)
        emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
        got = padded_log_partition(crf, emissions, mask)
        assert got.shape == (len(lengths),)
        params = raw_params(crf)
        for i, length in enumerate(lengths):
            em = emissions[i, :length].numpy()
            expected = brute_log_z(em, params, constraints)
            assert got[i].item() == pytest.approx(expected, abs=1e-9, rel=1e-9), (n_labels, length)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_log_partition_ignores_padding(seed):
    gen = torch.Generator().manual_seed(seed)
    lengths = [1, 3, 5, 2]
    crf = make_crf(3, gen)
    emissions, mask = make_batch(lengths, 3, gen, extra_pad=2)
    batched = padded_log_partition(crf, emissions, mask)
    zeroed = padded_log_partition(crf, emissions.masked_fill(~mask.unsqueeze(2), 0.0), mask)
    huge = padded_log_partition(crf, emissions.masked_fill(~mask.unsqueeze(2), 1e3), mask)
    torch.testing.assert_close(batched, zeroed, rtol=0, atol=1e-12)
    torch.testing.assert_close(batched, huge, rtol=0, atol=1e-12)
    for i, length in enumerate(lengths):
        alone = padded_log_partition(crf, emissions[i : i + 1, :length], mask[i : i + 1, :length])
        assert alone.item() == pytest.approx(batched[i].item(), abs=1e-12)


def test_log_partition_uses_constraints_for_start_and_end():
    # Only sequence 0 -> 1 is allowed for length 2: log Z is exactly its score.
    gen = torch.Generator().manual_seed(0)
    trans = numpy.array([[False, True], [False, False]])
    start = numpy.array([True, False])
    end = numpy.array([False, True])
    crf = make_crf(2, gen, (trans, start, end))
    emissions, mask = make_batch([2], 2, gen)
    got = padded_log_partition(crf, emissions, mask).item()
    expected = seq_score(emissions[0].numpy(), raw_params(crf), (0, 1))
    assert got == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------------------
# 2. decode


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("constrained", [False, True])
def test_decode_matches_brute_force_argmax(seed, constrained):
    rng = numpy.random.default_rng(100 + seed)
    gen = torch.Generator().manual_seed(100 + seed)
    for n_labels in (1, 2, 3, 4):
        lengths = random_lengths(rng, 5, max_len=5 if n_labels < 4 else 4)
        constraints = random_constraints(n_labels, lengths, rng) if constrained else None
        crf = make_crf(n_labels, gen, constraints)
        emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
        paths = padded_decode(crf, emissions, mask)
        assert isinstance(paths, numpy.ndarray)
        assert paths.shape == tuple(mask.shape)
        params = raw_params(crf)
        for i, length in enumerate(lengths):
            expected = brute_argmax(emissions[i, :length].numpy(), params, constraints)
            assert tuple(int(t) for t in paths[i, :length]) == expected, (n_labels, length)
            assert (paths[i, length:] == 0).all()


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_decode_is_independent_of_batching(seed):
    gen = torch.Generator().manual_seed(200 + seed)
    rng = numpy.random.default_rng(200 + seed)
    n_labels = 4
    crf = make_crf(n_labels, gen, random_constraints(n_labels, [1, 2, 3, 4, 5, 6, 7], rng))
    length = 4
    sentence = torch.randn(1, length, n_labels, generator=gen, dtype=torch.float64)
    alone = padded_decode(crf, sentence, torch.ones(1, length, dtype=torch.bool))[0]
    for others in ([7], [1], [2, 7, 1], [4, 4]):
        lengths = others[:1] + [length] + others[1:]
        emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
        emissions[1, :length] = sentence[0]
        batched = padded_decode(crf, emissions, mask)
        numpy.testing.assert_array_equal(batched[1, :length], alone)
        assert (batched[1, length:] == 0).all()


def test_decode_single_token_and_max_len_one():
    gen = torch.Generator().manual_seed(7)
    crf = make_crf(3, gen)
    emissions, mask = make_batch([1, 1], 3, gen)
    paths = padded_decode(crf, emissions, mask)
    params = raw_params(crf)
    for i in range(2):
        assert (int(paths[i, 0]),) == brute_argmax(emissions[i, :1].numpy(), params)


# ---------------------------------------------------------------------------
# 3. loss


def random_gold(rng, lengths, max_len, n_labels, p_missing=0.0, pad=MISSING, constraints=None):
    gold = numpy.full((len(lengths), max_len), pad, dtype="int64")
    for i, length in enumerate(lengths):
        while True:
            y = rng.integers(0, n_labels, size=length)
            if is_allowed(tuple(y), constraints):
                break
        y[rng.random(length) < p_missing] = MISSING
        gold[i, :length] = y
    return torch.as_tensor(gold)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cost", [0.0, 0.5, 2.0])
def test_loss_fully_observed_matches_brute_force(seed, cost):
    rng = numpy.random.default_rng(300 + seed)
    gen = torch.Generator().manual_seed(300 + seed)
    for n_labels in (1, 2, 3, 4):
        lengths = random_lengths(rng, 4, max_len=5 if n_labels < 4 else 4)
        crf = make_crf(n_labels, gen)
        emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
        params = raw_params(crf)
        # Padding of the gold as the tagger does it (MISSING), and with real label ids.
        for pad in (MISSING, n_labels - 1):
            gold = random_gold(rng, lengths, mask.shape[1], n_labels, pad=pad)
            loss = padded_loss(crf, emissions, gold, mask, cost)
            assert loss.shape == (len(lengths),)
            for i, length in enumerate(lengths):
                em = emissions[i, :length].numpy()
                y = tuple(int(t) for t in gold[i, :length])
                if cost == 0.0:
                    expected = brute_log_z(em, params) - seq_score(em, params, y)
                else:
                    expected = brute_loss(em, params, y, cost)
                assert loss[i].item() == pytest.approx(expected, abs=1e-9, rel=1e-9)
            assert (loss >= -1e-12).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_path_score_matches_brute_force(seed):
    rng = numpy.random.default_rng(350 + seed)
    gen = torch.Generator().manual_seed(350 + seed)
    lengths = [1, 2, 5, 3]
    crf = make_crf(3, gen)
    emissions, mask = make_batch(lengths, 3, gen, extra_pad=1)
    gold = random_gold(rng, lengths, mask.shape[1], 3, pad=2)
    got = padded_path_score(crf, emissions, gold, mask)
    for i, length in enumerate(lengths):
        y = tuple(int(t) for t in gold[i, :length])
        assert got[i].item() == pytest.approx(seq_score(emissions[i, :length].numpy(), raw_params(crf), y), abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cost", [0.0, 1.0, 3.0])
def test_loss_with_missing_tags_matches_brute_force(seed, cost):
    rng = numpy.random.default_rng(400 + seed)
    gen = torch.Generator().manual_seed(400 + seed)
    for n_labels in (2, 3, 4):
        lengths = random_lengths(rng, 5, max_len=5 if n_labels < 4 else 4)
        crf = make_crf(n_labels, gen)
        emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
        gold = random_gold(rng, lengths, mask.shape[1], n_labels, p_missing=0.4)
        gold[0, 0] = MISSING  # at least one missing tag in the batch
        loss = padded_loss(crf, emissions, gold, mask, cost)
        params = raw_params(crf)
        for i, length in enumerate(lengths):
            y = tuple(int(t) for t in gold[i, :length])
            expected = brute_loss(emissions[i, :length].numpy(), params, y, cost)
            assert loss[i].item() == pytest.approx(expected, abs=1e-9, rel=1e-9), (y, cost)
        assert (loss >= -1e-12).all()


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("p_missing", [0.0, 0.4])
def test_loss_with_constraints_matches_brute_force(seed, p_missing):
    rng = numpy.random.default_rng(450 + seed)
    gen = torch.Generator().manual_seed(450 + seed)
    n_labels = 3
    lengths = random_lengths(rng, 4, max_len=5)
    constraints = random_constraints(n_labels, lengths, rng)
    crf = make_crf(n_labels, gen, constraints)
    emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
    gold = random_gold(rng, lengths, mask.shape[1], n_labels, p_missing=p_missing, constraints=constraints)
    loss = padded_loss(crf, emissions, gold, mask, 1.5)
    for i, length in enumerate(lengths):
        y = tuple(int(t) for t in gold[i, :length])
        expected = brute_loss(emissions[i, :length].numpy(), raw_params(crf), y, 1.5, constraints)
        assert loss[i].item() == pytest.approx(expected, abs=1e-7, rel=1e-9)


def test_loss_is_at_least_the_margin_of_any_wrong_sequence():
    # softmax-margin upper-bounds the cost-augmented hinge: loss >= score(y) + c*ham(y) - score(gold)
    rng = numpy.random.default_rng(9)
    gen = torch.Generator().manual_seed(9)
    crf = make_crf(3, gen)
    emissions, mask = make_batch([4], 3, gen)
    gold = random_gold(rng, [4], 4, 3)
    y_gold = tuple(int(t) for t in gold[0])
    loss = padded_loss(crf, emissions, gold, mask, 2.0)[0].item()
    em, params = emissions[0].numpy(), raw_params(crf)
    for y in all_seqs(3, 4):
        assert loss >= seq_score(em, params, y) + 2.0 * hamming(y, y_gold) - seq_score(em, params, y_gold) - 1e-9


@pytest.mark.parametrize("cost", [0.0, 1.0])
def test_all_missing_sentence_has_zero_loss_and_gradient(cost):
    gen = torch.Generator().manual_seed(11)
    rng = numpy.random.default_rng(11)
    crf = make_crf(3, gen)
    lengths = [3, 4, 2]
    emissions, mask = make_batch(lengths, 3, gen)
    emissions.requires_grad_(True)
    gold = random_gold(rng, lengths, mask.shape[1], 3)
    gold[1] = MISSING
    loss = padded_loss(crf, emissions, gold, mask, cost)
    assert loss[1].item() == pytest.approx(0.0, abs=1e-12)
    loss[1].backward()
    assert emissions.grad.abs().max().item() < 1e-12
    for param in (crf.transitions, crf.start, crf.end):
        assert param.grad is None or param.grad.abs().max().item() < 1e-12
    # ... and the other sentences still get a loss
    assert loss[0].item() > 0 and loss[2].item() > 0


def test_all_missing_batch_gives_zero_loss():
    gen = torch.Generator().manual_seed(12)
    crf = make_crf(3, gen)
    emissions, mask = make_batch([3, 1], 3, gen)
    gold = torch.full(mask.shape, MISSING, dtype=torch.int64)
    loss = padded_loss(crf, emissions, gold, mask, 1.0)
    torch.testing.assert_close(loss, torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# 4. gradients against central finite differences


def _finite_difference_check(crf, emissions, gold, mask, cost, weights, eps=1e-6):
    emissions = emissions.clone().requires_grad_(True)
    crf.zero_grad(set_to_none=True)
    (padded_loss(crf, emissions, gold, mask, cost) * weights).sum().backward()
    tensors = [
        ("emissions", emissions, emissions.grad),
        ("transitions", crf.transitions, crf.transitions.grad),
        ("start", crf.start, crf.start.grad),
        ("end", crf.end, crf.end.grad),
    ]

    def total() -> float:
        with torch.no_grad():
            return float((padded_loss(crf, emissions, gold, mask, cost) * weights).sum())

    for name, tensor, grad in tensors:
        assert grad is not None, name
        numeric = torch.zeros_like(tensor)
        flat = tensor.data.view(-1)
        for k in range(flat.numel()):
            old = flat[k].item()
            flat[k] = old + eps
            plus = total()
            flat[k] = old - eps
            minus = total()
            flat[k] = old
            numeric.view(-1)[k] = (plus - minus) / (2 * eps)
        torch.testing.assert_close(grad, numeric, rtol=1e-5, atol=1e-6, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize(
    "seed,cost,p_missing,constrained",
    [(0, 0.0, 0.0, False), (1, 1.5, 0.0, False), (2, 0.0, 0.4, False), (3, 2.0, 0.4, False), (4, 1.0, 0.3, True)],
)
def test_loss_gradient_matches_finite_differences(seed, cost, p_missing, constrained):
    rng = numpy.random.default_rng(500 + seed)
    gen = torch.Generator().manual_seed(500 + seed)
    n_labels = 3
    lengths = [3, 1, 4]
    constraints = random_constraints(n_labels, lengths, rng) if constrained else None
    crf = make_crf(n_labels, gen, constraints)
    emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1, pad_value=0.5)
    gold = random_gold(rng, lengths, mask.shape[1], n_labels, p_missing=p_missing, constraints=constraints)
    weights = torch.rand(len(lengths), generator=gen, dtype=torch.float64) + 0.5
    _finite_difference_check(crf, emissions, gold, mask, cost, weights)


def test_loss_gradient_gradcheck():
    gen = torch.Generator().manual_seed(600)
    rng = numpy.random.default_rng(600)
    n_labels = 3
    lengths = [2, 4]
    crf = make_crf(n_labels, gen)
    emissions, mask = make_batch(lengths, n_labels, gen, pad_value=0.0)
    gold = random_gold(rng, lengths, mask.shape[1], n_labels, p_missing=0.3)
    gold[1, 0] = 1  # keep at least one observed tag in the second sentence

    class Loss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.crf = crf

        def forward(self, em):
            return padded_loss(self.crf, em, gold, mask, 1.0)

    wrapper = Loss()

    def fn(em, trans, start, end):
        params = {"crf.transitions": trans, "crf.start": start, "crf.end": end}
        return torch.func.functional_call(wrapper, params, (em,))

    inputs = tuple(
        t.detach().clone().requires_grad_(True) for t in (emissions, crf.transitions, crf.start, crf.end)
    )
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_padded_emissions_get_zero_gradient():
    gen = torch.Generator().manual_seed(700)
    rng = numpy.random.default_rng(700)
    crf = make_crf(3, gen)
    lengths = [2, 5]
    emissions, mask = make_batch(lengths, 3, gen, extra_pad=1)
    emissions.requires_grad_(True)
    gold = random_gold(rng, lengths, mask.shape[1], 3, p_missing=0.3)
    padded_loss(crf, emissions, gold, mask, 1.0).sum().backward()
    assert emissions.grad[~mask].abs().max().item() == 0.0
    assert emissions.grad[mask].abs().max().item() > 0.0


# ---------------------------------------------------------------------------
# 5. constrained decoding under the tag schemes


def scheme_labels(scheme: str) -> List[str]:
    prefixes = {"IOB1": "BI", "IOB2": "BI", "BIOES": "BIES", "BILUO": "BILU"}[scheme]
    return ["O"] + [f"{p}-{kind}" for kind in ("PER", "LOC") for p in prefixes]


def round_trips(tags: List[str], scheme: str) -> bool:
    """A scheme-independent validity check: reading the chunks and writing them back
    in the same scheme gives the same tags only for well-formed sequences."""
    if scheme in ("BIOES", "BILUO"):
        return chunks_to_tags(chunks_from_biluo(tags), len(tags), scheme) == tags
    return chunks_to_tags(chunks_from_tags(tags), len(tags), scheme) == tags


def path_is_allowed(path: Sequence[int], constraints: Constraints) -> bool:
    trans, start, end = constraints
    return bool(start[path[0]] and end[path[-1]] and all(trans[a, b] for a, b in zip(path[:-1], path[1:])))


@pytest.mark.parametrize("scheme", ["BILUO", "BIOES", "IOB2", "IOB1"])
def test_constrained_decoding_gives_valid_sequences(scheme):
    labels = scheme_labels(scheme)
    n_labels = len(labels)
    constraints = allowed_transitions(labels, scheme)
    trans, start, end = constraints
    rng = numpy.random.default_rng(800)
    gen = torch.Generator().manual_seed(800)
    n_sents = 400
    lengths = [int(x) for x in rng.integers(1, 11, size=n_sents)]
    emissions, mask = make_batch(lengths, n_labels, gen, pad_value=0.0)
    emissions = emissions * 3.0
    # Bias a third of the sentences towards labels that cannot open / close a sentence
    # or cannot follow most labels, and another third towards a random label per token.
    bad_start = torch.as_tensor(~start, dtype=torch.float64)
    bad_end = torch.as_tensor(~end, dtype=torch.float64)
    rarely_follows = torch.as_tensor((~trans).sum(0) > n_labels // 2, dtype=torch.float64)
    third = n_sents // 3
    emissions[:third] += 6.0 * (bad_start + bad_end + rarely_follows)
    random_label = torch.randint(0, n_labels, (n_sents - 2 * third, mask.shape[1]), generator=gen)
    emissions[2 * third :] += 8.0 * torch.nn.functional.one_hot(random_label, n_labels).double()
    emissions = emissions.masked_fill(~mask.unsqueeze(2), 0.0)

    crf = make_crf(n_labels, gen, constraints)
    with torch.no_grad():
        crf.transitions.mul_(3.0)
    paths = padded_decode(crf, emissions, mask)
    for i, length in enumerate(lengths):
        path = [int(t) for t in paths[i, :length]]
        tags = [labels[t] for t in path]
        assert path_is_allowed(path, constraints), (scheme, tags)
        assert round_trips(tags, scheme), (scheme, tags)

    # The constraints are what makes the paths valid: without them, the same scores
    # produce invalid sequences (so the check above is not vacuous).
    free = LinearChainCRF(n_labels).double()
    free.load_state_dict(crf.state_dict())
    free.set_constraints(
        numpy.ones((n_labels, n_labels), dtype=bool), numpy.ones(n_labels, dtype=bool), numpy.ones(n_labels, dtype=bool)
    )
    free_paths = padded_decode(free, emissions, mask)
    n_invalid = sum(
        not round_trips([labels[int(t)] for t in free_paths[i, :length]], scheme) for i, length in enumerate(lengths)
    )
    assert n_invalid > n_sents // 10


@pytest.mark.parametrize("scheme", ["BILUO", "BIOES", "IOB2", "IOB1"])
def test_constrained_decoding_finds_best_valid_sequence(scheme):
    labels = scheme_labels(scheme)
    n_labels = len(labels)
    constraints = allowed_transitions(labels, scheme)
    gen = torch.Generator().manual_seed(900)
    lengths = [1, 2, 3, 3, 2]
    crf = make_crf(n_labels, gen, constraints)
    emissions, mask = make_batch(lengths, n_labels, gen, pad_value=0.0)
    emissions = emissions * 4.0
    paths = padded_decode(crf, emissions, mask)
    params = raw_params(crf)
    for i, length in enumerate(lengths):
        em = emissions[i, :length].numpy()
        valid = [y for y in all_seqs(n_labels, length) if round_trips([labels[t] for t in y], scheme)]
        best = max(valid, key=lambda y: seq_score(em, params, y))
        assert tuple(int(t) for t in paths[i, :length]) == best



# ---------------------------------------------------------------------------
# 6. constraints are absolute: no score scale makes a forbidden sequence win


BILUO_PER = ["O", "B-PER", "I-PER", "L-PER", "U-PER"]


@pytest.mark.parametrize("scale", [2e4, 1e7, 1e30])
def test_issue_example_one_token_decode_is_valid(scale):
    # Issue 8: a 20,000 emission on L-PER (which can neither open nor be alone) beat
    # the finite penalty for forbidden starts and returned `L-PER`.
    crf = LinearChainCRF(len(BILUO_PER))
    crf.set_constraints(*allowed_transitions(BILUO_PER, "BILUO"))
    lengths = torch.tensor([1])
    tie = crf(torch.tensor([[0.0, 0.0, 0.0, scale, 0.0]]), lengths).decode()[0]
    # O and U-PER are the allowed one-token sequences; they score 0 each here.
    assert BILUO_PER[int(tie[0])] in ("O", "U-PER")
    best = crf(torch.tensor([[0.0, 0.0, 0.0, scale, 1.0]]), lengths).decode()[0]
    assert [BILUO_PER[int(t)] for t in best] == ["U-PER"]


def scheme_gold(crf: LinearChainCRF, lengths: Sequence[int], n_labels: int, gen: torch.Generator, p_missing: float):
    """Allowed gold sequences (Viterbi of unit-scale random scores), some tags MISSING."""
    emissions, mask = make_batch(lengths, n_labels, gen, pad_value=0.0)
    gold = torch.as_tensor(padded_decode(crf, emissions.to(crf.transitions.dtype), mask))
    dropped = torch.rand(gold.shape, generator=gen, dtype=torch.float64) < p_missing
    return gold.masked_fill(dropped | ~mask, MISSING)


@pytest.mark.parametrize("scheme", ["BILUO", "BIOES", "IOB2", "IOB1"])
@pytest.mark.parametrize("scale", [1.0, 1e4, 2e4, 1e5, 1e7])
def test_constraints_hold_at_any_emission_scale(scheme, scale):
    """float32, as in training: every decode is allowed, loss and gradients finite."""
    labels = scheme_labels(scheme)
    n_labels = len(labels)
    constraints = allowed_transitions(labels, scheme)
    gen = torch.Generator().manual_seed(int(scale) % 1000 + len(scheme))
    crf = LinearChainCRF(n_labels)
    with torch.no_grad():
        for param in (crf.transitions, crf.start, crf.end):
            param.copy_(torch.randn(param.shape, generator=gen))
    crf.set_constraints(*constraints)
    lengths = [1, 1, 2, 3, 5, 8, 13] * 6
    emissions, mask = make_batch(lengths, n_labels, gen, pad_value=0.0)
    emissions = (emissions * scale).float()
    # Push a third of the sentences towards labels that cannot open, close or follow.
    trans, start, end = constraints
    bad = torch.as_tensor(~start | ~end | ((~trans).sum(0) > n_labels // 2), dtype=torch.float32)
    emissions[::3] += 2.0 * scale * bad
    emissions = emissions.masked_fill(~mask.unsqueeze(2), 0.0)
    paths = padded_decode(crf, emissions, mask)
    for i, length in enumerate(lengths):
        path = [int(t) for t in paths[i, :length]]
        assert path_is_allowed(path, constraints), (scheme, scale, [labels[t] for t in path])
        assert round_trips([labels[t] for t in path], scheme)
    for p_missing, cost in ((0.0, 0.0), (0.0, 1.0), (0.4, 0.0), (0.4, 2.0), (1.0, 1.0)):
        gold = scheme_gold(crf, lengths, n_labels, gen, p_missing)
        em = emissions.clone().requires_grad_(True)
        crf.zero_grad(set_to_none=True)
        loss = padded_loss(crf, em, gold, mask, cost)
        assert torch.isfinite(loss).all() and (loss >= -1e-3 * scale).all(), (p_missing, cost)
        loss.sum().backward()
        for name, grad in (("emissions", em.grad), ("transitions", crf.transitions.grad),
                           ("start", crf.start.grad), ("end", crf.end.grad)):
            assert torch.isfinite(grad).all(), (name, p_missing, cost)
        # Gradients are probabilities: forbidden entries get none.
        assert (crf.transitions.grad[~torch.as_tensor(trans)] == 0).all()


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("scale", [1e5, 1e7])
def test_large_scale_matches_brute_force_over_allowed_sequences(seed, scale):
    """With emission gaps far beyond any finite penalty, log Z, the loss (with missing
    tags) and the decode still range over allowed sequences only."""
    rng = numpy.random.default_rng(1000 + seed)
    gen = torch.Generator().manual_seed(1000 + seed)
    n_labels = 3
    lengths = random_lengths(rng, 4, max_len=5)
    constraints = random_constraints(n_labels, lengths, rng)
    crf = make_crf(n_labels, gen, constraints)
    emissions, mask = make_batch(lengths, n_labels, gen, extra_pad=1)
    emissions = emissions * scale
    params = raw_params(crf)
    gold = random_gold(rng, lengths, mask.shape[1], n_labels, p_missing=0.4, constraints=constraints)
    log_z = padded_log_partition(crf, emissions, mask)
    loss = padded_loss(crf, emissions, gold, mask, 1.5)
    paths = padded_decode(crf, emissions, mask)
    for i, length in enumerate(lengths):
        em = emissions[i, :length].numpy()
        y = tuple(int(t) for t in gold[i, :length])
        assert log_z[i].item() == pytest.approx(brute_log_z(em, params, constraints), rel=1e-12)
        assert loss[i].item() == pytest.approx(brute_loss(em, params, y, 1.5, constraints), abs=1e-9 * scale)
        assert tuple(int(t) for t in paths[i, :length]) == brute_argmax(em, params, constraints)


def test_path_score_of_a_forbidden_sequence_is_the_floor():
    gen = torch.Generator().manual_seed(13)
    crf = make_crf(len(BILUO_PER), gen, allowed_transitions(BILUO_PER, "BILUO"))
    emissions = torch.randn(1, 2, len(BILUO_PER), dtype=torch.float64, generator=gen) * 1e6
    mask = torch.ones(1, 2, dtype=torch.bool)
    allowed, forbidden = torch.tensor([[1, 3]]), torch.tensor([[1, 4]])  # B L, B U
    assert padded_path_score(crf, emissions, allowed, mask).item() == pytest.approx(
        seq_score(emissions[0].numpy(), raw_params(crf), (1, 3))
    )
    assert padded_path_score(crf, emissions, forbidden, mask).item() == floor(torch.float64)


def test_gold_that_no_allowed_sequence_agrees_with_is_an_error():
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    crf = LinearChainCRF(len(labels))
    crf.set_constraints(*allowed_transitions(labels, "BIOES"))
    ids = {label: i for i, label in enumerate(labels)}
    emissions = torch.zeros(2, 3, len(labels))
    mask = torch.ones(2, 3, dtype=torch.bool)
    # Sentence 1: B-PER ? E-LOC (no adjacent pair is forbidden, yet no tag fits `?`).
    gold = torch.tensor([[ids["O"], MISSING, ids["S-PER"]], [ids["B-PER"], MISSING, ids["E-LOC"]]])
    with pytest.raises(ValueError, match=r"E016.*\[1\]"):
        padded_loss(crf, emissions, gold, mask, 1.0)
    # ... and a fully observed forbidden sequence.
    gold = torch.tensor([[ids["O"], ids["O"], ids["S-PER"]], [ids["O"], ids["I-PER"], ids["E-PER"]]])
    with pytest.raises(ValueError, match=r"E016.*\[1\]"):
        padded_loss(crf, emissions, gold, mask, 0.0)


def test_no_allowed_sequence_at_all_stays_finite():
    # A label set that cannot open a sentence (only continuations): log Z is the
    # floor, never NaN, and so are its gradients; decoding still answers.
    labels = ["I-PER", "L-PER"]
    crf = make_crf(2, torch.Generator().manual_seed(14), allowed_transitions(labels, "BILUO"))
    emissions = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    log_z = padded_log_partition(crf, emissions, mask)
    assert (log_z == floor(torch.float64)).all()
    log_z.sum().backward()
    for grad in (emissions.grad, crf.transitions.grad, crf.start.grad, crf.end.grad):
        assert torch.isfinite(grad).all()
    assert padded_decode(crf, emissions.detach(), mask).shape == (2, 3)


@pytest.mark.parametrize("emissions,lengths,problem", [
    (torch.zeros(5, 2), torch.tensor([2, 3]), r"shape \(5, 2\).*\(n_tokens, 3\)"),
    (torch.zeros(5, 3, dtype=torch.int64), torch.tensor([2, 3]), "floats"),
    (torch.zeros(5, 3), torch.tensor([2.0, 3.0]), "integers"),
    (torch.zeros(5, 3), torch.tensor([5, 0]), "length 0"),
    (torch.zeros(5, 3), torch.tensor([2, 2]), "summing to 4 for 5"),
])
def test_inputs_that_do_not_fit_are_refused(emissions, lengths, problem):
    with pytest.raises(ValueError, match=f"E019.*{problem}"):
        LinearChainCRF(3)(emissions, lengths)


@pytest.mark.parametrize("gold,problem", [
    (torch.tensor([0, 1]), r"shape \(2,\)"),
    (torch.tensor([0, 1, 3]), "from 0 to 3, expected -1 to 2"),
    (torch.tensor([0, -2, 1]), "from -2"),
])
def test_gold_that_does_not_fit_is_refused(gold, problem):
    scores = LinearChainCRF(3)(torch.zeros(3, 3), torch.tensor([3]))
    with pytest.raises(ValueError, match=f"E019.*{problem}"):
        scores.loss(gold, 1.0)


# ---------------------------------------------------------------------------
# 6. the three Viterbi recursions (compiled with numba on CPU; without it numpy for
# small CPU batches, torch otherwise)

RECURSIONS = ("fused", "numpy", "torch")


def decode_by(crf: LinearChainCRF, flat: torch.Tensor, lengths: List[int], recursion: str, monkeypatch) -> List[list]:
    if recursion == "fused":
        import_extra("numba")
    with monkeypatch.context() as patch:
        if recursion != "fused":
            patch.setattr(fused_viterbi, "AVAILABLE", False)
            patch.setattr(pytorch_crf, "HOST_VITERBI_MAX_CELLS", 2**62 if recursion == "numpy" else 0)
        return [path.tolist() for path in crf(flat, torch.tensor(lengths, dtype=torch.int64)).decode()]


def random_scores(labels, lengths, scheme, dtype, rng, gen, scale):
    """A CRF under the scheme's constraints (None: none; "random": random ones under
    which every length has an allowed sequence), random emissions of `scale`, and the
    constraints."""
    constraints = None
    if scheme == "random":
        constraints = random_constraints(len(labels), lengths, rng)
    elif scheme is not None:
        constraints = allowed_transitions(labels, scheme)
    crf = make_crf(len(labels), gen, constraints).to(dtype)
    flat = scale * torch.randn(sum(lengths), len(labels), generator=gen, dtype=torch.float64).to(dtype)
    return crf, flat, constraints


def refuse(monkeypatch, module, *names: str) -> None:
    """Make the module's named functions fail if called: the recursions that must not run."""

    def ran(*args):
        raise AssertionError(f"one of {names} ran")

    for name in names:
        monkeypatch.setattr(module, name, ran)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scheme", [None, "BILUO", "IOB2", "random"])
def test_the_viterbi_recursions_give_the_same_paths(dtype, scheme, monkeypatch):
    """The compiled loop and the numpy recursion give the torch recursion's paths,
    constraints included, on random emissions of both dtypes, ties included
    (emissions rounded to a few values). Without numba (outside CI), numpy's and
    torch's alone."""
    recursions = RECURSIONS if fused_viterbi.AVAILABLE or os.environ.get("CI") == "true" else RECURSIONS[1:]
    labels = scheme_labels(scheme if scheme in ("BILUO", "IOB2") else "BILUO")
    rng = numpy.random.default_rng(900)
    gen = torch.Generator().manual_seed(900)
    for n_sentences, ties in ((1, False), (2, True), (7, False), (40, True)):
        lengths = [int(n) for n in rng.integers(1, 15, size=n_sentences)]
        lengths[0] = 1  # a one-token sentence in every batch
        crf, flat, constraints = random_scores(labels, lengths, scheme, dtype, rng, gen, scale=3)
        if ties:
            with torch.no_grad():
                for scores in (flat, crf.transitions, crf.start, crf.end):
                    scores.copy_(scores.round())
        paths = {recursion: decode_by(crf, flat, lengths, recursion, monkeypatch) for recursion in recursions}
        assert all(found == paths["torch"] for found in paths.values())
        assert [len(path) for path in paths["torch"]] == lengths
        if constraints is not None and scheme != "random":
            assert all(path_is_allowed(path, constraints) for path in paths["torch"])


def test_cpu_batches_decode_in_the_compiled_loop(monkeypatch):
    """With numba on CPU `decode` runs the compiled loop, at batch 1 and at batch 300,
    and neither numpy's nor torch's recursion."""
    import_extra("numba")
    refuse(monkeypatch, pytorch_crf, "_viterbi_torch", "_viterbi_host")
    gen = torch.Generator().manual_seed(902)
    crf = make_crf(9, gen, allowed_transitions(scheme_labels("BILUO"), "BILUO")).float()
    for lengths in ([12], [5] * 300):
        paths = crf(torch.randn(sum(lengths), 9, generator=gen), torch.tensor(lengths)).decode()
        assert [len(path) for path in paths] == lengths


@pytest.mark.parametrize("recursion", RECURSIONS)
def test_no_sentences_decode_to_no_paths(recursion, monkeypatch):
    crf = make_crf(3, torch.Generator().manual_seed(904))
    assert decode_by(crf, torch.zeros(0, 3, dtype=torch.float64), [], recursion, monkeypatch) == []


@pytest.mark.parametrize("mixed", ["float64 emissions", "float16"])
def test_scores_the_compiled_loop_does_not_take_decode_in_torch_or_numpy(mixed, monkeypatch):
    """Scores of mixed dtypes, or of a dtype the loop is not compiled for, decode by the
    other recursions, with their type promotion, as before the loop existed."""
    refuse(monkeypatch, fused_viterbi, "fused_viterbi")
    gen = torch.Generator().manual_seed(903)
    crf = make_crf(5, gen).float()
    flat = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    if mixed == "float16":
        crf, flat = crf.half(), flat.half()
    paths = crf(flat, torch.tensor([4, 2])).decode()
    assert [len(path) for path in paths] == [4, 2]


def test_small_cpu_batches_decode_on_the_host_without_numba(monkeypatch):
    """Without numba, at batch 1 on CPU `decode` runs the numpy recursion, not torch's."""
    monkeypatch.setattr(fused_viterbi, "AVAILABLE", False)
    refuse(monkeypatch, pytorch_crf, "_viterbi_torch")
    gen = torch.Generator().manual_seed(901)
    crf = make_crf(9, gen, allowed_transitions(scheme_labels("BILUO"), "BILUO")).float()
    paths = crf(torch.randn(12, 9, generator=gen), torch.tensor([12])).decode()
    assert len(paths[0]) == 12


@pytest.mark.parametrize("lengths,shape", [
    ([3, 3], (5, 4)),  # lengths summing past the tokens
    ([3, 0, 2], (5, 4)),  # an empty sentence
    ([5], (5, 3)),  # emissions narrower than the labels
])
def test_the_compiled_loop_refuses_scores_that_do_not_fit(lengths, shape):
    """The compiled loop checks no index: what does not fit is refused before it runs
    (CRFScores can be built without the CRF's own checks)."""
    import_extra("numba")
    crf = LinearChainCRF(4)
    mask = (torch.ones(4, 4, dtype=torch.bool), torch.ones(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"E019.*sentence lengths"):
        fused_viterbi.fused_viterbi(
            torch.zeros(shape), torch.tensor(lengths), ((crf.transitions, mask[0]), (crf.start, mask[1]), (crf.end, mask[2]))
        )


@pytest.mark.parametrize("change,problem", [
    ({"start": torch.zeros(4, dtype=torch.float64)}, r"dtypes \['torch.float32', 'torch.float64'\]"),
    ({"allowed_end": torch.ones(4, dtype=torch.uint8)}, "masks of dtypes"),
    ({"allowed_transitions": torch.ones(4, dtype=torch.bool)}, r"\[2, 2, 1, 1, 1, 1, 1\] dimensions"),
    ({"lengths": torch.tensor([[5]])}, "lengths of 2"),
    ({"lengths": torch.tensor([5.0])}, "lengths of torch.float32"),
])
def test_the_compiled_loop_refuses_tensors_of_other_kinds(change, problem):
    """Called directly (not through `decode`, which sends other dtypes elsewhere), the
    loop refuses dimensions and dtypes it was not written for, before compiling."""
    import_extra("numba")
    scores = LinearChainCRF(4)(torch.zeros(5, 4), torch.tensor([5]))._replace(**change)
    with pytest.raises(ValueError, match=f"E019.*{problem}"):
        fused_viterbi.fused_viterbi(scores.emissions, scores.lengths, scores.with_masks())


# ---------------------------------------------------------------------------
# 7. the loss's two implementations (compiled with numba on CPU; torch with autograd)


def loss_by(scores, gold: torch.Tensor, cost: float, fused: bool, monkeypatch):
    if fused:
        import_extra("numba")
    with monkeypatch.context() as patch:
        if not fused:
            patch.setattr(fused_crf_loss, "AVAILABLE", False)
        return scores.loss_and_gradients(gold, cost)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scheme", [None, "BILUO", "random"])
@pytest.mark.parametrize("p_missing,cost", [(0.0, 0.0), (0.0, 1.0), (0.4, 1.0), (1.0, 0.5)])
def test_the_compiled_loss_and_gradients_equal_autograds(dtype, scheme, p_missing, cost, monkeypatch):
    """Losses and the gradients of the emissions, transitions, start and end scores,
    with constraints, unobserved tags and the Hamming cost, on random scores of both
    dtypes (the compiled loop sums in float64); gold drawn among allowed sequences."""
    labels = scheme_labels("BILUO")
    rng = numpy.random.default_rng(910)
    gen = torch.Generator().manual_seed(910)
    lengths = [1] + [int(n) for n in rng.integers(1, 12, size=6)]
    crf, flat, _ = random_scores(labels, lengths, scheme, dtype, rng, gen, scale=2)
    scores = crf(flat, torch.tensor(lengths))
    allowed_paths = crf(torch.randn(flat.shape, generator=gen, dtype=torch.float64).to(dtype), torch.tensor(lengths))
    gold = torch.from_numpy(numpy.concatenate(allowed_paths.decode()))
    gold[torch.from_numpy(rng.random(len(gold)) < p_missing)] = MISSING
    fused_loss, fused_grads = loss_by(scores, gold, cost, True, monkeypatch)
    torch_loss, torch_grads = loss_by(scores, gold, cost, False, monkeypatch)
    tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-9}
    torch.testing.assert_close(fused_loss, torch_loss, **tolerance)
    for name, fused, autograd in zip(("emissions", "transitions", "start", "end"), fused_grads, torch_grads):
        assert fused.dtype == dtype
        torch.testing.assert_close(fused, autograd, **tolerance, msg=lambda m: f"{name}: {m}")
    if p_missing == 1.0:  # nothing observed: no loss, no gradient (up to rounding)
        assert fused_loss.abs().max().item() < 1e-12 and all(g.abs().max().item() < 1e-12 for g in fused_grads)


@pytest.mark.parametrize("fused", [True, False])
def test_both_losses_refuse_gold_no_allowed_sequence_agrees_with(fused, monkeypatch):
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    crf = LinearChainCRF(len(labels))
    crf.set_constraints(*allowed_transitions(labels, "BIOES"))
    ids = {label: i for i, label in enumerate(labels)}
    scores = crf(torch.zeros(6, len(labels)), torch.tensor([3, 3]))
    for sentence in ([ids["B-PER"], MISSING, ids["E-LOC"]], [ids["O"], ids["I-PER"], ids["E-PER"]]):
        gold = torch.tensor([ids["O"], MISSING, ids["S-PER"]] + sentence)
        with pytest.raises(ValueError, match=r"E016.*\[1\]"):
            loss_by(scores, gold, 1.0, fused, monkeypatch)


@pytest.mark.parametrize("gold,problem", [
    (torch.tensor([0, 1, 4]), "label ids from 0 to 4"),
    (torch.tensor([0, -2, 1]), "from -2"),
    (torch.tensor([0, 1]), "gold label ids"),
])
def test_the_compiled_loss_refuses_gold_that_does_not_fit(gold, problem):
    """Called directly (not through `loss_and_gradients`, which checks gold first), the
    loop refuses label ids it would index out of range with, before it runs."""
    import_extra("numba")
    scores = LinearChainCRF(4)(torch.zeros(3, 4), torch.tensor([3]))
    with pytest.raises(ValueError, match=f"E019.*{problem}"):
        fused_crf_loss.fused_loss_and_gradients(scores.emissions, scores.lengths, scores.with_masks(), gold, 1.0)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("where", ["emissions", "transitions"])
def test_a_nan_score_gives_a_nan_loss_not_an_error(fused, where, monkeypatch):
    """NaN scores (a diverged model) give a NaN loss, which the tagger reports as
    such (E020), not gold that no sequence agrees with (E016)."""
    gen = torch.Generator().manual_seed(911)
    crf = make_crf(4, gen)
    flat = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    scores = crf(flat, torch.tensor([2, 3]))
    poisoned = getattr(scores, where).detach().clone()
    poisoned[1, 2] = float("nan")
    losses, grads = loss_by(scores._replace(**{where: poisoned}), torch.tensor([0, 1, 2, 3, 0]), 1.0, fused, monkeypatch)
    assert torch.isnan(losses).any() and torch.isnan(grads[1]).all()


@pytest.mark.parametrize("fused", [True, False])
def test_both_losses_take_one_token_sentences_and_empty_batches(fused, monkeypatch):
    """Sentences of one token have no transition (torch's autograd then has no gradient
    for them: zeros, as the compiled loop gives); no sentences, no losses."""
    crf = make_crf(3, torch.Generator().manual_seed(912))
    scores = crf(torch.randn(2, 3, dtype=torch.float64), torch.tensor([1, 1]))
    losses, (d_emissions, d_transitions, d_start, d_end) = loss_by(scores, torch.tensor([0, MISSING]), 1.0, fused, monkeypatch)
    assert losses.shape == (2,) and losses[1].item() == pytest.approx(0.0, abs=1e-12)
    assert d_transitions.abs().max().item() == 0.0 and d_emissions[0].abs().sum().item() > 0
    empty = crf(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.int64))
    losses, grads = loss_by(empty, torch.zeros(0, dtype=torch.int64), 1.0, fused, monkeypatch)
    assert losses.shape == (0,) and [g.shape for g in grads] == [(0, 3), (3, 3), (3,), (3,)]
