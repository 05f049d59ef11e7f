"""The torch layers' shim (`TorchShim`): the mode each call runs the module in, the
tensors its predictions return, its device, and the parameters `use_params` swaps in."""

import re
from typing import List, Tuple

import numpy
import pytest
import spacy
import torch
from thinc.api import Adam, ArgsKwargs
from thinc.shims import PyTorchShim

from spacy_xfer.models.layers.torch_layer import TorchShim
from spacy_xfer.models.parameters import parameters_of
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.training.optimizer import create_adam_v1

from ..util import TAG_DATA, TINY_ENCODER, examples_for, tiny_model, tiny_tagger


def test_predict_runs_in_eval_mode_and_update_in_training_mode_whatever_came_before():
    """With dropout on, every update runs every submodule in training mode and every
    prediction in eval mode, also right after the other (the shim switches modes only
    when they change), so predictions after training are deterministic."""
    nlp = spacy.blank("en")
    model = tiny_model({**TINY_ENCODER, "dropout": 0.5})
    nlp.add_pipe("xfer_tagger", config={"target": "tag", "model": model})
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    modes: List[Tuple[bool, ...]] = []
    shims = [shim for node in nlp.get_pipe("xfer_tagger").model.walk() for shim in node.shims]
    assert shims and all(isinstance(shim, TorchShim) for shim in shims)
    for shim in shims:
        shim._model.register_forward_pre_hook(lambda module, args: modes.append(tuple(m.training for m in module.modules())))
    optimizer = Adam(0.02)
    texts = [text for text, _ in TAG_DATA]
    for _ in range(2):
        modes.clear()
        nlp.update(examples, sgd=optimizer)
        assert len(modes) == len(shims) and all(all(mode) for mode in modes)
        modes.clear()
        first = [[token.tag_ for token in nlp(text)] for text in texts]
        assert len(modes) == len(shims) * len(texts) and not any(any(mode) for mode in modes)
        scores = nlp.get_pipe("xfer_tagger").model.predict([nlp.make_doc(texts[0])])
        again = nlp.get_pipe("xfer_tagger").model.predict([nlp.make_doc(texts[0])])
        torch.testing.assert_close(scores.crf.emissions, again.crf.emissions, rtol=0, atol=0)
        assert [[token.tag_ for token in doc] for doc in nlp.pipe(texts)] == first


def _trained_with_averages():
    nlp = tiny_tagger()
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    optimizer = create_adam_v1(0.05, use_averages=True)
    for _ in range(6):
        nlp.update(examples, sgd=optimizer)
    shims = [shim for node in nlp.get_pipe("xfer_tagger").model.walk() for shim in node.shims]
    return nlp, optimizer, shims


def _emissions(nlp) -> torch.Tensor:
    return nlp.get_pipe("xfer_tagger").model.predict([nlp.make_doc(text) for text, _ in TAG_DATA]).crf.emissions


def test_use_params_swaps_in_the_optimizers_averages_and_back():
    """spaCy's training loop evaluates and saves model-best inside
    `nlp.use_params(optimizer.averages)`: inside it every torch parameter is its
    average (thinc keys them `(shim id, name)`), what is saved there loads as the
    averaged model, and afterwards the trained parameters are back, bit for bit."""
    nlp, optimizer, shims = _trained_with_averages()
    own = {(shim.id, name): p.detach().clone() for shim in shims for name, p in shim._model.named_parameters()}
    assert set(own) == set(optimizer.averages)
    trained = _emissions(nlp)
    with nlp.use_params(optimizer.averages):
        for shim in shims:
            for name, parameter in shim._model.named_parameters():
                expected = torch.from_numpy(optimizer.averages[(shim.id, name)]).to(parameter.dtype)
                torch.testing.assert_close(parameter.detach(), expected, rtol=0, atol=0)
        averaged = _emissions(nlp)
        saved = nlp.to_bytes()
    assert not torch.allclose(trained, averaged)
    for shim in shims:
        for name, parameter in shim._model.named_parameters():
            assert torch.equal(parameter.detach(), own[(shim.id, name)])
    torch.testing.assert_close(_emissions(nlp), trained, rtol=0, atol=0)
    loaded = tiny_tagger().from_bytes(saved)
    torch.testing.assert_close(_emissions(loaded), averaged, rtol=0, atol=0)


def test_use_params_reads_thincs_string_keys_and_leaves_parameters_without_one():
    nlp, optimizer, shims = _trained_with_averages()
    shim = shims[0]
    name, parameter = next(iter(shim._model.named_parameters()))
    others = {(s.id, n): p.detach().clone() for s in shims for n, p in s._model.named_parameters() if p is not parameter}
    value = numpy.full(tuple(parameter.shape), 0.25, dtype="float32")
    with nlp.use_params({f"pytorch_{shim.id}_{name}": value}):
        assert bool((parameter == 0.25).all())
        for s in shims:
            for n, p in s._model.named_parameters():
                if p is not parameter:
                    assert torch.equal(p.detach(), others[(s.id, n)])


def test_use_params_of_another_shape_is_an_error_and_changes_nothing():
    nlp, optimizer, shims = _trained_with_averages()
    own = [p.detach().clone() for shim in shims for p in shim._model.parameters()]
    averages = dict(optimizer.averages)
    key = next(key for key in averages if key[0] == shims[-1].id)
    averages[key] = numpy.zeros((averages[key].size + 1,), dtype="float32")
    with pytest.raises(ValueError, match=r"E097.*" + re.escape(key[1])):
        with nlp.use_params(averages):
            pass
    assert all(torch.equal(p.detach(), o) for p, o in zip((p for s in shims for p in s._model.parameters()), own))


def test_predictions_are_ordinary_tensors_inside_inference_mode_only_its_own():
    """The scores a head predicts (one inference block for its chain of shims) take
    in-place writes and gradients outside inference mode, as `get_loss` may need; a
    shim called inside inference mode hands on its inference tensors as they are."""
    nlp = tiny_tagger()
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    model = nlp.get_pipe("xfer_tagger").model
    docs = [nlp.make_doc(text) for text, _ in TAG_DATA]
    scores = model.predict(docs)
    for tensor in scores.crf:
        assert not tensor.is_inference()
    scores.crf.emissions.add_(1.0)
    assert scores.crf.emissions.detach().requires_grad_().requires_grad
    emissions = [node for node in model.walk() if node.name == "xfer_emissions"][0].shims[0]
    features = torch.zeros((3, emissions._model.project.in_features))
    outputs = []
    emissions._model.register_forward_hook(lambda module, args, output: outputs.append(output))
    with torch.inference_mode():
        inside = emissions.predict(ArgsKwargs(args=(features,), kwargs={}))
    assert inside is outputs[-1] and inside.is_inference()  # the module's own, not a copy
    outside = emissions.predict(ArgsKwargs(args=(features,), kwargs={}))
    assert outside is not outputs[-1] and not outside.is_inference()


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("module", [torch.nn.GRU(3, 4, num_layers=2, bidirectional=True), torch.nn.ReLU()])
def test_shim_device_is_thincs(module, device):
    ours, thincs = TorchShim(module), PyTorchShim(module)  # each puts it on thinc's device
    module.to(device)  # "meta": a device other than the CPU, without a GPU
    assert ours.device == thincs.device


def test_parameters_of_lists_every_parameter_in_torchs_order():
    module = CharGRUEncoder(7, 5, 6, 2, 0.0)
    module.extra = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False), torch.nn.Sequential(torch.nn.Linear(3, 1)))
    expected = list(module.parameters())
    got = parameters_of(module)
    assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected))
    module.shared = module.extra[0]  # listed once by torch, once per place here
    got = parameters_of(module)
    assert len(got) == len(expected) + 1 and got[-1] is module.extra[0].weight
