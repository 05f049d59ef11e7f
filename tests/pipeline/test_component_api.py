"""`xfer_tagger`'s options shared with spaCy's own pipes: `overwrite` (existing
annotation is kept unless asked) and a registered `scorer`."""

import pytest
import spacy
from spacy.tokens import Span

from ..util import NER_DATA, TAG_DATA, examples_for, tiny_tagger, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A trained tag head and a trained ents head, saved."""
    root = tmp_path_factory.mktemp("trained")
    for target, data in (("tag", TAG_DATA), ("ents", NER_DATA)):
        nlp = tiny_tagger(target)
        train(nlp, examples_for(nlp, data, target), steps=40)
        nlp.to_disk(root / target)
    return root


@pytest.mark.parametrize("overwrite", [False, True])
def test_existing_tags_are_kept_unless_overwrite(trained, overwrite):
    nlp = spacy.load(trained / "tag", config={"components": {"xfer_tagger": {"overwrite": overwrite}}})
    fresh = [token.tag_ for token in nlp("I like green eggs")]
    doc = nlp.make_doc("I like green eggs")
    doc[1].tag_ = "XX"
    tags = [token.tag_ for token in nlp(doc)]
    assert tags == (fresh if overwrite else [fresh[0], "XX", *fresh[2:]])


@pytest.mark.parametrize("overwrite", [False, True])
def test_existing_entities_are_kept_unless_overwrite(trained, overwrite):
    nlp = spacy.load(trained / "ents", config={"components": {"xfer_tagger": {"overwrite": overwrite}}})
    text = "Anna lives in New York"
    fresh = [(ent.start, ent.end, ent.label_) for ent in nlp(text).ents]
    assert fresh  # the head found entities, so keeping the preset one changes something
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, 2, 3, label="MISC")]
    got = [(ent.start, ent.end, ent.label_) for ent in nlp(doc).ents]
    if overwrite:
        assert got == fresh
    else:
        expected = sorted([(2, 3, "MISC")] + [ent for ent in fresh if ent[1] <= 2 or ent[0] >= 3])
        assert got == expected


@spacy.registry.scorers("xfer_test.count_scorer.v1")
def make_count_scorer():
    def score(examples, *, target, name, **kwargs):
        return {f"{name}_docs": len(list(examples)), "target": target.standard_attr}

    return score


def test_registered_scorer_replaces_the_default():
    nlp = tiny_tagger("tag", scorer={"@scorers": "xfer_test.count_scorer.v1"})
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    scores = nlp.evaluate(examples)
    assert scores["xfer_tagger_docs"] == len(examples) and scores["target"] == "tag"
    assert "tag_acc" not in scores
