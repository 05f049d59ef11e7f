"""The fused GRU loop (numba) that predicts at small batches on CPU, and the choice
between it and `nn.GRU`."""

import os
import subprocess
import sys

import numpy
import pytest
import torch
from spacy.training import Example
from torch.nn.utils.rnn import PackedSequence, pack_sequence

from spacy_xfer.models import fused_gru, numba_jit
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.models.pytorch_gru import (
    FUSED,
    FUSED_MAX_ROWS,
    HAND_WRITTEN,
    NN_GRU,
    forced_gru_path,
    inference_path,
    packed_bigru,
    packed_gru_fused,
)
from spacy_xfer.models.pytorch_word_encoder import WordGRUEncoder

from ..util import import_extra, tiny_tagger

import_extra("numba")

# float32 sums and rounds in another order than torch's GRU: outputs agree to ~2e-7
ATOL = 1e-5


def packed(lengths, width, scale=1.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return pack_sequence([scale * torch.randn(n, width, generator=generator) for n in lengths], enforce_sorted=False)


@pytest.mark.parametrize(
    "depth,hidden,lengths",
    [
        (1, 3, [1]),
        (2, 7, [5]),
        (2, 7, [1, 1, 1]),
        (3, 16, [9, 1, 4, 9, 2, 6]),
        (2, 80, [12, 3, 7]),
    ],
)
def test_packed_gru_fused_matches_nn_gru(depth, hidden, lengths):
    torch.manual_seed(depth)
    gru = torch.nn.GRU(5, hidden, num_layers=depth, bidirectional=True).eval()
    sequences = packed(lengths, 5)
    with torch.inference_mode():
        expected = gru(sequences)[0].data
        got = packed_gru_fused(gru, sequences.data, sequences.batch_sizes)
    assert got.shape == (sum(lengths), 2 * hidden) and got.dtype == torch.float32
    assert torch.allclose(got, expected, atol=ATOL, rtol=0)


def test_packed_gru_fused_matches_nn_gru_with_saturated_gates():
    # inputs of magnitude ~100 drive sigmoid and tanh to their limits, where e^x of
    # the pre-activations leaves float32's range and is clamped
    torch.manual_seed(0)
    gru = torch.nn.GRU(4, 6, num_layers=2, bidirectional=True).eval()
    sequences = packed([6, 2, 4], 4, scale=100.0)
    with torch.no_grad():
        expected = gru(sequences)[0].data
        got = packed_gru_fused(gru, sequences.data, sequences.batch_sizes)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, expected, atol=ATOL, rtol=0)


def test_exp_is_within_an_ulp_and_clamped_to_finite_values():
    x = numpy.linspace(-87.0, 88.0, 100_001, dtype=numpy.float32)
    got = x.copy()
    fused_gru.vector_exp(got, numpy.empty(len(x), numpy.int32))
    expected = numpy.exp(x.astype(numpy.float64))
    assert numpy.max(numpy.abs(got - expected) / expected) < 2.5e-7
    extremes = numpy.array([-1e4, -100.0, 100.0, 1e4], dtype=numpy.float32)
    fused_gru.vector_exp(extremes, numpy.empty(4, numpy.int32))
    assert numpy.isfinite(extremes).all() and (extremes > 0).all()
    assert extremes[0] == extremes[1] < 1e-37 and extremes[2] == extremes[3] > 1e38


def test_inference_path_takes_the_fused_loop_for_few_rows_of_a_float32_gru_on_cpu():
    gru = torch.nn.GRU(5, 4, bidirectional=True)
    few, many = packed([3] * FUSED_MAX_ROWS, 5), packed([3] * (FUSED_MAX_ROWS + 1), 5)
    assert inference_path(gru, few.data, few.batch_sizes) == FUSED
    assert inference_path(gru, many.data, many.batch_sizes) == NN_GRU
    assert inference_path(gru.double(), few.data.double(), few.batch_sizes) == NN_GRU
    quantized = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.GRU(5, 4)), {torch.nn.GRU})[0]
    assert not isinstance(quantized, torch.nn.GRU)
    assert inference_path(quantized, few.data, few.batch_sizes) == NN_GRU
    gru = gru.float()
    with forced_gru_path(NN_GRU):
        assert inference_path(gru, few.data, few.batch_sizes) == NN_GRU
    with forced_gru_path(FUSED):
        assert inference_path(gru, many.data, many.batch_sizes) == FUSED
        assert inference_path(quantized, few.data, few.batch_sizes) == NN_GRU
    with forced_gru_path(HAND_WRITTEN):  # a training path: inference chooses as usual
        assert inference_path(gru, few.data, few.batch_sizes) == FUSED


def test_without_numba_predictions_run_nn_gru_and_forcing_the_fused_loop_says_why(monkeypatch):
    monkeypatch.setattr(fused_gru, "AVAILABLE", False)
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    sequences = packed([3], 5)
    assert inference_path(gru, sequences.data, sequences.batch_sizes) == NN_GRU
    with torch.inference_mode():
        assert torch.equal(packed_bigru(gru, sequences.data, sequences.batch_sizes), gru(sequences)[0].data)
    with pytest.raises(ValueError, match=r"\[E112\].*numba.*fast"):
        with forced_gru_path(FUSED):
            inference_path(gru, sequences.data, sequences.batch_sizes)
    with pytest.raises(ValueError, match=r"\[E112\]"):
        packed_gru_fused(gru, sequences.data, sequences.batch_sizes)


def test_packed_bigru_keeps_the_gradient_in_eval_mode():
    # eval mode alone (no dropout) is not prediction: with gradients on, nn.GRU runs
    torch.manual_seed(0)
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    sequences = packed([3, 1], 5)
    data = sequences.data.clone().requires_grad_()
    output = packed_bigru(gru, data, sequences.batch_sizes)
    (d_data,) = torch.autograd.grad(output.sum(), [data])
    (expected,) = torch.autograd.grad(gru(PackedSequence(data, sequences.batch_sizes))[0].data.sum(), [data])
    assert torch.allclose(d_data, expected)


def test_the_encoders_predict_the_same_on_both_paths():
    torch.manual_seed(0)
    char_encoder = CharGRUEncoder(20, 5, 6, 2, 0.0).eval()
    word_lengths = torch.tensor([1, 7, 3, 2])
    chars = torch.randint(1, 20, (int(word_lengths.sum()),))
    word_encoder = WordGRUEncoder(30, 5, 12, 6, 2, 0.0).eval()
    sentence_lengths = torch.tensor([3, 1, 4])
    word_ids = torch.randint(0, 30, (8,))
    outputs = {}
    for path in (NN_GRU, FUSED):
        with forced_gru_path(path), torch.inference_mode():
            words = char_encoder.encode_words(chars, word_lengths)
            char_vectors = words.index_select(0, torch.tensor([0, 1, 2, 3, 3, 2, 1, 0]))
            outputs[path] = (words, word_encoder(char_vectors, word_ids, sentence_lengths))
    for a, b in zip(outputs[NN_GRU], outputs[FUSED]):
        assert torch.allclose(a, b, atol=ATOL, rtol=0)


def test_a_pipeline_predicts_the_same_with_nn_gru_and_one_sentence_at_a_time():
    nlp = tiny_tagger()
    examples = [
        Example.from_dict(nlp.make_doc(text), {"tags": tags})
        for text, tags in [("I like green eggs", ["PRP", "VBP", "JJ", "NNS"]), ("Eat ham", ["VB", "NN"])]
    ]
    nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples)
    texts = ["I like ham", "Green eggs and ham", "Eat"] * 4
    with forced_gru_path(NN_GRU):
        expected = [[token.tag_ for token in doc] for doc in nlp.pipe(texts, batch_size=len(texts))]
    one_at_a_time = [[token.tag_ for token in nlp(text)] for text in texts]
    assert one_at_a_time == expected


def test_the_loop_compiles_without_a_disk_cache_where_numba_finds_no_folder(monkeypatch):
    numba = import_extra("numba")
    njit = numba.njit

    def refusing_cache(*args, **options):  # numba's own modules call it too (positionally)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'vector_exp': no locator available for file 'fused_gru.py'")
        return njit(*args, **options)

    monkeypatch.setattr(numba_jit.numba, "njit", refusing_cache)
    exp = numba_jit.compiled(fused_gru.vector_exp.py_func)
    x = numpy.array([0.0, 1.0], dtype=numpy.float32)
    exp(x, numpy.empty(2, numpy.int32))
    assert numpy.allclose(x, [1.0, numpy.e]) and exp._cache.__class__.__name__ == "NullCache"


@pytest.mark.parametrize("damaged", [".nbi", ".nbc"])  # the index, or the machine code
def test_a_cache_file_numba_cannot_read_is_compiled_anew(tmp_path, damaged):
    # two loops, one of whose cache files is cut short (as by a full disk); each run
    # prints the loops' results and how many of vector_exp's signatures came from the cache
    code = (
        "import numpy; from spacy_xfer.models import fused_gru, fused_gru_train; "
        "x = numpy.zeros(3, numpy.float32); fused_gru.vector_exp(x, numpy.empty(3, numpy.int32)); "
        "rows = fused_gru_train._rows(1, 0, 0, 1, 1, numpy.zeros(1, numpy.int64)); "
        "print(x.tolist(), rows, sum(fused_gru.vector_exp.stats.cache_hits.values()))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run():
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    expected = "[1.0, 1.0, 1.0] (1, 1, 0)"
    assert run().stdout.strip() == f"{expected} 0"
    other = {path: path.read_bytes() for path in tmp_path.rglob("*_rows*")}
    assert {path.suffix for path in other} == {".nbi", ".nbc"}
    for path in tmp_path.rglob(f"*vector_exp*{damaged}"):
        path.write_bytes(path.read_bytes()[:10])
    garbled = run()  # numba alone raises UnpicklingError here
    assert garbled.stdout.strip() == f"{expected} 0" and "[W003]" in garbled.stderr
    assert {path: path.read_bytes() for path in tmp_path.rglob("*_rows*")} == other
    again = run()  # the cache was written afresh, and is read
    assert again.stdout.strip() == f"{expected} 1" and "[W003]" not in again.stderr


def test_numbas_debugging_switch_keeps_predictions_on_nn_gru():
    # NUMBA_DISABLE_JIT=1 runs numba functions as Python: the loop would be ~100x slower
    # (the Viterbi loop's too: `decode` would be slower than numpy's recursion)
    # (and `numba_jit.compiled` hands back the function as it is)
    code = (
        "from spacy_xfer.models import fused_gru, fused_viterbi, numba_jit\n"
        "def negated(x):\n    return -x\n"
        "print(fused_gru.AVAILABLE, fused_viterbi.AVAILABLE, numba_jit.compiled(negated)(-2))"
    )
    for value, expected in (("1", "False False 2"), ("0", "True True 2")):
        env = {**os.environ, "NUMBA_DISABLE_JIT": value}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == expected


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_under_cpu_autocast_predictions_run_nn_gru(dtype):
    torch.manual_seed(0)
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    sequences = packed([3, 2], 5)
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype):
        assert inference_path(gru, sequences.data, sequences.batch_sizes) == NN_GRU
        with forced_gru_path(FUSED):
            assert inference_path(gru, sequences.data, sequences.batch_sizes) == NN_GRU
            output = packed_bigru(gru, sequences.data, sequences.batch_sizes)
    assert output.shape == (5, 8)


class GRUWithOwnForward(torch.nn.GRU):
    def forward(self, packed):
        output, state = super().forward(packed)
        return output._replace(data=output.data + 1), state


def test_gru_variants_the_loop_does_not_compute_run_nn_gru():
    sequences = packed([3, 1], 5)
    hooked = torch.nn.GRU(5, 4, bidirectional=True).eval()
    calls = []
    hooked.register_forward_hook(lambda *args: calls.append(1))
    variants = [
        torch.nn.GRU(5, 4).eval(),  # one direction
        torch.nn.GRU(5, 4, bidirectional=True, bias=False).eval(),
        GRUWithOwnForward(5, 4, bidirectional=True).eval(),
        hooked,
    ]
    for gru in variants:
        assert inference_path(gru, sequences.data, sequences.batch_sizes) == NN_GRU
        with torch.inference_mode():
            got = packed_bigru(gru, sequences.data, sequences.batch_sizes)
            assert torch.equal(got, gru(sequences)[0].data)
    assert calls == [1, 1]  # the hook ran for packed_bigru and for the direct call


@pytest.mark.parametrize(
    "batch_sizes",
    [[2, 2, 2], [1, 2], [3, 0], [], [1, 1], [2**62] * 4],
    ids=["too many", "increasing", "zero", "empty", "too few", "wrapping around"],
)
def test_the_loop_refuses_batch_sizes_that_do_not_fit_the_rows(batch_sizes):
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    data = torch.randn(3, 5)
    with torch.inference_mode(), pytest.raises(ValueError, match=r"\[E113\] .* 3 rows with batch sizes"):
        packed_gru_fused(gru, data, torch.tensor(batch_sizes, dtype=torch.int64))


def test_the_loop_refuses_weights_of_another_shape():
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    sequences = packed([2, 1], 5)
    gi = [torch.zeros(3, 12), torch.zeros(3, 12)]
    with pytest.raises(ValueError, match=r"\[E113\]"):
        fused_gru.fused_bigru_layer(gi, (gru.weight_hh_l0, gru.weight_hh_l0[:, :3]), (gru.bias_hh_l0,) * 2, sequences.batch_sizes)


def test_a_hook_on_all_modules_keeps_the_gru_on_nn_gru_while_it_is_registered():
    gru = torch.nn.GRU(5, 4, bidirectional=True).eval()
    sequences = packed([3, 1], 5)
    seen = []
    handle = torch.nn.modules.module.register_module_forward_hook(lambda module, *args: seen.append(type(module)))
    try:
        assert inference_path(gru, sequences.data, sequences.batch_sizes) == NN_GRU
        with torch.inference_mode():
            packed_bigru(gru, sequences.data, sequences.batch_sizes)
    finally:
        handle.remove()
    assert seen == [torch.nn.GRU]
    assert inference_path(gru, sequences.data, sequences.batch_sizes) == FUSED
