"""Quantized (int8) CPU inference: `spacy_xfer.quantize` and the load-time callback."""

import copy
import warnings

import numpy
import pytest
import spacy
import torch
from spacy.util import registry

import spacy_xfer
from spacy_xfer.models.layers.torch_layer import TorchShim
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.models.pytorch_quantized import QuantizedShim, quantizes
from spacy_xfer.pipeline.quantize import CALLBACK

from ..util import NER_DATA, examples_for

TEXTS = [text for text, _ in NER_DATA] + ["Anna visited New York today", "Bob loves Paris"]


def scores(nlp, texts=TEXTS):
    """The CRF's emission scores of each doc, predicted in one batch."""
    docs = [nlp.make_doc(text) for text in texts]
    scores = nlp.get_pipe("xfer_tagger").model.predict(docs)
    emissions = scores.crf.emissions.detach().cpu().numpy()
    return numpy.split(emissions, numpy.cumsum(scores.doc_lengths)[:-1])


def ents(docs):
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


def torch_shims(nlp):
    return [shim for node in nlp.get_pipe("xfer_tagger").model.walk() for shim in node.shims]


def test_quantized_pipeline_predicts_what_the_float_one_does(ner_model):
    nlp = spacy.load(ner_model)
    float_scores, float_ents = scores(nlp), ents(nlp.pipe(TEXTS))
    assert spacy_xfer.quantize(nlp) is nlp
    shims = torch_shims(nlp)
    assert len(shims) == 4  # char, word, emissions, CRF: the char encoder's stays float32
    assert [type(shim._model) for shim in shims if not isinstance(shim, QuantizedShim)] == [CharGRUEncoder]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's deprecation of its int8 API is not the user's to act on
        int8_scores = scores(nlp)
    assert not all(numpy.array_equal(a, b) for a, b in zip(int8_scores, float_scores))  # int8 ran
    for a, b in zip(int8_scores, float_scores):
        numpy.testing.assert_allclose(a, b, atol=0.05 * numpy.abs(b).max())
    assert ents(nlp.pipe(TEXTS)) == float_ents
    # int8 activations take one scale per call, so near ties can flip with the batch
    # (bench/quantized_accuracy.py counts them on a real test set); these docs have none.
    assert ents(nlp.pipe(TEXTS, batch_size=3)) == ents(nlp(text) for text in TEXTS)


def test_quantized_labels_of_a_doc_do_not_depend_on_earlier_calls(ner_model):
    """A word's int8 char vector would depend on its batch; cached, it would carry that
    batch's rounding into later calls (the char encoder stays float32 for this)."""
    texts = [f"{text} {other}" for text in TEXTS for other in TEXTS[:4]] + TEXTS
    fresh = spacy_xfer.quantize(spacy.load(ner_model))
    expected = [scores(fresh, [text]) for text in TEXTS]
    warm = spacy_xfer.quantize(spacy.load(ner_model))
    list(warm.pipe(texts, batch_size=len(texts)))  # every word seen first in one large batch
    for text, want in zip(TEXTS, expected):
        numpy.testing.assert_array_equal(scores(warm, [text])[0], want[0])


def test_quantized_pipeline_refuses_to_train(ner_model):
    nlp = spacy_xfer.quantize(spacy.load(ner_model))
    with pytest.raises(ValueError, match=r"\[E035\] This pipeline is quantized"):
        nlp.update(examples_for(nlp, NER_DATA, "ents"))


def test_round_trip_keeps_int8_inference_and_float32_weights(ner_model, tmp_path):
    float_nlp = spacy.load(ner_model)
    float_scores = scores(float_nlp)
    nlp = spacy_xfer.quantize(float_nlp)
    expected = scores(nlp)
    nlp.to_disk(tmp_path / "int8")
    loaded = spacy.load(tmp_path / "int8")
    assert loaded.config["nlp"]["after_pipeline_creation"] == CALLBACK
    assert [type(shim) for shim in torch_shims(loaded)] == [type(shim) for shim in torch_shims(nlp)]
    for a, b in zip(scores(loaded), expected):
        numpy.testing.assert_array_equal(a, b)
    # the weights on disk are float32: without the callback, the float pipeline again
    unquantized = spacy.load(tmp_path / "int8", config={"nlp": {"after_pipeline_creation": None}})
    for a, b in zip(scores(unquantized), float_scores):
        numpy.testing.assert_array_equal(a, b)


@registry.callbacks("xfer_test.mark_max_length.v1")
def mark_max_length():
    """A pipeline's own `[nlp.after_pipeline_creation]` callback: it sets max_length."""

    def mark(nlp):
        nlp.max_length = 12345
        return nlp

    return mark


MARK = {"@callbacks": "xfer_test.mark_max_length.v1"}


def test_quantize_keeps_the_pipelines_own_callback_through_a_round_trip(ner_model, tmp_path):
    nlp = spacy.load(ner_model, config={"nlp": {"after_pipeline_creation": MARK}})
    assert nlp.max_length == 12345
    expected = scores(spacy_xfer.quantize(nlp))
    chained = copy.deepcopy(nlp.config["nlp"]["after_pipeline_creation"])
    assert spacy_xfer.quantize(nlp).config["nlp"]["after_pipeline_creation"] == chained  # idempotent
    nlp.to_disk(tmp_path / "int8")
    for _ in range(2):  # saved, loaded, saved and loaded again: still one chain
        loaded = spacy.load(tmp_path / "int8")
        assert loaded.max_length == 12345
        assert loaded.config["nlp"]["after_pipeline_creation"] == chained
        assert [type(shim) for shim in torch_shims(loaded)] == [type(shim) for shim in torch_shims(nlp)]
        for a, b in zip(scores(loaded), expected):
            numpy.testing.assert_array_equal(a, b)
        loaded.to_disk(tmp_path / "int8")


@pytest.mark.parametrize("callback", [CALLBACK, {"@callbacks": "spacy_xfer.quantize.v1"}])
def test_quantizing_at_load_equals_quantizing_after_load(ner_model, callback):
    at_load = spacy.load(ner_model, config={"nlp": {"after_pipeline_creation": callback}})
    assert at_load.config["nlp"]["after_pipeline_creation"]["@callbacks"] == callback["@callbacks"]  # kept as given
    after_load = spacy_xfer.quantize(spacy.load(ner_model))
    for a, b in zip(scores(at_load), scores(after_load)):
        numpy.testing.assert_array_equal(a, b)


def test_quantize_needs_a_cpu_and_a_spacy_xfer_component(ner_model, monkeypatch):
    with pytest.raises(ValueError, match=r"\[E037\].*\(none\)"):
        spacy_xfer.quantize(spacy.blank("en"))
    nlp = spacy.load(ner_model)
    monkeypatch.setattr(TorchShim, "device", property(lambda shim: torch.device("cuda", 0)))
    with pytest.raises(ValueError, match=r"\[E036\] Cannot quantize a module on cuda:0"):
        spacy_xfer.quantize(nlp)
    # one module of four on the GPU: the error leaves the pipeline as it was, not half int8
    last = [shim for shim in torch_shims(nlp) if quantizes(shim._model)][-1]
    monkeypatch.setattr(TorchShim, "device", property(lambda shim: torch.device("cuda", 0) if shim is last else torch.device("cpu")))
    with pytest.raises(ValueError, match=r"\[E036\]"):
        spacy_xfer.quantize(nlp)
    assert not any(isinstance(shim, QuantizedShim) for shim in torch_shims(nlp))
    assert nlp.config["nlp"]["after_pipeline_creation"] is None


def test_int8_copy_shares_the_embedding_tables_with_the_float_module(ner_model):
    nlp = spacy_xfer.quantize(spacy.load(ner_model))
    scores(nlp)  # makes the int8 copies
    shared = 0
    for shim in torch_shims(nlp):
        if not isinstance(shim, QuantizedShim):
            continue
        float_tables = [m.weight for m in shim._model.modules() if isinstance(m, torch.nn.Embedding)]
        int8_tables = [m.weight for m in shim.int8_module().modules() if isinstance(m, torch.nn.Embedding)]
        assert [t.data_ptr() for t in int8_tables] == [t.data_ptr() for t in float_tables]
        shared += len(float_tables)
        # the layers quantization replaces are int8 in the copy and float32 in the module
        assert not any(type(m) in (torch.nn.GRU, torch.nn.Linear) for m in shim.int8_module().modules())
        assert all(p.dtype == torch.float32 for p in shim._model.parameters())
    assert shared >= 1  # the word embeddings at least


def test_pipeline_made_loaded_or_copied_in_inference_mode_quantizes_and_sees_later_loads(ner_model):
    """Tensors made inside `torch.inference_mode()` keep no version counter, by which the
    int8 copy tells that weights were loaded into the float32 module."""
    outside = spacy.load(ner_model, config={"nlp": {"after_pipeline_creation": CALLBACK}})
    expected = scores(outside)
    other = spacy.load(ner_model)  # other weights
    with torch.no_grad():
        for shim in torch_shims(other):
            for parameter in shim._model.parameters():
                parameter.mul_(1.5)
    other_bytes = other.to_bytes()
    other_scores = scores(spacy_xfer.quantize(other))
    assert not all(numpy.array_equal(a, b) for a, b in zip(other_scores, expected))
    with torch.inference_mode():
        inside = spacy.load(ner_model, config={"nlp": {"after_pipeline_creation": CALLBACK}})
        copied = copy.deepcopy(outside)
        for nlp in (inside, copied):
            for a, b in zip(scores(nlp), expected):
                numpy.testing.assert_array_equal(a, b)
        copied.from_bytes(other_bytes)
    for nlp, want in ((inside, expected), (copied, other_scores)):
        for a, b in zip(scores(nlp), want):
            numpy.testing.assert_array_equal(a, b)
