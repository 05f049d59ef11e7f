"""The torch layers' shim (`TorchShim`): the mode each call runs the module in."""

from typing import List, Tuple

import spacy
import torch
from thinc.api import Adam

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
