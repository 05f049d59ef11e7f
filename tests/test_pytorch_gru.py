"""The hand-written GRU recurrence the encoders train with on CPU, and the choice
between it and `nn.GRU` (cuDNN on a GPU)."""

import numpy
import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

from spacy_xfer.models.packing import packed_index
from spacy_xfer.models.pytorch_gru import packed_gru_train


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
