"""A missing or corrupt part of a saved `xfer_tagger` or `xfer_encoder` fails at load,
naming the file (from disk) or the field (from bytes), never at the first doc."""

import re
import shutil

import pytest
import spacy
import srsly
from spacy.lang.en import English
from spacy.tokens import Doc
from spacy.training import Example

from ..util import NER_DATA, TAG_DATA, examples_for, tiny_tagger, train
from .test_sharing import make_nlp, pos_examples


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained tagger and a trained shared-encoder pipeline, saved."""
    tagger = tiny_tagger("tag")
    train(tagger, examples_for(tagger, TAG_DATA, "tag"), steps=2)
    shared = make_nlp("t_b", ["pos_head"])
    shared.initialize(lambda: pos_examples(shared))
    root = tmp_path_factory.mktemp("saved")
    tagger.to_disk(root / "tagger")
    shared.to_disk(root / "shared")
    return root


def copy_of(saved, name, tmp_path):
    path = tmp_path / name
    shutil.copytree(saved / name, path)
    return path


@pytest.mark.parametrize("pipeline,component,part", [
    ("tagger", "xfer_tagger", "cfg"),
    ("tagger", "xfer_tagger", "model"),
    ("shared", "encoder", "cfg"),
    ("shared", "encoder", "model"),
])
def test_missing_part_fails_at_load_naming_the_file(saved, tmp_path, pipeline, component, part):
    path = copy_of(saved, pipeline, tmp_path)
    (path / component / part).unlink()
    with pytest.raises(ValueError, match=f"E014.*'{component}'.*{re.escape(str(path / component / part))}"):
        spacy.load(path)


@pytest.mark.parametrize("pipeline,component,part,content", [
    ("tagger", "xfer_tagger", "cfg", b"{"),
    ("tagger", "xfer_tagger", "cfg", b"[1, 2]"),
    ("tagger", "xfer_tagger", "model", b"\x00 not a model"),
    ("shared", "encoder", "model", b"\x93garbage"),
])
def test_corrupt_part_fails_at_load_naming_the_file(saved, tmp_path, pipeline, component, part, content):
    path = copy_of(saved, pipeline, tmp_path)
    (path / component / part).write_bytes(content)
    with pytest.raises(ValueError, match=f"E015.*'{component}'.*{re.escape(str(path / component / part))}"):
        spacy.load(path)


def test_labels_that_do_not_fit_the_model_fail_at_load(saved, tmp_path):
    path = copy_of(saved, "tagger", tmp_path)
    cfg = srsly.read_json(path / "xfer_tagger" / "cfg")
    cfg["labels"] = cfg["labels"][:-1]
    srsly.write_json(path / "xfer_tagger" / "cfg", cfg)
    with pytest.raises(ValueError, match="E015.*cfg.*labels give"):
        spacy.load(path)


@pytest.mark.parametrize("pipeline,component", [("tagger", "xfer_tagger"), ("shared", "encoder")])
@pytest.mark.parametrize("part", ["cfg", "model"])
def test_missing_field_fails_from_bytes(saved, pipeline, component, part):
    nlp = spacy.load(saved / pipeline)
    data = srsly.msgpack_loads(nlp.get_pipe(component).to_bytes())
    del data[part]
    fresh = English.from_config(nlp.config)
    with pytest.raises(ValueError, match=f"E014.*'{component}'.*field '{part}'"):
        fresh.get_pipe(component).from_bytes(srsly.msgpack_dumps(data))


@pytest.mark.parametrize("pipeline,component,how", [
    ("tagger", "xfer_tagger", "loaded"), ("shared", "encoder", "loaded"), ("tagger", "xfer_tagger", "initialized"),
])
def test_a_load_that_fails_leaves_the_component_as_it_was(saved, pipeline, component, how):
    """Other labels and a model whose last node is corrupt: E015, and the component
    keeps its own labels and weights (thinc loads node by node, so without the undo
    every node before the corrupt one would hold the other model's weights)."""
    if how == "loaded":
        nlp = spacy.load(saved / pipeline)
    else:
        nlp = tiny_tagger("tag")
        train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=2)
    pipe = nlp.get_pipe(component)
    before_cfg, before_bytes = dict(pipe.cfg), pipe.to_bytes()
    texts = ["Eat blue ham", "The dog runs"]
    before = [[(t.tag_, t.pos_) for t in doc] for doc in nlp.pipe(texts)]
    data = srsly.msgpack_loads(before_bytes)
    cfg = srsly.json_loads(data["cfg"])
    cfg["labels"] = [label.lower() for label in cfg.get("labels", [])]
    model = srsly.msgpack_loads(data["model"])
    model["params"] = [{name: value * 2 for name, value in params.items()} for params in model["params"]]
    model["shims"][-1][0] = b"garbage"
    other = srsly.msgpack_dumps({**data, "cfg": srsly.json_dumps(cfg), "model": srsly.msgpack_dumps(model)})
    with pytest.raises(ValueError, match=f"E015.*'{component}'.*field 'model'"):
        pipe.from_bytes(other)
    assert pipe.cfg == before_cfg and srsly.msgpack_loads(pipe.to_bytes())["model"] == data["model"]
    assert [[(t.tag_, t.pos_) for t in doc] for doc in nlp.pipe(texts)] == before


def test_empty_labels_with_a_trained_model_fail_at_load(saved, tmp_path):
    path = copy_of(saved, "tagger", tmp_path)
    cfg = srsly.read_json(path / "xfer_tagger" / "cfg")
    srsly.write_json(path / "xfer_tagger" / "cfg", {**cfg, "labels": []})
    with pytest.raises(ValueError, match="E015.*cfg.*non-empty list of labels .*model with outputs"):
        spacy.load(path)


@pytest.mark.parametrize("target,gold", [("ents", {"ents": ["O", "O"]}), ("tag", {"tags": ["VB", "NN"]})])
def test_update_before_initialize_says_so(target, gold):
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger", config={"target": target})
    example = Example(nlp.make_doc("eat ham"), Doc(nlp.vocab, words=["eat", "ham"], **gold))
    with pytest.raises(ValueError, match=r"\[E109\] Component 'xfer_tagger' could not be run.*initialize"):
        nlp.update([example])


def test_a_pipeline_saved_before_initialize_loads_refuses_to_run_and_trains(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_tagger")
    with pytest.raises(ValueError, match=r"\[E109\] Component 'xfer_tagger' could not be run"):
        nlp("eat ham")
    with_label = spacy.blank("en")
    with_label.add_pipe("xfer_tagger").add_label("XX")  # labels, but no sized CRF yet
    with pytest.raises(ValueError, match=r"\[E109\] Component .* could not be run"):
        with_label("eat ham")
    with pytest.raises(ValueError, match=r"\[E109\] Component .* could not be run"):
        nlp.get_pipe("xfer_tagger").nbest([nlp.make_doc("eat ham")], 2)
    nlp.to_disk(tmp_path / "blank")  # as spaCy's own components allow
    loaded = spacy.load(tmp_path / "blank")
    assert loaded.get_pipe("xfer_tagger").labels == ()
    loaded.initialize(lambda: examples_for(loaded, TAG_DATA, "tag"))
    assert loaded.get_pipe("xfer_tagger").labels and len(loaded("eat ham")) == 2


def test_labels_added_before_initialize_are_kept():
    nlp = spacy.blank("en")
    tagger = nlp.add_pipe("xfer_tagger")
    tagger.add_label("XX")
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    assert set(tagger.labels) == {tag for _, tags in TAG_DATA for tag in tags} | {"XX"}


def test_span_labels_given_at_initialize_are_kept_sorted():
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("xfer_tagger", config={"target": "ents"})
    examples = examples_for(nlp, NER_DATA, "ents")
    ner.initialize(lambda: examples, nlp=nlp, labels=["PER", "LOC"])
    assert ner.labels == ("LOC", "PER")
    ner.initialize(lambda: examples, nlp=nlp, labels=["ORG", "LOC"])  # initialized: replaced, sorted
    assert ner.labels == ("LOC", "ORG")


def test_settings_overridden_at_load_hold_everywhere(tmp_path):
    """`spacy.load(path, config=...)` builds the head with the overridden settings; the
    saved cfg, which repeats them, must not put the old ones back beside it (the head
    then wrote to its own key while scoring read Doc.ents)."""
    nlp = tiny_tagger("ents")
    examples = examples_for(nlp, NER_DATA, "ents")
    train(nlp, examples, steps=10)
    nlp.to_disk(tmp_path / "model")
    override = {"primary": False, "cost": 0.0, "constraints": "none"}
    loaded = spacy.load(tmp_path / "model", config={"components": {"xfer_tagger": override}})
    head = loaded.get_pipe("xfer_tagger")
    assert {key: head.cfg[key] for key in override} == override
    assert head.cfg["labels"] == nlp.get_pipe("xfer_tagger").cfg["labels"]
    doc = loaded(examples[0].reference.text)
    spans = [(s.start, s.end, s.label_) for s in doc.spans["xfer_tagger"]]
    assert not doc.ents and spans and spans == [(e.start, e.end, e.label_) for e in nlp(doc.text).ents]
    scores = loaded.evaluate([Example(loaded.make_doc(e.reference.text), e.reference) for e in examples])
    assert scores.get("ents_f") is None and scores["xfer_tagger_f"] is not None
    reloaded = spacy.load(tmp_path / "model").get_pipe("xfer_tagger")
    assert (reloaded.cfg["primary"], reloaded.cfg["cost"]) == (True, 5.0)
