"""Heads sharing an encoder through listeners (T-B, T-C): a batch with only task A's
gold moves the shared weights with task A's gradient in the same `nlp.update`,
whichever head comes last, and leaves task B's head untouched."""

import copy
from typing import List

import numpy
import pytest
from spacy.lang.en import English
from spacy.training import Example
from thinc.api import SGD, Adam

from spacy_xfer.annotate.outputs import conll_lines
from spacy_xfer.tasks import TASK_KEY
from spacy_xfer.training.optimizer import create_adam_v1

from ..util import NER_DATA, TAG_DATA, examples_for

ENCODERS = {
    "t_b": (
        {"@architectures": "spacy_xfer.CharWordEncoder.v1", "char_width": 4, "char_hidden": 4,
         "char_depth": 1, "width": 4, "hidden": 8, "depth": 1},
        {"@architectures": "spacy.Tok2VecListener.v1", "width": 16, "upstream": "encoder"},
    ),
    "t_c": (
        {"@architectures": "spacy_xfer.CharEncoder.v1", "width": 4, "hidden": 4, "depth": 1},
        {"@architectures": "spacy_xfer.WordEncoder.v1", "width": 4, "hidden": 8, "depth": 1,
         "char_encoder": {"@architectures": "spacy.Tok2VecListener.v1", "width": 8, "upstream": "encoder"}},
    ),
}


def make_nlp(arch: str, order: List[str]) -> English:
    encoder, head_tok2vec = ENCODERS[arch]
    nlp = English()
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    targets = {"pos_head": "tag", "ner_head": "ents"}
    for name in order:
        model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": head_tok2vec}
        nlp.add_pipe("xfer_tagger", name=name, config={"target": targets[name], "model": model})
    return nlp


def weights(nlp: English, name: str) -> numpy.ndarray:
    model = nlp.get_pipe(name).model
    arrays = [node.shims[0]._model.state_dict() for node in model.walk() if node.shims]
    return numpy.concatenate([v.detach().numpy().ravel() for a in arrays for v in a.values() if v.is_floating_point()])


def pos_examples(nlp):
    return examples_for(nlp, TAG_DATA, "tag")


def all_examples(nlp):
    return pos_examples(nlp) + examples_for(nlp, NER_DATA, "ents")


@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_shared_encoder_moves_with_the_batch_task_whichever_head_is_last(arch):
    first = make_nlp(arch, ["pos_head", "ner_head"])
    first.initialize(lambda: all_examples(first))
    state = first.to_bytes()
    second = make_nlp(arch, ["ner_head", "pos_head"])
    second.initialize(lambda: all_examples(second))
    second.from_bytes(state)
    alone = make_nlp(arch, ["pos_head"])
    alone.initialize(lambda: pos_examples(alone))
    alone.get_pipe("encoder").from_bytes(first.get_pipe("encoder").to_bytes())
    alone.get_pipe("pos_head").from_bytes(first.get_pipe("pos_head").to_bytes())

    before = weights(first, "encoder")
    ner_before = weights(first, "ner_head")
    after = {}
    for key, nlp in (("first", first), ("second", second), ("alone", alone)):
        nlp.update(pos_examples(nlp), sgd=Adam(0.01))
        after[key] = weights(nlp, "encoder")
    assert not numpy.allclose(after["first"], before)
    numpy.testing.assert_allclose(after["first"], after["second"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(after["first"], after["alone"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_array_equal(weights(first, "ner_head"), ner_before)
    numpy.testing.assert_array_equal(weights(second, "ner_head"), ner_before)


def make_task_heads(arch: str, confidence: bool = False) -> English:
    """An encoder and two heads on Token.tag_, one per task: the target head writes it
    (primary), the source head its own Token._.source."""
    encoder, head_tok2vec = ENCODERS[arch]
    nlp = English()
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    for name in ("source", "target"):
        model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": head_tok2vec}
        config = {"target": "tag", "task": name, "model": model, "primary": name == "target", "confidence": confidence}
        nlp.add_pipe("xfer_tagger", name=name, config=config)
    return nlp


def test_replace_listeners_gives_the_heads_copy_of_the_encoder_its_own_optimizer_state():
    """After `nlp.replace_listeners` the head trains a copy of the encoder while the
    encoder goes on serving the other head: each is stepped with its own Adam moments
    and averages (the optimizer keys them by shim id), and `nlp.use_params` puts each
    one's own average in."""
    nlp = make_nlp("t_b", ["pos_head", "ner_head"])
    nlp.initialize(lambda: all_examples(nlp))
    nlp.replace_listeners("encoder", "pos_head", ["model.tok2vec"])
    shims = {name: [s for node in nlp.get_pipe(name).model.walk() for s in node.shims] for name in nlp.pipe_names}
    assert len({shim.id for name in shims for shim in shims[name]}) == sum(len(v) for v in shims.values())
    optimizer = create_adam_v1(0.01, use_averages=True)
    pos, ner = pos_examples(nlp), examples_for(nlp, NER_DATA, "ents")
    for step in range(4):
        nlp.update(pos if step % 2 == 0 else ner, sgd=optimizer)
    parameters = {(shim.id, n): p for name in shims for shim in shims[name] for n, p in shim._model.named_parameters()}
    assert set(optimizer.averages) == set(parameters)
    with nlp.use_params(optimizer.averages):
        for key, parameter in parameters.items():
            numpy.testing.assert_array_equal(parameter.detach().numpy(), optimizer.averages[key])


def test_task_name_keeps_heads_with_the_same_target_apart():
    nlp = make_task_heads("t_b")
    source = pos_examples(nlp)[:2]
    target = [Example(eg.x, eg.y) for eg in pos_examples(nlp)[2:]]
    for eg in source:
        eg.y.user_data[TASK_KEY] = "source"
    for eg in target:
        eg.y.user_data[TASK_KEY] = "target"
        for token in eg.y:
            token.tag_ = "T-" + token.tag_
    nlp.initialize(lambda: source + target)
    assert all(not label.startswith("T-") for label in nlp.get_pipe("source").labels)
    assert all(label.startswith("T-") for label in nlp.get_pipe("target").labels)
    target_before = weights(nlp, "target")
    losses = {}
    nlp.update(source, sgd=Adam(0.01), losses=losses)
    assert losses["source"] > 0 and losses["target"] == 0
    numpy.testing.assert_array_equal(weights(nlp, "target"), target_before)
    # the target head writes Token.tag_, the source head its own Token._.source
    doc = nlp("I like ham")
    assert all(token.tag_.startswith("T-") for token in doc)
    assert all(not token._.source.startswith("T-") for token in doc)
    # each head is scored on its own task's examples and its own predictions
    scores = nlp.evaluate(source + target)
    assert scores["source_acc"] is not None and scores["target_acc"] is not None
    assert scores["tag_acc"] == scores["target_acc"]


@pytest.mark.parametrize("confidence", [False, True])
@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_a_head_with_a_task_leaves_the_docs_of_other_tasks_alone(arch, confidence):
    """The dev evaluations decode each task's docs with that task's head only; a doc
    without a task name (a user's text) gets every head."""
    nlp = make_task_heads(arch, confidence)
    examples = pos_examples(nlp)
    for i, eg in enumerate(examples):
        eg.y.user_data[TASK_KEY] = ("source", "target")[i % 2]
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    # texts of different lengths and an empty doc in one batch
    batch = [("target", "they eat green eggs and ham"), ("source", "I like ham ."), (None, "ham ."), ("target", ""), (None, "I like them")]
    docs = []
    for task, text in batch:
        doc = nlp.make_doc(text)
        if task:
            doc.user_data[TASK_KEY] = task
        docs.append(doc)
    annotated = list(nlp.pipe(docs))
    for (task, text), doc in zip(batch, annotated):
        alone = nlp(text)  # no task: every head
        tags, source = [t.tag_ for t in doc], [t._.source for t in doc]
        assert tags == ([t.tag_ for t in alone] if task in ("target", None) else [""] * len(doc)), (task, text)
        assert source == ([t._.source for t in alone] if task in ("source", None) else [None] * len(doc)), (task, text)
        if confidence:
            for name in ("source", "target"):
                mine = [t._.get(f"{name}_confidence") for t in doc]
                if task in (name, None):
                    numpy.testing.assert_allclose(mine, [t._.get(f"{name}_confidence") for t in alone], rtol=1e-5)
                else:
                    assert mine == [None] * len(doc)
    if confidence:
        # the CoNLL output writes "_" where a head left a doc alone: columns word, source, its confidence, ...
        heads = [nlp.get_pipe("source"), nlp.get_pipe("target")]
        rows = [line.split("\t") for line in conll_lines(annotated[0], heads) if line]
        assert rows and all(row[1] == "_" and row[2] == "_" and row[4] != "_" for row in rows)


@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_a_listener_of_another_width_than_its_encoder_is_named_when_added(arch):
    encoder, head_tok2vec = copy.deepcopy(ENCODERS[arch])
    listener = head_tok2vec if arch == "t_b" else head_tok2vec["char_encoder"]
    listener["width"] += 2
    nlp = English()
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    head = {"model": {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": head_tok2vec}}
    expected = rf"E100.*'pos_head' listens to 'encoder'.* width {listener['width']}, .* width {listener['width'] - 2} "
    with pytest.raises(ValueError, match=expected):
        nlp.add_pipe("xfer_tagger", name="pos_head", config=head)


def test_a_listener_of_any_upstream_is_not_held_to_the_encoders_width():
    # spaCy links a listener with upstream "*" to every tok2vec before it: it may be
    # meant for spaCy's own tok2vec, of another width
    encoder, _ = ENCODERS["t_b"]
    nlp = English()
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    nlp.add_pipe("tok2vec")
    width = nlp.get_pipe("tok2vec").model.get_dim("nO")
    assert width != nlp.get_pipe("encoder").model.get_dim("nO")
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": width, "upstream": "*"}
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": listener}})
    assert "tagger" in nlp.get_pipe("tok2vec").listening_components


@pytest.mark.parametrize("arch", ["t_b", "t_c"])
def test_a_batch_whose_last_listener_is_excluded_still_moves_the_encoder(arch):
    """`nlp.update(..., exclude=[last head])` (as `frozen_components` does): the other
    heads' gradient reaches the encoder, stepped when the next update starts, so two
    updates move it as they do with the head taking part (answering a zero gradient)."""
    moved = {}
    state = None
    for exclude in (["ner_head"], []):
        nlp = make_nlp(arch, ["pos_head", "ner_head"])
        nlp.initialize(lambda: all_examples(nlp))
        state = nlp.from_bytes(state).to_bytes() if state else nlp.to_bytes()  # the same weights
        before = weights(nlp, "encoder")
        nlp.update(pos_examples(nlp), sgd=SGD(0.1), exclude=exclude)
        nlp.update(pos_examples(nlp), sgd=SGD(0.1))
        moved[tuple(exclude)] = weights(nlp, "encoder") - before
    assert numpy.abs(moved[()]).max() > 0
    numpy.testing.assert_allclose(moved[("ner_head",)], moved[()], rtol=1e-5, atol=1e-7)
