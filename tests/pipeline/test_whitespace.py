"""Whitespace-only tokens: token targets tag and score them like any token; span
targets never start or end a span on one (spaCy's convention), in gold, predictions
and scores. Every expected score below is counted by hand."""

import pytest
from spacy.tokens import Doc, Span
from spacy.training import Example

from ..util import tiny_tagger

WORDS = ["Ann", " ", "sings"]


def token_doc(nlp, target, labels):
    doc = Doc(nlp.vocab, words=WORDS)
    for token, label in zip(doc, labels):
        if target == "tag":
            token.tag_ = label
        elif target == "pos":
            token.pos_ = label
        else:
            token._.set(target.split(":", 1)[1], label)
    return doc


@pytest.mark.parametrize(
    "target,gold,wrong",
    [
        ("tag", ["NNP", "_SP", "VBZ"], ["NNP", "NNP", "VBZ"]),
        ("pos", ["PROPN", "SPACE", "VERB"], ["PROPN", "SPACE", "NOUN"]),
        ("ext:xfer_ws_label", ["NNP", "_SP", "VBZ"], ["VBZ", "NNP", "VBZ"]),
    ],
)
def test_token_accuracy_counts_whitespace_tokens_on_both_sides(target, gold, wrong):
    nlp = tiny_tagger(target)
    head = nlp.get_pipe("xfer_tagger")
    reference = token_doc(nlp, target, gold)
    right = head.score([Example(token_doc(nlp, target, gold), reference)])
    assert right["xfer_tagger_acc"] == 1.0  # spaCy's score_token_attr gives 0.8
    # independent count: tokens whose predicted label equals the gold label
    n_right = sum(p == g for p, g in zip(wrong, gold))
    scores = head.score([Example(token_doc(nlp, target, wrong), reference)])
    assert scores["xfer_tagger_acc"] == pytest.approx(n_right / len(gold))


def put_spans(doc, target, chunks):
    spans = [Span(doc, start, end, label=label) for start, end, label in chunks]
    if target == "ents":
        doc.set_ents(spans, default="outside")
    else:
        doc.spans["chunks"] = spans


# gold "Ann Lee" includes an inner whitespace token; "Paris" is annotated with the
# whitespace token after it (trimmed to "Paris"); the whitespace-only span is dropped.
SPAN_WORDS = ["Ann", " ", "Lee", "sings", " ", "in", "Paris", " ", "!", " "]
GOLD = [(0, 3, "PER"), (6, 8, "LOC"), (9, 10, "MISC")]
GUESS = [(0, 1, "PER"), (6, 7, "LOC")]


@pytest.mark.parametrize("target", ["ents", "spans:chunks"])
def test_span_scores_equal_a_count_on_trimmed_spans(target):
    nlp = tiny_tagger(target)
    head = nlp.get_pipe("xfer_tagger")
    reference, predicted = Doc(nlp.vocab, words=SPAN_WORDS), Doc(nlp.vocab, words=SPAN_WORDS)
    put_spans(reference, target, GOLD)
    put_spans(predicted, target, GUESS)
    scores = head.score([Example(predicted, reference)])
    # trimmed gold: PER(0,3), LOC(6,7); guessed: PER(0,1), LOC(6,7) -> 1 of 2 and 1 of 2
    assert scores["xfer_tagger_p"] == pytest.approx(0.5)
    assert scores["xfer_tagger_r"] == pytest.approx(0.5)
    assert scores["xfer_tagger_per_type"]["LOC"]["f"] == pytest.approx(1.0)
    assert scores["xfer_tagger_per_type"]["PER"]["f"] == pytest.approx(0.0)


@pytest.mark.parametrize("target", ["ents", "spans:chunks"])
def test_no_span_starts_or_ends_on_whitespace(target):
    nlp = tiny_tagger(target)
    reference = Doc(nlp.vocab, words=SPAN_WORDS)
    put_spans(reference, target, GOLD)
    nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=SPAN_WORDS), reference)])
    head = nlp.get_pipe("xfer_tagger")
    # gold for training: trimmed, the whitespace tokens cut from spans are O
    gold = head.target.gold(Example(Doc(nlp.vocab, words=SPAN_WORDS), reference))
    assert gold == ["B-PER", "I-PER", "L-PER", "O", "O", "O", "U-LOC", "O", "O", "O"]
    # predictions: a decoded B/L/U on a whitespace token is trimmed off when written
    index = {label: i for i, label in enumerate(head.crf_labels)}
    for labels, expected in [
        (["B-PER", "L-PER", "O"], [(0, 1, "PER")]),
        (["O", "U-PER", "O"], []),
        (["O", "B-PER", "L-PER"], [(2, 3, "PER")]),
        (["B-PER", "I-PER", "L-PER"], [(0, 3, "PER")]),
    ]:
        doc = Doc(nlp.vocab, words=WORDS)
        head.set_annotations([doc], [[index[label] for label in labels]])
        spans = doc.ents if target == "ents" else doc.spans["chunks"]
        assert [(s.start, s.end, s.label_) for s in spans] == expected


def test_reference_ner_is_spacys_aligned_ner_on_the_same_tokens():
    import random

    import spacy

    from spacy_xfer.pipeline.targets import reference_ner

    nlp = spacy.blank("en")
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 9)
        words = [rng.choice(["a", "Bob", " ", "\n", "York", "."]) for _ in range(n)]
        # IOB2 with missing tokens ("" / "-"), entities over whitespace tokens included
        ents, i = [], 0
        while i < n:
            kind = rng.random()
            if kind < 0.3:
                length = rng.randint(1, n - i)
                label = rng.choice(["PER", "LOC"])
                ents += [f"B-{label}"] + [f"I-{label}"] * (length - 1)
                i += length
            else:
                ents.append("O" if kind < 0.8 else "")
                i += 1
        doc = Doc(nlp.vocab, words=words, ents=[tag or None for tag in ents])
        eg = Example(Doc(nlp.vocab, words=words), doc)
        assert reference_ner(doc) == eg.get_aligned_ner(), (words, ents)
