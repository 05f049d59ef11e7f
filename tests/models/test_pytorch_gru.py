"""The hand-written GRU recurrence the encoders train with on CPU, and the choice
between it and `nn.GRU` (cuDNN on a GPU)."""

from unittest import mock

import numpy
import pytest
import torch
from torch.nn.utils import parametrize, prune
from torch.nn.utils.rnn import PackedSequence
from torch.utils._python_dispatch import TorchDispatchMode

from spacy_xfer.models import pytorch_gru
from spacy_xfer.models.packing import packed_index
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.models.pytorch_gru import HAND_WRITTEN, NN_GRU, forced_gru_path, gru_path, packed_bigru, packed_gru_train
from spacy_xfer.models.pytorch_word_encoder import WordGRUEncoder

from ..util import import_extra


@pytest.mark.parametrize("seed,depth", [(0, 1), (1, 2), (2, 3)])
def test_packed_gru_train_matches_nn_gru(seed, depth):
    torch.manual_seed(seed)
    rng = numpy.random.default_rng(seed)
    gru = torch.nn.GRU(5, 7, num_layers=depth, bidirectional=True, batch_first=True).double()
    lengths = torch.tensor(rng.integers(1, 12, size=9))
    data = torch.randn(int(lengths.sum()), 5, dtype=torch.float64, requires_grad=True)
    flat_index, batch_sizes, _ = packed_index(lengths)
    weights = torch.randn(len(data), 14, dtype=torch.float64)
    inputs = [data, *gru.parameters()]
    expected = gru(PackedSequence(data.index_select(0, flat_index), batch_sizes))[0].data
    d_expected = torch.autograd.grad((expected * weights).sum(), inputs)
    got = packed_gru_train(gru, data.index_select(0, flat_index), batch_sizes)
    d_got = torch.autograd.grad((got * weights).sum(), inputs)
    assert torch.allclose(got, expected, atol=1e-10)
    for d_a, d_b in zip(d_got, d_expected):
        assert torch.allclose(d_a, d_b, atol=1e-10)


def test_packed_gru_train_honours_dropout_between_layers():
    torch.manual_seed(0)
    gru = torch.nn.GRU(4, 6, num_layers=2, bidirectional=True, dropout=0.5).double()
    lengths = torch.tensor([3, 5, 2])
    data = torch.randn(int(lengths.sum()), 4, dtype=torch.float64)
    batch_sizes = packed_index(lengths).batch_sizes
    runs = [packed_gru_train(gru, data, batch_sizes) for _ in range(2)]
    assert not torch.allclose(runs[0], runs[1])
    gru.eval()
    expected = gru(PackedSequence(data, batch_sizes))[0].data
    assert torch.allclose(packed_gru_train(gru, data, batch_sizes), expected)


def test_gru_path_uses_cudnn_on_cuda_and_the_hand_written_recurrence_on_cpu():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert gru_path(cpu, torch.float32) == gru_path(cpu, torch.float64) == HAND_WRITTEN
    assert gru_path(cuda, torch.float32) == gru_path(cuda, torch.float16) == NN_GRU
    assert gru_path(cpu, torch.bfloat16) == NN_GRU
    with forced_gru_path(NN_GRU):
        assert gru_path(cpu, torch.float32) == NN_GRU
        with forced_gru_path(HAND_WRITTEN):
            assert gru_path(cuda, torch.float32) == HAND_WRITTEN
        assert gru_path(cpu, torch.float32) == NN_GRU
    assert gru_path(cpu, torch.float32) == HAND_WRITTEN
    with pytest.raises(ValueError, match="Unknown GRU path 'cudnn'"):
        with forced_gru_path("cudnn"):
            pass


class Doubled(torch.nn.Module):
    def forward(self, weight):
        return 2 * weight


@pytest.mark.parametrize("change", ["parametrize", "prune"])
def test_a_gru_whose_weights_are_computed_trains_through_its_own_forward(change):
    """The hand-written recurrence reads the GRU's parameters without calling it: a
    parametrized weight, or one a forward pre-hook recomputes (pruning), must train
    through `nn.GRU`'s forward, which applies them, also after the weights change."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(4, 5, bidirectional=True).double().train()
    if change == "parametrize":
        parametrize.register_parametrization(gru, "weight_hh_l0", Doubled())
        stored = gru.parametrizations.weight_hh_l0.original
    else:
        prune.l1_unstructured(gru, "weight_hh_l0", amount=0.5)
        stored = gru.weight_hh_l0_orig
    with torch.no_grad():
        stored.add_(0.5)  # as an optimizer step does
    batch_sizes = packed_index(torch.tensor([3, 5, 2])).batch_sizes
    data = torch.randn(10, 4, dtype=torch.float64)
    got = packed_bigru(gru, data, batch_sizes)
    expected = gru(PackedSequence(data, batch_sizes))[0].data
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert torch.autograd.grad(got.sum(), stored)[0].abs().sum() > 0


def run_both_paths(module, make_inputs, seed):
    """Outputs and gradients (inputs first, then parameters) of a training step of
    `module` on the hand-written path and on the nn.GRU path, same seed."""
    results = []
    for path in (HAND_WRITTEN, NN_GRU):
        torch.manual_seed(seed)
        inputs, float_inputs = make_inputs()
        # (not a forward hook on the GRU: a GRU with hooks always trains through its forward)
        recurrence = mock.patch.object(pytorch_gru, "packed_gru_train", wraps=pytorch_gru.packed_gru_train)
        with forced_gru_path(path), recurrence as hand_written:
            output = module.train()(*inputs)
        assert hand_written.called == (path == HAND_WRITTEN)  # the path asked for ran
        weights = torch.linspace(-1, 1, output.numel(), dtype=output.dtype).reshape(output.shape)
        grads = torch.autograd.grad((output * weights).sum(), [*float_inputs, *module.parameters()])
        results.append((output, grads))
    return results


# (dtype, atol): float64 must agree to rounding; float32 sums in another order.
DTYPES = [(torch.float64, 1e-10), (torch.float32, 1e-5)]


@pytest.mark.parametrize("dtype,atol", DTYPES)
@pytest.mark.parametrize("depth,dropout,word_dropout", [(2, 0.0, 0.0), (1, 0.3, 0.2)])
def test_word_encoder_trains_the_same_on_the_nn_gru_path(dtype, atol, depth, dropout, word_dropout):
    # With depth 1 there is no dropout between GRU layers, so the locked dropout and
    # word dropout masks, drawn before the GRU from the same seed, are the same on both.
    torch.manual_seed(0)
    encoder = WordGRUEncoder(30, 5, 4, 6, depth, 0.0).to(dtype)
    lengths = torch.tensor([3, 9, 1, 4, 9, 2])
    n_tokens = int(lengths.sum())
    word_ids = torch.randint(0, 30, (n_tokens,))
    chars = torch.randn(n_tokens, 4, dtype=dtype)

    def make_inputs():
        leaf = chars.clone().requires_grad_()
        return (leaf, word_ids, lengths, dropout, word_dropout), [leaf]

    (out_a, grads_a), (out_b, grads_b) = run_both_paths(encoder, make_inputs, seed=1)
    assert out_a.shape == (n_tokens, 12)
    assert torch.allclose(out_a, out_b, atol=atol, rtol=0)
    for d_a, d_b in zip(grads_a, grads_b):
        assert torch.allclose(d_a, d_b, atol=atol, rtol=0)


@pytest.mark.parametrize("dtype,atol", DTYPES)
def test_char_encoder_trains_the_same_on_the_nn_gru_path(dtype, atol):
    torch.manual_seed(0)
    encoder = CharGRUEncoder(20, 5, 6, 2, 0.0).to(dtype)
    word_lengths = torch.tensor([1, 7, 3, 7, 2])
    chars = torch.randint(1, 20, (int(word_lengths.sum()),))
    inverse = torch.tensor([0, 1, 2, 1, 3, 4, 0])

    def make_inputs():
        return (chars, word_lengths, inverse), []

    (out_a, grads_a), (out_b, grads_b) = run_both_paths(encoder, make_inputs, seed=1)
    assert out_a.shape == (7, 12)
    assert torch.allclose(out_a, out_b, atol=atol, rtol=0)
    for d_a, d_b in zip(grads_a, grads_b):
        assert torch.allclose(d_a, d_b, atol=atol, rtol=0)


class _ComputeOps(TorchDispatchMode):
    """Counts the aten ops that compute (views aside) while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += not func.is_view
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    "dtype,forward_ops,backward_ops",
    [
        (torch.float64, 10, 6),  # the torch-op recurrence
        (torch.float32, 2, 1),  # compiled steps: W_hh h (a copy of the bias at step 0), W_hh^T d
    ],
)
def test_the_recurrence_runs_few_ops_per_time_step(dtype, forward_ops, backward_ops):
    """At the paper's batch size the recurrence's cost is its ops per time step (each
    a few microseconds of dispatch over a 10 x hidden tile): both directions advance
    in the same ops (one recurrence ran per direction before, ~19 forward and ~10
    backward ops per step for the two), and the backward pass runs the elementwise
    part of the gradient over all steps at once (it ran ~20 ops per step and
    direction before that); in float32 (numba installed) each step's elementwise
    work is one compiled loop, which torch does not see, beside one matrix product."""
    if dtype == torch.float32:
        import_extra("numba")
    gru = torch.nn.GRU(5, 7, num_layers=1, bidirectional=True).to(dtype)
    counts = {}
    for length in (10, 20):
        index = packed_index(torch.tensor([length, length - 3]))
        data = torch.randn(int(index.batch_sizes.sum()), 5, dtype=dtype, requires_grad=True)
        with _ComputeOps() as forward:
            output = packed_gru_train(gru, data, index.batch_sizes)
        with _ComputeOps() as backward:  # (not .backward(): a second run would add to .grad)
            torch.autograd.grad(output.sum(), [data, *gru.parameters()])
        counts[length] = (forward.count, backward.count)
    per_step = [(counts[20][i] - counts[10][i]) / 10 for i in range(2)]  # 10 more steps, both directions
    assert per_step[0] <= forward_ops and per_step[1] <= backward_ops
