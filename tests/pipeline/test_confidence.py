"""`xfer_tagger`'s confidence setting and n-best: token confidences and span scores
where spaCy users look for them, checked against the component's own exhaustive
n-best (every allowed sequence with its probability)."""

import math

import numpy
import pytest
import spacy
from spacy.tokens import Doc, Token

from spacy_xfer.models.pytorch_crf import CRFScores

from ..util import NER_DATA, TAG_DATA, examples_for, tiny_tagger, train

TEXTS = ["Anna visited New York", "Paris", "Bob Smith loves green ham"]


def trained(target: str, data):
    nlp = tiny_tagger(target)
    train(nlp, examples_for(nlp, data, target), steps=25)
    return nlp


@pytest.fixture(scope="module")
def ner_nlp():
    return trained("ents", NER_DATA)


@pytest.fixture(scope="module")
def tag_nlp():
    return trained("tag", TAG_DATA)


def every_sequence(head, doc: Doc):
    """All allowed label sequences of a short doc with their probabilities."""
    n_labels = len(head.crf_labels)
    (best,) = head.nbest([doc], n_labels ** len(doc))
    return list(zip(best.labels, numpy.exp(best.log_probs)))


@pytest.fixture
def confident(request):
    """Switch a pipeline's head to confidence for one test."""
    nlp = request.getfixturevalue(request.param)
    head = nlp.get_pipe("xfer_tagger")
    head.confidence = True
    yield nlp
    head.confidence = False


@pytest.mark.parametrize("confident", ["ner_nlp"], indirect=True)
def test_entity_scores_are_span_probabilities(confident):
    head = confident.get_pipe("xfer_tagger")
    seen_span = False
    for doc in confident.pipe(TEXTS):
        group = doc.spans["xfer_tagger"]
        assert [(s.start, s.end, s.label_) for s in group] == [(e.start, e.end, e.label_) for e in doc.ents]
        scores = group.attrs["scores"]
        assert len(scores) == len(group)
        sequences = every_sequence(head, doc)
        assert sum(p for _, p in sequences) == pytest.approx(1.0, abs=1e-6)
        for span, score in zip(group, scores):
            seen_span = True
            tags = ["U-" + span.label_] if len(span) == 1 else (
                ["B-" + span.label_] + ["I-" + span.label_] * (len(span) - 2) + ["L-" + span.label_]
            )
            expected = sum(p for labels, p in sequences if labels[span.start : span.end] == tags)
            assert float(score) == pytest.approx(expected, abs=1e-5)
        predicted = sequences[0][0]
        for i, token in enumerate(doc):
            expected = sum(p for labels, p in sequences if labels[i] == predicted[i])
            assert token._.xfer_tagger_confidence == pytest.approx(expected, abs=1e-6)
    assert seen_span


@pytest.mark.parametrize("confident", ["tag_nlp"], indirect=True)
def test_token_confidence_is_the_marginal_of_the_predicted_tag(confident):
    head = confident.get_pipe("xfer_tagger")
    doc = confident("They eat green ham")
    sequences = every_sequence(head, doc)
    assert [token.tag_ for token in doc] == sequences[0][0]
    for i, token in enumerate(doc):
        expected = sum(p for labels, p in sequences if labels[i] == token.tag_)
        assert 0.0 < token._.xfer_tagger_confidence <= 1.0
        assert token._.xfer_tagger_confidence == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("confident", ["tag_nlp", "ner_nlp"], indirect=True)
def test_annotation_kept_instead_of_the_prediction_has_no_confidence(confident):
    """With `overwrite` off a doc's own annotation is kept; the CRF's marginal of the
    prediction it replaced would describe a label the token does not carry. So would
    that of a predicted span left out for overlapping a kept one."""
    text = "Anna visited New York today"
    alone = confident(text)
    doc = confident.make_doc(text)
    if confident.get_pipe("xfer_tagger").cfg["target"] == "tag":
        doc[0].tag_, not_predicted = "XX", {0}
    else:
        doc.ents, not_predicted = [doc.char_span(13, 21, label="MISC")], {2, 3}
        for span in alone.ents:  # predicted spans that overlap the kept one are left out
            if span.start < 4 and span.end > 2:
                not_predicted.update(range(span.start, span.end))
    doc = confident(doc)
    assert doc[0].tag_ == "XX" or [(e.start, e.end, e.label_) for e in doc.ents if e.start == 2] == [(2, 4, "MISC")]
    for token, predicted in zip(doc, alone):
        if token.i in not_predicted:
            assert math.isnan(token._.xfer_tagger_confidence)
        else:
            assert token._.xfer_tagger_confidence == pytest.approx(predicted._.xfer_tagger_confidence, abs=1e-6)


def test_span_group_target_gets_scores_in_its_group():
    nlp = trained("spans:sc", NER_DATA)
    plain = [[(s.start, s.end, s.label_) for s in doc.spans["sc"]] for doc in nlp.pipe(TEXTS)]
    nlp.get_pipe("xfer_tagger").confidence = True
    docs = list(nlp.pipe(TEXTS))
    assert [[(s.start, s.end, s.label_) for s in doc.spans["sc"]] for doc in docs] == plain
    for doc in docs:
        scores = doc.spans["sc"].attrs["scores"]
        assert len(scores) == len(doc.spans["sc"])
        assert all(0.0 < score <= 1.0 for score in scores)
        assert "xfer_tagger" not in doc.spans


def test_confidence_off_pays_nothing_and_writes_nothing(ner_nlp, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("forward-backward ran with confidence off")

    monkeypatch.setattr(CRFScores, "forward_backward", refuse)
    head = ner_nlp.get_pipe("xfer_tagger")
    assert isinstance(head.predict([ner_nlp.make_doc(TEXTS[0])]), list)
    doc = ner_nlp(TEXTS[0])
    assert "xfer_tagger" not in doc.spans
    assert not doc.user_data


def test_confidence_is_switched_on_when_loading(ner_nlp, tmp_path):
    ner_nlp.to_disk(tmp_path / "model")
    expected = [(e.start, e.end, e.label_) for e in ner_nlp(TEXTS[0]).ents]
    loaded = spacy.load(tmp_path / "model", config={"components": {"xfer_tagger": {"confidence": True}}})
    doc = loaded(TEXTS[0])
    assert [(e.start, e.end, e.label_) for e in doc.ents] == expected
    assert len(doc.spans["xfer_tagger"].attrs["scores"]) == len(expected)
    assert all(token._.xfer_tagger_confidence is not None for token in doc)
    assert spacy.load(tmp_path / "model").get_pipe("xfer_tagger").confidence is False


def test_empty_doc_with_confidence(ner_nlp):
    head = ner_nlp.get_pipe("xfer_tagger")
    head.confidence = True
    try:
        doc = ner_nlp("")
    finally:
        head.confidence = False
    assert len(doc.spans["xfer_tagger"]) == 0
    assert len(doc.spans["xfer_tagger"].attrs["scores"]) == 0


def test_nbest_ranks_sequences_and_gives_the_sequence_entropy(ner_nlp):
    head = ner_nlp.get_pipe("xfer_tagger")
    docs = [ner_nlp(text) for text in TEXTS] + [ner_nlp("")]
    best = head.nbest([ner_nlp.make_doc(text) for text in TEXTS + [""]], 3, entropy=True)
    for doc, result in zip(docs, best):
        assert result.labels[0] == head.target.read(doc)
        assert result.log_probs == sorted(result.log_probs, reverse=True)
    for text, result in zip(TEXTS[:2], best):
        sequences = every_sequence(head, ner_nlp.make_doc(text))
        assert [labels for labels, _ in sequences[:3]] == result.labels
        entropy = -sum(p * math.log(p) for _, p in sequences if p > 0)
        assert result.entropy == pytest.approx(entropy, abs=1e-6)
    assert best[-1].labels == [[]] and best[-1].entropy == 0.0
    for k in (0, 2.5, True):  # not a torch error deep inside
        with pytest.raises(ValueError, match=r"\[E038\] .*an integer k >= 1"):
            head.nbest(docs, k)


def test_confidences_of_docs_predicted_in_other_processes_can_be_read(ner_nlp, tmp_path):
    """With `n_process`, the children predict and write the values to the docs' user
    data; the parent, which never predicted, must have the extension registered."""
    ner_nlp.to_disk(tmp_path / "model")
    if Token.has_extension("xfer_tagger_confidence"):  # registered by the tests before
        Token.remove_extension("xfer_tagger_confidence")
    loaded = spacy.load(tmp_path / "model", config={"components": {"xfer_tagger": {"confidence": True}}})
    docs = list(loaded.pipe(TEXTS, n_process=2))
    got = [token._.xfer_tagger_confidence for doc in docs for token in doc]
    expected = [token._.xfer_tagger_confidence for doc in loaded.pipe(TEXTS) for token in doc]
    assert got == pytest.approx(expected)
