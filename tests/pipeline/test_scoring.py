"""Span scores of an `xfer_tagger` head equal conlleval's on the same data.

The expected numbers were computed by hand with conlleval's rules: a chunk is correct
when the gold and guessed chunks start and end at the same tokens with the same type;
precision = correct / guessed chunks, recall = correct / gold chunks, F1 their harmonic
mean. Gold and guessed tags below are IOB1 (CoNLL 2003 style) and read as conlleval
reads them (`chunks_from_tags`)."""

import pytest
from spacy.tokens import Doc
from spacy.training import Example

from ..util import gold_doc, spans_of, tiny_tagger

# (words, gold IOB1, guessed IOB1)
SENTENCES = [
    # gold: PER(0-2) PER(2-3) [B- after I- of the same type]; guess: PER(0-3) -> 0 correct of 1 guessed
    ("Anna Bell Carl went".split(), ["I-PER", "I-PER", "B-PER", "O"], ["I-PER", "I-PER", "I-PER", "O"]),
    # gold: LOC(1-2); guess: LOC(1-2) (I- after O opens a chunk) -> 1 correct
    ("in Paris now".split(), ["O", "I-LOC", "O"], ["O", "I-LOC", "O"]),
    # gold: ORG(0-2) MISC(3-4); guess: ORG(0-1) ORG(1-2) [type kept, B- splits] MISC(3-4) -> 1 correct of 3
    ("Acme Corp sells Xbox".split(), ["I-ORG", "I-ORG", "O", "I-MISC"], ["I-ORG", "B-ORG", "O", "I-MISC"]),
    # gold: PER(0-1) LOC(1-2) [type change ends a chunk]; guess: nothing -> 0 of 0 guessed
    ("Bob Rome".split(), ["I-PER", "I-LOC"], ["O", "O"]),
]
# gold chunks: 2 + 1 + 2 + 2 = 7; guessed: 1 + 1 + 3 + 0 = 5; correct: 0 + 1 + 1 + 0 = 2
EXPECTED = {"p": 2 / 5, "r": 2 / 7, "f": 2 * (2 / 5) * (2 / 7) / (2 / 5 + 2 / 7)}
# per type: PER gold 3 guessed 1 correct 0; LOC gold 2 guessed 1 correct 1;
# ORG gold 1 guessed 2 correct 0; MISC gold 1 guessed 1 correct 1
EXPECTED_PER_TYPE = {
    "PER": (0.0, 0.0),
    "LOC": (1.0, 0.5),
    "ORG": (0.0, 0.0),
    "MISC": (1.0, 1.0),
}


@pytest.mark.parametrize("target", ["ents", "spans:chunks"])
def test_span_scores_equal_conlleval(target):
    nlp = tiny_tagger(target)
    head = nlp.get_pipe("xfer_tagger")
    examples = []
    for words, gold, guess in SENTENCES:
        reference, predicted = Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words)
        if target == "ents":
            reference.set_ents(spans_of(reference, gold), default="outside")
            predicted.set_ents(spans_of(predicted, guess), default="outside")
        else:
            reference.spans["chunks"] = spans_of(reference, gold)
            predicted.spans["chunks"] = spans_of(predicted, guess)
        examples.append(Example(predicted, reference))
    scores = head.score(examples)
    for key, value in EXPECTED.items():
        assert scores[f"xfer_tagger_{key}"] == pytest.approx(value)
    assert scores["xfer_tagger_score"] == pytest.approx(EXPECTED["f"])
    for kind, (precision, recall) in EXPECTED_PER_TYPE.items():
        assert scores["xfer_tagger_per_type"][kind]["p"] == pytest.approx(precision)
        assert scores["xfer_tagger_per_type"][kind]["r"] == pytest.approx(recall)


@pytest.mark.parametrize(
    "target,gold,guess",
    [
        ("tag", ["X", "Y", "", "Z"], ["X", "N", "N", "Z"]),
        ("pos", ["NOUN", "VERB", "", "ADJ"], ["NOUN", "ADV", "ADV", "ADJ"]),
        ("ext:chunk", ["X", "Y", None, "Z"], ["X", "N", "N", "Z"]),
    ],
)
def test_token_accuracy_ignores_missing_gold(target, gold, guess):
    """Tags and POS are read from the docs' arrays, extensions token by token: the
    same accuracy either way, the token without a gold value not counted."""
    nlp = tiny_tagger(target)
    head = nlp.get_pipe("xfer_tagger")
    text = "a b c d"
    examples = [Example(gold_doc(nlp, text, guess, target), gold_doc(nlp, text, gold, target))]
    assert head.score(examples)["xfer_tagger_acc"] == pytest.approx(2 / 3)


def test_token_accuracy_counts_only_one_to_one_aligned_tokens():
    """Predicted tokens that differ from the reference's are scored through the
    alignment: a token spanning two gold tokens counts for neither."""
    nlp = tiny_tagger("tag")
    head = nlp.get_pipe("xfer_tagger")
    reference = Doc(nlp.vocab, words=["New", "York", "is", "big"], tags=["NNP", "NNP", "VBZ", "JJ"])
    predicted = Doc(nlp.vocab, words=["New York", "is", "big"], spaces=[True, True, False], tags=["NNP", "VBZ", "NN"])
    # gold tokens with a tag: 4; predicted one-to-one: "is" (right), "big" (wrong)
    # -> precision 1/2, recall 1/4, and the accuracy key is their F1 as in spaCy's scorer
    precision, recall = 1 / 2, 1 / 4
    expected = 2 * precision * recall / (precision + recall)
    assert head.score([Example(predicted, reference)])["xfer_tagger_acc"] == pytest.approx(expected)
