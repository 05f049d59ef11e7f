"""Several heads in one pipeline: model selection whatever the heads are called, spaCy's
standard score keys in `spacy evaluate`, and one writer per target (`primary`)."""

import pytest
import spacy
from spacy.cli.evaluate import evaluate
from spacy.tokens import DocBin
from spacy.training.loop import create_evaluation_callback
from spacy.util import fix_random_seed, load_model_from_config

from spacy_xfer.experiments.compare import compare_pipelines
from spacy_xfer.experiments.steps import evaluate_pipeline
from spacy_xfer.tasks import TASK_KEY

from .test_sharing import ENCODERS
from ..util import NER_DATA, TAG_DATA, examples_for, tiny_model, train


def two_heads(pos_target: str = "tag", ner_target: str = "ents"):
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", name="pos_head", config={"target": pos_target, "model": tiny_model()})
    nlp.add_pipe("xfer_tagger", name="ner_head", config={"target": ner_target, "model": tiny_model()})
    return nlp


def both_tasks(nlp, pos_target: str = "tag", ner_target: str = "ents"):
    return examples_for(nlp, TAG_DATA, pos_target) + examples_for(nlp, NER_DATA, ner_target)


def test_filled_config_selects_on_renamed_heads_scores():
    config = two_heads().config
    weights = config["training"]["score_weights"]
    assert "xfer_tagger_score" not in weights
    nlp = load_model_from_config(config, auto_fill=True)
    examples = both_tasks(nlp)
    train(nlp, examples, steps=20)
    score, scores = create_evaluation_callback(nlp, lambda _: examples, nlp.config["training"]["score_weights"])()
    assert scores["tag_acc"] == scores["pos_head_acc"] and scores["ents_f"] == scores["ner_head_f"]
    assert score == pytest.approx(weights["tag_acc"] * scores["tag_acc"] + weights["ents_f"] * scores["ents_f"])
    assert score > 0


def test_training_with_no_reported_weighted_key_stops_at_initialize(tmp_path):
    targets = ("ext:xfer_pos", "spans:chunks")  # no standard key among the defaults
    config = two_heads(*targets).config
    config["paths"]["dev"] = str(tmp_path / "dev.spacy")  # as `spacy train` is given
    nlp = load_model_from_config(config, auto_fill=True)
    with pytest.raises(ValueError, match="E013.*ents_f, pos_acc, tag_acc.*pos_head_score.*ner_head_score = 1.0"):
        nlp.initialize(lambda: both_tasks(nlp, *targets))
    config["training"]["score_weights"]["ner_head_score"] = 1.0
    nlp = load_model_from_config(config, auto_fill=True)
    nlp.initialize(lambda: both_tasks(nlp, *targets))


def test_spacy_evaluate_prints_the_heads_scores(tmp_path, capfd):
    nlp = two_heads()
    examples = both_tasks(nlp)
    train(nlp, examples, steps=5)
    nlp.to_disk(tmp_path / "nlp")
    DocBin(docs=[eg.reference for eg in examples]).to_disk(tmp_path / "test.spacy")
    scores = evaluate(str(tmp_path / "nlp"), tmp_path / "test.spacy", silent=False)
    table = capfd.readouterr().out
    for row, key in (("TAG", "tag_acc"), ("NER P", "ents_p"), ("NER R", "ents_r"), ("NER F", "ents_f")):
        assert row in table and key in scores


def t_b(order, primary_target=True):
    """A T-B pipeline: both heads NER, the source head not primary."""
    encoder, listener = ENCODERS["t_b"]
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    for name in order:
        model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": listener}
        primary = primary_target if name == "target" else False
        nlp.add_pipe("xfer_tagger", name=name, config={"target": "ents", "task": name, "model": model, "primary": primary})
    return nlp


def task_data(nlp):
    source = examples_for(nlp, NER_DATA, "ents")
    target = examples_for(nlp, [(text, [t.replace("PER", "PERSON") for t in tags]) for text, tags in NER_DATA], "ents")
    for task, examples in (("source", source), ("target", target)):
        for eg in examples:
            eg.reference.user_data[TASK_KEY] = task
    return source, target


@pytest.mark.parametrize("order", [["source", "target"], ["target", "source"]])
def test_target_head_owns_doc_ents_whatever_the_order(order, tmp_path):
    fix_random_seed(0)
    nlp = t_b(order)
    source, target = task_data(nlp)
    train(nlp, source + target, steps=60)
    doc = nlp("Anna lives in New York")
    assert {ent.label_ for ent in doc.ents} <= {"PERSON", "LOC"} and doc.ents
    assert {span.label_ for span in doc.spans["source"]} <= {"PER", "LOC"} and len(doc.spans["source"])
    assert not any(str(key).startswith("xfer_tagger:") for key in doc.user_data)
    # each head is scored on its own task, from its own output
    for task, examples in (("source", source), ("target", target)):
        DocBin(docs=[eg.reference for eg in examples], store_user_data=True).to_disk(tmp_path / f"{task}.spacy")
    results = evaluate_pipeline(nlp, {task: tmp_path / f"{task}.spacy" for task in ("source", "target")})
    assert results["source"]["scores"]["source_f"] == 1.0
    assert results["target"]["scores"]["target_f"] == 1.0
    # `compare` scores the target head alone on the target's test set, as `evaluate` does
    plain = spacy.blank("en")
    plain.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Anna"}])
    with pytest.warns(UserWarning, match="W004"):  # four docs
        compared = compare_pipelines(nlp, plain, ["tb", "plain"], tmp_path / "target.spacy", resamples=100)
    assert compared["target"] == "ents" and compared["score_a"] == 1.0 and 0 < compared["score_b"] < 1


def test_two_primary_heads_of_one_target_stop_at_initialize():
    nlp = t_b(["source", "target"])
    nlp.get_pipe("source").cfg["primary"] = True
    with pytest.raises(ValueError, match="E012.*'source' and 'target' both write 'ents'.*primary = false"):
        nlp.initialize(lambda: sum(task_data(nlp), []))
    ner = spacy.blank("en")
    ner.add_pipe("ner")
    ner.add_pipe("xfer_tagger", config={"target": "ents", "model": tiny_model()})
    with pytest.raises(ValueError, match="E012.*'xfer_tagger' and 'ner'"):
        ner.initialize(lambda: examples_for(ner, NER_DATA, "ents"))
