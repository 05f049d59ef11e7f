"""The GRU training recurrence with compiled steps (numba), the float32 CPU path of
`packed_gru_train`, against `nn.GRU` and the torch-op recurrence."""

from unittest import mock

import numpy
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

from spacy_xfer.models import fused_gru_train, numba_jit
from spacy_xfer.models.packing import packed_index
from spacy_xfer.models.pytorch_gru import packed_gru_train

from ..util import import_extra

import_extra("numba")

# float32 sums and rounds in another order than torch's GRU
ATOL = 1e-5


def gru_and_inputs(seed, depth, lengths, scale=1.0, hidden=7):
    torch.manual_seed(seed)
    gru = torch.nn.GRU(5, hidden, num_layers=depth, bidirectional=True)
    lengths = torch.tensor(lengths)
    flat_index, batch_sizes, _ = packed_index(lengths)
    data = (scale * torch.randn(int(lengths.sum()), 5)).index_select(0, flat_index).requires_grad_()
    return gru, data, batch_sizes


def output_and_grads(run, gru, data, weights):
    output = run()
    return output, torch.autograd.grad((output * weights).sum(), [data, *gru.parameters()])


def compiled_calls():
    return mock.patch.object(
        fused_gru_train.FusedBiGRURecurrence, "apply", wraps=fused_gru_train.FusedBiGRURecurrence.apply
    )


@pytest.mark.parametrize(
    "seed,depth,lengths,scale",
    [
        (0, 1, [1], 1.0),  # one step, one sequence
        (1, 2, [3, 9, 1, 4, 9, 2], 1.0),  # lengths that end at different steps, ties
        (2, 3, [11, 10, 1, 1, 7, 5, 3, 8, 2], 1.0),
        (3, 1, [6, 2, 4], 40.0),  # saturated gates: sigmoid and tanh at 0, 1 and -1
    ],
)
def test_the_compiled_recurrence_trains_as_nn_gru(seed, depth, lengths, scale):
    gru, data, batch_sizes = gru_and_inputs(seed, depth, lengths, scale)
    weights = torch.randn(len(data), 14)
    expected, d_expected = output_and_grads(
        lambda: gru(PackedSequence(data, batch_sizes))[0].data, gru, data, weights
    )
    with compiled_calls() as compiled:
        got, d_got = output_and_grads(lambda: packed_gru_train(gru, data, batch_sizes), gru, data, weights)
    assert compiled.call_count == depth
    torch.testing.assert_close(got, expected, rtol=0, atol=ATOL)
    for d_a, d_b in zip(d_got, d_expected):
        torch.testing.assert_close(d_a, d_b, rtol=0, atol=ATOL * max(1.0, float(d_b.abs().max())))


def test_the_compiled_recurrence_agrees_with_the_torch_op_one(monkeypatch):
    # the torch-op recurrence is what trains without numba (and in float64)
    gru, data, batch_sizes = gru_and_inputs(4, 2, [5, 12, 3, 12, 1, 8], hidden=33)
    weights = torch.randn(len(data), 66)
    with compiled_calls() as compiled:
        got, d_got = output_and_grads(lambda: packed_gru_train(gru, data, batch_sizes), gru, data, weights)
    monkeypatch.setattr(fused_gru_train, "AVAILABLE", False)
    with compiled_calls() as not_compiled:
        expected, d_expected = output_and_grads(
            lambda: packed_gru_train(gru, data, batch_sizes), gru, data, weights
        )
    assert compiled.called and not not_compiled.called
    torch.testing.assert_close(got, expected, rtol=0, atol=ATOL)
    for d_a, d_b in zip(d_got, d_expected):
        torch.testing.assert_close(d_a, d_b, rtol=0, atol=ATOL)


def test_the_compiled_recurrence_is_deterministic_and_takes_any_gradient_layout():
    gru, data, batch_sizes = gru_and_inputs(5, 2, [4, 7, 2])
    runs = []
    for _ in range(2):
        output = packed_gru_train(gru, data, batch_sizes)
        # sum() hands backward a broadcast (stride 0) gradient, a column slice a strided one
        grads = torch.autograd.grad(output.sum() + output[:, ::3].sum(), [data, *gru.parameters()])
        runs.append((output, grads))
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    expected = gru(PackedSequence(data, batch_sizes))[0].data
    d_expected = torch.autograd.grad(expected.sum() + expected[:, ::3].sum(), [data, *gru.parameters()])
    for d_a, d_b in zip(runs[0][1], d_expected):
        torch.testing.assert_close(d_a, d_b, rtol=0, atol=ATOL)


def test_float64_and_cpu_autocast_train_through_the_torch_op_recurrence():
    gru, data, batch_sizes = gru_and_inputs(6, 1, [3, 2])
    with compiled_calls() as compiled:
        packed_gru_train(gru.double(), data.detach().double(), batch_sizes)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output = packed_gru_train(gru.float(), data, batch_sizes)
    assert not compiled.called
    assert output.shape == (len(data), 14)


def test_numpys_error_model_lets_a_division_run_in_vector_lanes():
    # the compiled GRU loops divide only by 1 + e^x: "numpy" drops Python's zero test.
    # Two functions, since numba's disk cache keys on the function, not its options.
    def reciprocal(x, out):  # pragma: no cover - compiled
        for i in range(x.shape[0]):
            out[i] = 1.0 / x[i]

    def reciprocal_raising(x, out):  # pragma: no cover - compiled
        for i in range(x.shape[0]):
            out[i] = 1.0 / x[i]

    x = numpy.array([2.0, 0.0])
    out = numpy.empty(2)
    numba_jit.compiled(reciprocal, error_model="numpy")(x, out)
    assert out[0] == 0.5 and out[1] == numpy.inf
    with pytest.raises(ZeroDivisionError):
        numba_jit.compiled(reciprocal_raising)(x, out)
