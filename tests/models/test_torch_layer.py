"""The torch layers' shim (`TorchShim`): the mode each call runs the module in, and
how the optimizer's step reaches the torch parameters."""

from typing import List, Tuple

import numpy
import spacy
import torch
from thinc.api import Adam, ArgsKwargs
from torch import nn

from spacy_xfer.models.layers.torch_layer import TorchShim

from ..util import TAG_DATA, TINY_ENCODER, examples_for, tiny_model


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


def test_finish_update_steps_parameters_in_place_or_writes_back_a_new_array():
    module = nn.Linear(3, 2)
    shim = TorchShim(module)
    output, backprop = shim.begin_update(ArgsKwargs(args=(torch.ones(4, 3),), kwargs={}))
    backprop(ArgsKwargs(args=(output,), kwargs={"grad_tensors": (torch.ones_like(output),)}))
    before = {name: (p.data_ptr(), p.detach().clone()) for name, p in module.named_parameters()}
    shim.finish_update(Adam(0.1))
    for name, parameter in module.named_parameters():
        pointer, value = before[name]
        assert parameter.data_ptr() == pointer  # stepped in place, not re-wrapped
        assert not torch.equal(parameter.detach(), value)
        assert not parameter.grad.any()

    def halve(key, weights, gradient, **kwargs):  # an optimizer returning new memory
        return weights * 0.5, gradient

    for parameter in module.parameters():
        parameter.grad = torch.ones_like(parameter)
    before_halving = {name: p.detach().clone() for name, p in module.named_parameters()}
    shim.finish_update(halve)
    for name, parameter in module.named_parameters():
        numpy.testing.assert_array_equal(parameter.detach().numpy(), before_halving[name].numpy() * 0.5)
        assert parameter.requires_grad and not parameter.grad.any()
