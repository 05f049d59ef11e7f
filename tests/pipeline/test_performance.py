"""A saved pipeline's meta.json lists the scores its last evaluation reported, not 0.0
for the keys nobody scored (`spacy_xfer.reported_performance.v1`)."""

import spacy
from spacy.training.loop import update_meta
from spacy.util import registry

from spacy_xfer.pipeline.performance import CALLBACK
from spacy_xfer.pipeline.xfer_tagger import DEFAULT_SCORE_WEIGHTS
from spacy_xfer.tasks import TASK_KEY

from ..util import examples_for, tiny_model

ENTS = [("Anna lives in Paris", ["B-PER", "O", "O", "B-LOC"]), ("Bob likes Rome", ["B-PER", "O", "B-LOC"])]
TAGS = [("Anna lives in Paris", ["NNP", "VBZ", "IN", "NNP"]), ("Bob likes Rome", ["NNP", "VBZ", "NNP"])]
# a T-B config's weights: the target's score selects, the source's is shown, spaCy's keys are off
T_B_WEIGHTS = {**{key: None for key in DEFAULT_SCORE_WEIGHTS}, "target_score": 1.0, "source_score": 0.0}


def saved_performance(nlp, scores):
    """`meta["performance"]` as spaCy's training loop writes it before saving a checkpoint
    (`update_meta` with the last evaluation's scores, None scores dropped as the loop
    drops them), and as the callback leaves it."""
    reported = {key: value for key, value in scores.items() if value is not None}
    update_meta(nlp.config["training"], nlp, {"other_scores": reported, "losses": {}})
    written = dict(nlp.meta["performance"])
    kept = registry.callbacks.get(CALLBACK["@callbacks"])()(nlp).meta["performance"]
    return written, kept


def marked(examples, task):
    for eg in examples:
        eg.reference.user_data[TASK_KEY] = task
    return examples


def evaluated_tag_head():
    """A pipeline of one primary tag head, initialized and evaluated on TAGS; RETURNS
    (nlp, the scores)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="tagger", config={"target": "tag", "model": tiny_model()})
    examples = examples_for(nlp, TAGS, "tag")
    nlp.initialize(lambda: examples)
    return nlp, nlp.evaluate(examples)


def test_a_t_b_pipeline_saves_the_targets_entity_scores_and_nothing_of_an_unscored_source():
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="source", config={"target": "tag", "task": "source", "primary": False, "model": tiny_model()})
    nlp.add_pipe("xfer_tagger", name="target", config={"target": "ents", "task": "target", "model": tiny_model()})
    nlp.config["training"]["score_weights"] = T_B_WEIGHTS
    target = marked(examples_for(nlp, ENTS, "ents"), "target")
    nlp.initialize(lambda: marked(examples_for(nlp, TAGS, "tag"), "source") + target)
    # the dev set of the target alone, as T-B's default dev reader gives it
    scores = nlp.evaluate(target)
    written, kept = saved_performance(nlp, scores)
    assert written["tag_acc"] == written["pos_acc"] == written["source_score"] == 0.0  # what no head scored
    assert kept == {key: scores[key] for key in ("target_score", "ents_f", "ents_p", "ents_r", "ents_per_type")}


def test_keys_other_scoring_components_may_report_stay():
    nlp, scores = evaluated_tag_head()
    nlp.add_pipe("ner")  # spaCy's own: its factory declares the ents_* keys
    _, kept = saved_performance(nlp, {**scores, "ents_f": 0.7})
    assert kept["tag_acc"] == scores["tag_acc"] and kept["ents_f"] == 0.7 and "pos_acc" not in kept
    # spaCy's attribute_ruler declares no keys but scores POS and tags: every key stays
    nlp.add_pipe("attribute_ruler")
    _, kept = saved_performance(nlp, {**scores, "pos_acc": 0.5})
    assert kept["pos_acc"] == 0.5


def test_only_the_zeros_spacy_fills_in_are_dropped():
    nlp, scores = evaluated_tag_head()
    # a measured score the heads' last evaluation did not give (they scored other data since) stays
    _, kept = saved_performance(nlp, {**scores, "pos_acc": 0.5})
    assert kept["pos_acc"] == 0.5 and "ents_f" not in kept
