"""On a CUDA GPU: the encoders train with cuDNN and agree with the CPU, the optimizers
step device arrays, and a pipeline trains, predicts and round-trips. Marked `gpu`;
the `gpu` fixture skips them without a usable GPU (CI has none) and
bench/gpu_check.sh runs them."""

import copy

import numpy
import pytest
import spacy
import torch

import spacy_xfer
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.models.pytorch_gru import NN_GRU, gru_path
from spacy_xfer.models.pytorch_word_encoder import WordGRUEncoder
from spacy_xfer.training.optimizer import create_adagrad_v1, create_adam_v1, create_sgd_v1, host_arrays

from .util import TAG_DATA, examples_for, tiny_tagger, train

pytestmark = pytest.mark.gpu


def word_case():
    lengths = torch.tensor([3, 9, 1, 4, 9, 2])
    n_tokens = int(lengths.sum())
    module = WordGRUEncoder(30, 5, 4, 6, 2, 0.0)
    inputs = (torch.randn(n_tokens, 4), torch.randint(0, 30, (n_tokens,)), lengths)
    return module, inputs, (True, True, False)  # which inputs go to the GPU (lengths stay)


def char_case():
    word_lengths = torch.tensor([1, 7, 3, 7, 2])
    module = CharGRUEncoder(20, 5, 6, 2, 0.0)
    inputs = (torch.randint(1, 20, (int(word_lengths.sum()),)), word_lengths, torch.tensor([0, 1, 2, 1, 3, 4, 0]))
    return module, inputs, (True, False, True)


@pytest.mark.parametrize("case", [word_case, char_case], ids=["word", "char"])
def test_encoders_train_with_cudnn_on_the_gpu_as_on_the_cpu(gpu, monkeypatch, case):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # compare float32 with float32
    device = torch.device("cuda", gpu)
    assert gru_path(device, torch.float32) == NN_GRU
    torch.manual_seed(0)
    cpu_module, inputs, to_gpu = case()
    gpu_module = copy.deepcopy(cpu_module).to(device)
    gru_calls = []
    gpu_module.gru.register_forward_hook(lambda *args: gru_calls.append(1))
    cpu_output = cpu_module.train()(*inputs)
    gpu_inputs = [x.to(device) if move else x for x, move in zip(inputs, to_gpu)]
    gpu_output = gpu_module.train()(*gpu_inputs)
    assert gru_calls == [1]  # nn.GRU (cuDNN) ran, not the hand-written recurrence
    weights = torch.randn(cpu_output.shape)
    (cpu_output * weights).sum().backward()
    (gpu_output * weights.to(device)).sum().backward()
    assert torch.allclose(gpu_output.cpu(), cpu_output, atol=1e-4)
    for cpu_param, gpu_param in zip(cpu_module.parameters(), gpu_module.parameters()):
        assert torch.allclose(gpu_param.grad.cpu(), cpu_param.grad, atol=1e-4)


@pytest.mark.parametrize("make", [create_adagrad_v1, create_adam_v1, create_sgd_v1], ids=["adagrad", "adam", "sgd"])
def test_optimizers_step_gpu_arrays_on_the_device_and_skip_undrawn_ones(gpu, make):
    import cupy

    assert not host_arrays(cupy)
    host, device = make(0.1), make(0.1)
    host_weights = numpy.ones(3, dtype="float32")
    device_weights = cupy.ones(3, dtype="float32")
    for gradient in ([1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [0.5, 2.0, 0.0]):
        host((0, "W"), host_weights, numpy.array(gradient, dtype="float32"))
        before = device_weights.copy()
        device((0, "W"), device_weights, cupy.array(gradient, dtype="float32"))
        if not any(gradient):
            cupy.testing.assert_array_equal(device_weights, before)
    numpy.testing.assert_allclose(cupy.asnumpy(device_weights), host_weights, rtol=1e-5)
    assert int(device.device_steps[(0, "W")]) == host.nr_update[(0, "W")] == 2


def test_a_pipeline_trains_predicts_and_round_trips_on_the_gpu(gpu, tmp_path):
    nlp = tiny_tagger()
    examples = examples_for(nlp, TAG_DATA, "tag")
    train(nlp, examples, steps=60)
    shims = [shim for node in nlp.get_pipe("xfer_tagger").model.walk() for shim in node.shims]
    assert shims and all(shim.device.type == "cuda" for shim in shims)
    texts = [text for text, _ in TAG_DATA]
    predicted = [[t.tag_ for t in doc] for doc in nlp.pipe(texts)]
    assert predicted == [tags for _, tags in TAG_DATA]
    assert predicted == [[t.tag_ for t in nlp(text)] for text in texts]
    nlp.to_disk(tmp_path / "gpu")
    assert [[t.tag_ for t in doc] for doc in spacy.load(tmp_path / "gpu").pipe(texts)] == predicted
    with pytest.raises(ValueError, match=r"\[E036\] Cannot quantize a module on cuda"):
        spacy_xfer.quantize(nlp)
