"""The packed (sorted, time-major) layouts of the word encoder and the CRF."""

import numpy
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils._python_dispatch import TorchDispatchMode

from spacy_xfer.models.packing import end_rows, inverse_permutation, mirrored_rows, packed_index
from spacy_xfer.models.pytorch_word_encoder import WordGRUEncoder


def flat_to_padded(flat: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(n_tokens, width) sentences one after another -> (n_sentences, max_len, width)."""
    return torch.nn.utils.rnn.pad_sequence(list(flat.split(lengths.tolist())), batch_first=True)


@pytest.mark.parametrize("lengths", [[1], [6], [3, 1, 4, 1, 5], [2, 2, 2], [1, 7, 3, 7]])
def test_packed_index_matches_pack_padded_sequence(lengths):
    lengths = torch.tensor(lengths)
    flat = torch.arange(int(lengths.sum())).unsqueeze(1)
    expected = pack_padded_sequence(
        flat_to_padded(flat, lengths), lengths, batch_first=True, enforce_sorted=False
    )
    flat_index, batch_sizes, order = packed_index(lengths)
    assert batch_sizes.tolist() == expected.batch_sizes.tolist()
    assert flat_index.tolist() == expected.data.squeeze(1).tolist()
    assert order.tolist() == expected.sorted_indices.tolist()
    inverse = inverse_permutation(flat_index)
    assert torch.equal(flat.index_select(0, flat_index).index_select(0, inverse), flat)


@pytest.mark.parametrize("lengths", [[1], [6], [3, 1, 4, 1, 5], [2, 2, 2], [1, 7, 3, 7]])
def test_mirrored_rows_reverse_every_sequence_in_the_packed_layout(lengths):
    flat_index, batch_sizes, _ = packed_index(torch.tensor(lengths))
    packed = torch.arange(sum(lengths)).index_select(0, flat_index)  # packed rows hold flat positions
    mirrored = packed.index_select(0, mirrored_rows(batch_sizes)).index_select(0, inverse_permutation(flat_index))
    starts = numpy.cumsum([0] + lengths[:-1])
    assert mirrored.tolist() == [start + i for start, n in zip(starts, lengths) for i in reversed(range(n))]


@pytest.mark.parametrize("lengths", [[1], [6], [3, 1, 4, 1, 5], [2, 2, 2], [1, 7, 3, 7]])
def test_end_rows_hold_each_sequences_first_and_last_item_in_its_own_order(lengths):
    index = packed_index(torch.tensor(lengths))
    packed = torch.arange(sum(lengths)).index_select(0, index.flat_index)  # packed rows hold flat positions
    first, last = end_rows(torch.tensor(lengths), index)
    starts = numpy.cumsum([0] + lengths[:-1])
    assert packed.index_select(0, first).tolist() == starts.tolist()
    assert packed.index_select(0, last).tolist() == (starts + numpy.array(lengths) - 1).tolist()


@pytest.mark.parametrize("lengths", [[2] * 30 + [90] + [1] * 5, [3] * 400 + [800], [5, 5, 1, 5]])
def test_packed_index_is_time_major_longest_first_stable(lengths):
    # The definition, written out (pack_padded_sequence may order equal lengths
    # differently: it does not sort stably).
    flat_index, batch_sizes, order = packed_index(torch.tensor(lengths))
    starts = numpy.cumsum([0] + lengths[:-1])
    expected_order = sorted(range(len(lengths)), key=lambda s: -lengths[s])
    expected = [starts[s] + t for t in range(max(lengths)) for s in expected_order if lengths[s] > t]
    assert order.tolist() == expected_order
    assert flat_index.tolist() == expected
    assert batch_sizes.tolist() == [sum(n > t for n in lengths) for t in range(max(lengths))]


def reference_word_forward(encoder: WordGRUEncoder, chars, word_ids, lengths):
    """The word encoder's forward pass through pad / pack / unpack / unpad."""
    inputs = torch.cat([chars, encoder.embed(word_ids)], dim=-1)
    padded = flat_to_padded(inputs, lengths)
    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    output, _ = pad_packed_sequence(encoder.gru(packed)[0], batch_first=True)
    return torch.cat([output[i, :n] for i, n in enumerate(lengths.tolist())])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_word_encoder_matches_padded_reference(seed):
    torch.manual_seed(seed)
    rng = numpy.random.default_rng(seed)
    encoder = WordGRUEncoder(20, 5, 4, 6, 2, 0.0).eval()
    lengths = torch.tensor(rng.integers(1, 9, size=6))
    n_tokens = int(lengths.sum())
    chars = torch.randn(n_tokens, 4, requires_grad=True)
    word_ids = torch.randint(0, 20, (n_tokens,))
    weights = torch.randn(n_tokens, 12)
    got = encoder(chars, word_ids, lengths)
    (d_chars,) = torch.autograd.grad((got * weights).sum(), chars)
    expected = reference_word_forward(encoder, chars, word_ids, lengths)
    (d_expected,) = torch.autograd.grad((expected * weights).sum(), chars)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(d_chars, d_expected, atol=1e-6)


def test_word_encoder_sentence_output_is_independent_of_its_batch():
    torch.manual_seed(0)
    encoder = WordGRUEncoder(20, 5, 4, 6, 1, 0.0).eval()
    lengths = torch.tensor([3, 6, 1, 4])
    n_tokens = int(lengths.sum())
    chars = torch.randn(n_tokens, 4)
    word_ids = torch.randint(0, 20, (n_tokens,))
    batched = encoder(chars, word_ids, lengths).split(lengths.tolist())
    starts = (torch.cumsum(lengths, 0) - lengths).tolist()
    for i, (start, n) in enumerate(zip(starts, lengths.tolist())):
        alone = encoder(chars[start : start + n], word_ids[start : start + n], lengths[i : i + 1])
        assert torch.allclose(alone, batched[i], atol=1e-6)


def test_word_encoder_training_step_keeps_the_state_dict():
    encoder = WordGRUEncoder(20, 5, 4, 6, 2, 0.1)
    keys = set(encoder.state_dict())
    encoder.train()
    lengths = torch.tensor([2, 4])
    output = encoder(torch.randn(6, 4), torch.randint(0, 20, (6,)), lengths)
    output.sum().backward()
    assert set(encoder.state_dict()) == keys
    assert all(p.grad is not None for p in encoder.gru.parameters())


def test_packed_index_dispatches_no_torch_ops_per_call():
    """Each encoder and the CRF build a packed index at every call: it is computed in
    numpy (a few dozen small integer ops that each cost torch a dispatch), and its
    tensors are what `PackedSequence` takes: int64 on CPU."""
    ops = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not func.is_view:  # numpy <-> torch wrapping is views only
                ops.append(func)
            return func(*args, **(kwargs or {}))

    for lengths in (torch.tensor([3, 1, 4, 1, 5]), torch.tensor([6])):
        with Recorder():
            index = packed_index(lengths)
        assert ops == []
        assert all(t.dtype == torch.int64 and t.device.type == "cpu" for t in index)
