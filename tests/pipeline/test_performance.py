"""A saved pipeline's meta.json lists the scores its components report, not 0.0 for the
standard keys of targets no head has (`spacy_xfer.reported_performance.v1`)."""

import spacy
from spacy.training.loop import update_meta
from spacy.util import registry

from ..util import tiny_model

CALLBACK = "spacy_xfer.reported_performance.v1"


def saved_performance(nlp, scores):
    """`meta["performance"]` as spaCy's training loop writes it before saving a checkpoint
    (`update_meta` with the last evaluation's scores), then as the callback leaves it."""
    update_meta(nlp.config["training"], nlp, {"other_scores": scores, "losses": {name: 1.5 for name in nlp.pipe_names}})
    written = dict(nlp.meta["performance"])
    kept = registry.callbacks.get(CALLBACK)()(nlp).meta["performance"]
    return written, kept


def test_an_entity_head_saves_its_entity_scores_and_no_tag_accuracy():
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="ner", config={"target": "ents", "model": tiny_model()})
    scores = {"ner_score": 0.5, "ner_f": 0.5, "ner_p": 0.4, "ner_r": 0.6, "ents_f": 0.5, "ents_p": 0.4, "ents_r": 0.6,
              "ents_per_type": {"PER": {"p": 0.4, "r": 0.6, "f": 0.5}}}
    written, kept = saved_performance(nlp, scores)
    assert written["tag_acc"] == 0.0 and written["pos_acc"] == 0.0  # spaCy's loop fills in what no head scored
    assert kept == {"ents_f": 0.5, "ents_p": 0.4, "ents_r": 0.6, "ents_per_type": scores["ents_per_type"], "ner_loss": 1.5}


def test_keys_other_components_report_stay_and_a_secondary_heads_standard_keys_go():
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="tagger", config={"target": "tag", "model": tiny_model()})
    nlp.add_pipe("ner")  # spaCy's own, which reports ents_*
    nlp.add_pipe("xfer_tagger", name="chunks", config={"target": "pos", "primary": False, "model": tiny_model()})
    written, kept = saved_performance(nlp, {"tag_acc": 0.9, "ents_f": 0.7, "chunks_acc": 0.8})
    assert "pos_acc" in written
    assert kept["tag_acc"] == 0.9 and kept["ents_f"] == 0.7 and "pos_acc" not in kept
    assert {"tagger_loss", "ner_loss", "chunks_loss"} <= set(kept)

