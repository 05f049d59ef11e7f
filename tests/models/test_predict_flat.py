"""The flat prediction path (`torch_layer.predict_flat`, `crf_tagger.predict_scores`):
the CRF tagger predicts by chaining its modules as tensors, and must predict what
thinc's per-layer path predicts."""

from typing import List

import pytest
import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc

import spacy_xfer
from spacy_xfer.models.layers.crf_tagger import predict_scores
from spacy_xfer.models.layers.torch_layer import PREDICT_FLAT, predict_flat

from ..pipeline.test_sharing import all_examples, make_nlp
from ..util import NER_DATA, TAG_DATA, examples_for, train

LEXICAL_ENCODER = {
    "@architectures": "spacy_xfer.CharWordEncoder.v3",
    "char_width": 8, "char_output_width": 16, "char_depth": 1, "width": 8, "output_width": 32, "depth": 2,
    "lexical": {"@architectures": "spacy_xfer.LexicalEmbed.v1", "width": 4},
}


def trained_tagger(target: str = "tag") -> Language:
    nlp = spacy.blank("en")
    model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": dict(LEXICAL_ENCODER)}
    nlp.add_pipe("xfer_tagger", config={"target": target, "model": model})
    train(nlp, examples_for(nlp, TAG_DATA if target == "tag" else NER_DATA, target), steps=8)
    return nlp


def batch(nlp: Language) -> List[Doc]:
    """Docs of several lengths, an empty one and one with a word never seen among them."""
    texts = ["Green eggs", "", "Anna eats ham daily in Paris", "ham", "Zyxw"]
    return [nlp.make_doc(text) for text in texts]


def thinc_path(model, docs):
    """The CRF tagger's prediction through thinc's layers one by one (each layer's
    `predict`, the flat paths taken away): what `crf_tagger_forward` computed before
    it had a flat path."""
    nodes = [node for node in model.walk() if PREDICT_FLAT in node.attrs]
    saved = [node.attrs.pop(PREDICT_FLAT) for node in nodes]
    try:
        *inputs, emissions, crf = model.layers
        outputs = [layer.predict(docs) for layer in inputs]
        joined = [model.ops.xp.hstack(parts) for parts in zip(*outputs)]
        return crf.predict(emissions.predict(joined))
    finally:
        for node, function in zip(nodes, saved):
            node.attrs[PREDICT_FLAT] = function


@pytest.mark.parametrize("target", ["tag", "ents"])
def test_flat_path_predicts_what_the_layers_predict(target):
    nlp = trained_tagger(target)
    model = nlp.get_pipe("xfer_tagger").model
    docs = batch(nlp)
    flat = predict_scores(model, docs)
    assert flat is not None
    layered = thinc_path(model, docs)
    assert flat.doc_lengths == layered.doc_lengths == [len(doc) for doc in docs]
    torch.testing.assert_close(flat.crf.emissions, layered.crf.emissions, rtol=0, atol=0)
    assert torch.equal(flat.crf.lengths, layered.crf.lengths)
    # the pipeline predicts by the flat path: thinc's emission and CRF layers are not run
    for name in ("emissions", "crf"):
        model.get_ref(name)._func = None
    torch.testing.assert_close(model.predict(docs).crf.emissions, layered.crf.emissions, rtol=0, atol=0)
    labels = [[t.tag_ if target == "tag" else t.ent_iob_ + t.ent_type_ for t in doc] for doc in nlp.pipe(doc.text for doc in docs)]
    assert [len(doc_labels) for doc_labels in labels] == [len(doc) for doc in docs]


def test_encoder_flat_path_gives_the_flattened_vectors():
    """Each layer over docs (char encoder, lexical features, both joined, word encoder)
    gives by its flat path the rows its thinc path gives, one doc after another."""
    nlp = trained_tagger()
    word_encoder = nlp.get_pipe("xfer_tagger").model.get_ref("tok2vec")
    docs = batch(nlp)
    layers = [layer for layer in word_encoder.walk() if PREDICT_FLAT in layer.attrs]
    assert len(layers) == 4  # word encoder, joined, char encoder, lexical
    flat = [predict_flat(layer, docs) for layer in layers]
    saved = [layer.attrs.pop(PREDICT_FLAT) for layer in layers]
    rows = [layer.ops.flatten(layer.predict(docs)) for layer in layers]  # thinc's layers only
    for layer, function in zip(layers, saved):
        layer.attrs[PREDICT_FLAT] = function
    for layer, tensor, expected in zip(layers, flat, rows):
        assert tensor is not None and tensor.shape == (sum(len(doc) for doc in docs), layer.get_dim("nO")), layer.name
        torch.testing.assert_close(tensor, torch.as_tensor(expected), rtol=0, atol=0)


def test_a_batch_without_tokens_takes_the_layers_path():
    nlp = trained_tagger()
    model = nlp.get_pipe("xfer_tagger").model
    assert predict_scores(model, [nlp.make_doc(""), nlp.make_doc("")]) is None
    assert model.predict([nlp.make_doc("")]).doc_lengths == [0]


@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_heads_listening_to_a_shared_encoder_predict_what_the_layers_predict(arch):
    """T-B: the head's input is a listener (no flat path: its vectors are flattened);
    T-C: the head's word encoder has a flat path over a listener."""
    nlp = make_nlp(arch, ["pos_head", "ner_head"])
    nlp.initialize(lambda: all_examples(nlp))
    head_input = nlp.get_pipe("pos_head").model.get_ref("tok2vec")
    assert (predict_flat(head_input, batch(nlp)) is not None) == (arch == "t_c")
    docs = [nlp.get_pipe("encoder")(doc) for doc in batch(nlp)]
    for name in ("pos_head", "ner_head"):
        model = nlp.get_pipe(name).model
        flat = predict_scores(model, docs)
        assert flat is not None
        torch.testing.assert_close(flat.crf.emissions, thinc_path(model, docs).crf.emissions, rtol=0, atol=0)


def test_quantized_tagger_predicts_the_same_by_either_path():
    """The flat path runs a quantized shim's int8 modules, as thinc's layers do."""
    nlp = spacy_xfer.quantize(trained_tagger())
    model = nlp.get_pipe("xfer_tagger").model
    docs = batch(nlp)
    flat = predict_scores(model, docs)
    assert flat is not None
    torch.testing.assert_close(flat.crf.emissions, thinc_path(model, docs).crf.emissions, rtol=0, atol=0)


def test_predicted_scores_refuse_a_backward_pass():
    nlp = trained_tagger()
    model = nlp.get_pipe("xfer_tagger").model
    scores, backprop = model(batch(nlp), is_train=False)
    with pytest.raises(ValueError, match=r"\[E101\] xfer_crf_tagger: the output was predicted"):
        backprop(scores)
