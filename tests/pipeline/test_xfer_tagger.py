import pickle
import warnings

import pytest
import spacy
import torch
from spacy.lang.en import English
from spacy.tokens import Doc
from spacy.training import Example

from spacy_xfer.models.layers.crf import get_crf
from spacy_xfer.pipeline.xfer_tagger import label_pairs_to_map
from spacy_xfer.tasks import make_example

from ..util import NER_DATA, TAG_DATA, examples_for, gold_doc, tiny_tagger, train

UPOS_DATA = [
    ("I like green eggs", ["PRON", "VERB", "ADJ", "NOUN"]),
    ("Eat blue ham", ["VERB", "ADJ", "NOUN"]),
]


def read_target(doc: Doc, target: str):
    if target == "tag":
        return [t.tag_ for t in doc]
    if target == "pos":
        return [t.pos_ for t in doc]
    if target == "ents":
        return [(e.start, e.end, e.label_) for e in doc.ents]
    if target.startswith("spans:"):
        return [(s.start, s.end, s.label_) for s in doc.spans[target.split(":", 1)[1]]]
    return [t._.get(target.split(":", 1)[1]) for t in doc]


@pytest.mark.parametrize(
    "target,data",
    [
        ("tag", TAG_DATA),
        ("pos", UPOS_DATA),
        ("ents", NER_DATA),
        ("spans:chunks", NER_DATA),
        ("ext:xfer_test_label", TAG_DATA),
    ],
)
def test_overfit_each_target(target, data, tmp_path):
    nlp = tiny_tagger(target)
    examples = examples_for(nlp, data, target)
    losses = train(nlp, examples, steps=80)
    assert losses["xfer_tagger"] < 0.5
    for eg in examples:
        predicted = nlp(eg.x.text)
        assert read_target(predicted, target) == read_target(eg.y, target)
    scores = nlp.evaluate(examples)
    key = "xfer_tagger_f" if target in ("ents", "spans:chunks") else "xfer_tagger_acc"
    assert scores[key] == 1.0
    nlp.to_disk(tmp_path)
    nlp2 = spacy.load(tmp_path)
    texts = [text for text, _ in data]
    assert [read_target(d, target) for d in nlp2.pipe(texts)] == [read_target(nlp(t), target) for t in texts]


@pytest.fixture(scope="module")
def trained():
    nlp = tiny_tagger("tag")
    train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=30)
    return nlp


TEXTS = ["I like green eggs", "", "ham", "They eat blue ham daily and eggs too", "Eat"]


def tags(docs):
    return [[t.tag_ for t in doc] for doc in docs]


def test_pipe_equals_single_calls(trained):
    assert tags(trained.pipe(TEXTS, batch_size=3)) == tags(trained(t) for t in TEXTS)
    assert tags(trained.pipe(list(reversed(TEXTS)))) == tags(trained(t) for t in reversed(TEXTS))


def test_serialization_round_trips(trained, tmp_path):
    expected = tags(trained.pipe(TEXTS))
    trained.to_disk(tmp_path / "nlp")
    from_disk = spacy.load(tmp_path / "nlp")
    from_bytes = English.from_config(trained.config).from_bytes(trained.to_bytes())
    pickled = pickle.loads(pickle.dumps(trained))
    for nlp in (from_disk, from_bytes, pickled):
        assert tags(nlp.pipe(TEXTS)) == expected
        assert nlp.get_pipe("xfer_tagger").labels == trained.get_pipe("xfer_tagger").labels


def test_docs_of_another_vocab_alone_or_mixed_in_a_batch(trained):
    """A doc of another Vocab is featurized with its own strings; a batch mixing two
    Vocabs is refused naming the doc, whatever words were seen before (the featurizers
    cache words by hash, so it used to depend on which had been)."""
    other = spacy.blank("en")
    alone = trained(Doc(other.vocab, words=["Qwxyz1", "ham"]))
    assert [t.tag_ for t in alone] == [t.tag_ for t in trained(Doc(trained.vocab, words=["Qwxyz1", "ham"]))]
    for words in (["ham"], ["Qwxyz2", "ham"]):  # a word seen before, and one never seen
        with pytest.raises(ValueError, match=r"\[E105\] Doc 1 of a batch has another Vocab than doc 0"):
            list(trained.pipe([trained.make_doc("Eat"), Doc(other.vocab, words=words)]))


def test_multiprocess_pipe(trained):
    texts = TEXTS * 4
    assert tags(trained.pipe(texts, n_process=2, batch_size=2)) == tags(trained.pipe(texts))


def test_empty_one_token_long_doc_and_long_token(trained):
    assert tags([trained("")]) == [[]]
    assert len(trained("ham")[0].tag_) > 0
    long_doc = trained(" ".join(["ham", "eggs", "green", "I"] * 250))
    assert len(long_doc) == 1000 and all(t.tag_ for t in long_doc)
    long_token = trained("I like " + "x" * 200)
    assert long_token[2].text == "x" * 200 and long_token[2].tag_
    docs = list(trained.pipe(["", "", ""]))
    assert all(len(doc) == 0 for doc in docs)


def test_missing_gold_gives_no_loss_and_no_change():
    nlp = tiny_tagger("tag")
    examples = examples_for(nlp, TAG_DATA, "tag")
    optimizer = nlp.initialize(lambda: examples)
    tagger = nlp.get_pipe("xfer_tagger")
    before = tagger.model.to_bytes()
    unannotated = [Example(nlp.make_doc(t), Doc(nlp.vocab, words=t.split())) for t, _ in TAG_DATA]
    losses = {}
    nlp.update(unannotated, sgd=optimizer, losses=losses)
    assert losses["xfer_tagger"] == 0.0
    assert tagger.model.to_bytes() == before
    # empty tags inside an annotated doc count nothing: a doc whose only gold tag is
    # on one token gives the same loss as that token alone
    words = ["I", "like", "ham"]
    partial = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, tags=["PRP", "", ""]))
    scores = tagger.model.predict([partial.x])
    loss, d_scores = tagger.get_loss([partial], scores)
    assert loss > 0
    assert float(d_scores.crf.emissions.abs().sum()) > 0


def test_get_loss_changes_nothing_and_backprop_applies_its_gradient():
    nlp = tiny_tagger("tag")
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    tagger = nlp.get_pipe("xfer_tagger")
    crf = get_crf(tagger.model)
    scores, backprop = tagger.model.begin_update([eg.x for eg in examples])
    loss, d_scores = tagger.get_loss(examples, scores)
    assert loss > 0 and crf.transitions.grad is None
    assert float(d_scores.crf.transitions.abs().sum()) > 0
    backprop(d_scores)
    torch.testing.assert_close(crf.transitions.grad, d_scores.crf.transitions)
    # a NaN score stops training with a coded error, as spaCy's tagger does (E910)
    nan = scores.crf.emissions.detach().clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="E020.*xfer_tagger"):
        tagger.get_loss(examples, scores._replace(crf=scores.crf._replace(emissions=nan)))


def test_a_head_without_gold_on_its_target_names_what_the_examples_carry():
    """The head reads `tag` but the corpus has entities (a config whose target was left
    at its default): E011 says so, instead of only "found no labels"."""
    nlp = tiny_tagger("tag")
    examples = examples_for(nlp, NER_DATA, "ents")
    with pytest.raises(ValueError, match=r"\[E011\] Component 'xfer_tagger' found no 'tag' labels in its 4 training examples \(their gold is on: ents\)"):
        nlp.initialize(lambda: examples)


def test_unknown_label_and_bad_target_errors():
    nlp = tiny_tagger("tag")
    nlp.initialize(lambda: examples_for(nlp, TAG_DATA, "tag"))
    bad = [Example(nlp.make_doc("ham"), Doc(nlp.vocab, words=["ham"], tags=["XYZ"]))]
    with pytest.raises(ValueError, match="E004.*XYZ.*ham"):
        nlp.update(bad)
    with pytest.raises(ValueError, match="E003"):
        tiny_tagger("nonsense")
    with pytest.raises(ValueError, match="E008"):
        tiny_tagger("tag", constraints="XYZ")
    # a negative cost would reward the wrong labels in the softmax-margin loss
    for cost in (-1.0, "5"):  # spaCy's config validation passes a string on
        with pytest.raises(ValueError, match="E038.*cost of component 'xfer_tagger'"):
            tiny_tagger("tag", cost=cost)


def test_label_map_maps_gold():
    nlp = tiny_tagger("tag", label_map={"NOUN": "NN", "ADJ": "JJ"})
    data = [("green ham", ["ADJ", "NOUN"]), ("blue eggs", ["JJ", "NNS"])]
    examples = examples_for(nlp, data, "tag")
    train(nlp, examples, steps=40)
    assert set(nlp.get_pipe("xfer_tagger").labels) == {"JJ", "NN", "NNS"}
    assert [t.tag_ for t in nlp("green ham")] == ["JJ", "NN"]
    with pytest.raises(ValueError, match="E006"):
        tiny_tagger("tag", label_map={"A": "B", "B": "C"})


def test_a_label_map_given_as_pairs_maps_labels_no_config_key_can_hold():
    nlp = tiny_tagger("tag", label_map=[[":", "PUNCT"], ["#", "SYM"]])
    assert nlp.get_pipe("xfer_tagger").cfg["label_map"] == {":": "PUNCT", "#": "SYM"}
    assert nlp.config["components"]["xfer_tagger"]["label_map"] == [[":", "PUNCT"], ["#", "SYM"]]
    with pytest.raises(ValueError, match=r"E098.*\[':'\] more than once"):
        tiny_tagger("tag", label_map=[[":", "PUNCT"], [":", "SYM"]])
    with pytest.raises(ValueError, match=r"E098.*has the item \[':', 'PUNCT', 'X'\], not a pair"):
        tiny_tagger("tag", label_map=[[":", "PUNCT", "X"]])
    with pytest.raises(ValueError, match=r"E098.*has the item \['', 'X'\], not a pair of labels"):
        tiny_tagger("tag", label_map={"": "X"})
    # items a config's type check would name only the dict form for
    for item, shown in ([":", None], r"\[':', None\]"), (5, "5"), ("PUNCT", "'PUNCT'"):
        with pytest.raises(ValueError, match=rf"E098.*has the item {shown}, not a pair of labels; expected an object .* or a list of \[label, mapped label\] pairs"):
            tiny_tagger("tag", label_map=[item])
    # a setting that is neither an object nor a list, given to the component itself
    for setting in ("NN", 5):
        with pytest.raises(ValueError, match=rf"E098.*`label_map` is {setting!r}; expected an object"):
            label_pairs_to_map("xfer_tagger", setting)
    assert label_pairs_to_map("xfer_tagger", None) == {}


def test_a_loaded_pipeline_maps_gold_with_the_saved_label_map(tmp_path):
    # confection writes "$" (a PTB tag) in a config value as "$$"; the saved cfg keeps it
    nlp = tiny_tagger("tag", label_map=[["$", "SYM"], ["CD", "NUM"]])
    nlp.initialize(lambda: examples_for(nlp, [("$ 5", ["$", "CD"])], "tag"))
    nlp.to_disk(tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = spacy.load(tmp_path / "model")
    (eg,) = examples_for(loaded, [("$ 5", ["$", "CD"])], "tag")
    assert loaded.get_pipe("xfer_tagger").target.gold(eg) == ["SYM", "NUM"]
    # the saved config, loaded again without interpolation as `spacy train` does, says $$
    again = spacy.util.load_model_from_config(spacy.util.load_config(tmp_path / "model" / "config.cfg"))
    with pytest.warns(UserWarning, match=r"\[W002\] .*labels with '\$\$' \(\$\$\)"):
        again.initialize(lambda: examples_for(again, [("$ 5", ["$", "CD"])], "tag"))


def two_tasks(nlp, source, target):
    """Examples of a source and a target task for one head (T-A)."""
    return [make_example(nlp.vocab, gold_doc(nlp, text, labels, "tag"), task)
            for task, data in (("source", source), ("target", target)) for text, labels in data]


def test_one_head_over_label_sets_that_do_not_map_is_warned_of_at_initialize():
    ptb = [("green ham", ["JJ", "NN"]), ("blue eggs", ["JJ", "NNS"]), ("eat", ["VB"])]
    upos = [("green ham", ["ADJ", "NOUN"]), ("eat eggs", ["VERB", "NOUN"])]
    nlp = tiny_tagger("tag")
    with pytest.warns(UserWarning, match=r"\[W001\].*'source'.*shares 0 of its 4 labels.*not: JJ, NN, NNS, VB"):
        nlp.initialize(lambda: two_tasks(nlp, ptb, upos))
    mapped = tiny_tagger("tag", label_map={"ADJ": "JJ", "NOUN": "NN", "VERB": "VB"})
    fewer = [("green ham", ["JJ", "NN"])]  # a target with fewer types, all the source's
    for nlp, target in ((mapped, upos), (tiny_tagger("tag"), fewer)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            nlp.initialize(lambda: two_tasks(nlp, ptb, target))


@pytest.mark.parametrize(
    "scheme,bad,message",
    [
        ("IOB2", ["I-PER", "O", "O"], "token 0.*'<s>' -> 'I-PER'"),
        ("IOB2", ["B-PER", "O", "I-PER"], "token 2.*'O' -> 'I-PER'"),
        ("IOB2", ["I-PER", None, "O"], "token 0.*'<s>' -> 'I-PER'"),  # E005 first, unknown tags besides
        ("BILUO", ["O", "U-PER", "B-PER"], "token 2.*'B-PER' -> '</s>'"),
    ],
)
def test_constraints_reject_invalid_gold(scheme, bad, message):
    nlp = tiny_tagger("ext:xfer_iob", constraints=scheme)
    good = ["B-PER", "O", "O"] if scheme == "IOB2" else ["U-PER", "O", "O"]
    data = [("Anna lives here", bad), ("Bob is here", good), ("Al and Bo", ["B-PER", "I-PER", "L-PER"] if scheme == "BILUO" else good)]
    examples = examples_for(nlp, data, "ext:xfer_iob")
    with pytest.raises(ValueError, match=f"E005.*{scheme}.*{message}"):
        nlp.initialize(lambda: examples)  # at initialize, before any update


@pytest.mark.parametrize(
    "partial,message",
    [
        (["B-PER", None, "L-LOC"], r"1 unknown token\(s\) between 'B-PER' at token 0 and 'L-LOC' at token 2 \('Bo'\)"),
        ([None, None, "L-PER"], None),  # B-PER I-PER fits
        ([None, "I-LOC", "L-LOC"], r"1 unknown token\(s\) between the doc's start and 'I-LOC' at token 1 \('and'\)"),  # no B-LOC
        (["O", "B-PER", None], None),  # L-PER fits
        (["O", "U-PER", None], None),
    ],
)
def test_unknown_gold_tags_that_no_allowed_label_fits_are_named_by_doc_and_token(partial, message):
    """Gold with unknown tags (None: e.g. tokens that do not align) whose every filling
    breaks the scheme: named at initialize with the doc and the tokens around the
    stretch, not by its position in the CRF loss's batch (E016)."""
    nlp = tiny_tagger("ext:xfer_iob", constraints="BILUO")
    data = [("Al and Bo", ["B-PER", "I-PER", "L-PER"]), ("Al met Bo", ["U-PER", "O", "U-LOC"]), ("Al and Bo", partial)]
    examples = examples_for(nlp, data, "ext:xfer_iob")
    if message is None:
        nlp.initialize(lambda: examples)
        return
    with pytest.raises(ValueError, match=rf"\[E116\] Gold labels of doc 'Al and Bo' .*BILUO.*{message}"):
        nlp.initialize(lambda: examples)


def test_an_unknown_stretch_up_to_the_doc_end_that_no_label_can_close_is_named():
    # no L-PER among the labels: B-PER followed by unknown tags cannot end the doc
    nlp = tiny_tagger("ext:xfer_iob", constraints="BILUO")
    data = [("Al met Bo", ["U-PER", "O", "O"]), ("at Al Bo", ["O", "B-PER", None])]
    with pytest.raises(ValueError, match=r"E116.*'at Al Bo'.*1 unknown token\(s\) between 'B-PER' at token 1 and the doc's end"):
        nlp.initialize(lambda: examples_for(nlp, data, "ext:xfer_iob"))


def test_constraints_under_which_a_doc_length_has_no_tag_sequence_stop_initialize():
    """BILUO tags without O or U-: a one-token doc could only get a forbidden tag (with
    confidence 1.0 and an n-best list without it); named at initialize instead."""
    nlp = tiny_tagger("ext:xfer_iob", constraints="BILUO")
    data = [("New York", ["B-LOC", "L-LOC"]), ("Los Angeles", ["B-LOC", "L-LOC"])]
    with pytest.raises(ValueError, match=r"E106.*\(B-LOC, L-LOC\) under the BILUO constraints .* doc of 1 token"):
        nlp.initialize(lambda: examples_for(nlp, data, "ext:xfer_iob"))
    nlp.initialize(lambda: examples_for(nlp, data + [("Paris", ["U-LOC"])], "ext:xfer_iob"))


def test_two_heads_do_not_collide_in_scores():
    nlp = spacy.blank("en")
    from ..util import tiny_model

    nlp.add_pipe("xfer_tagger", name="pos_head", config={"target": "tag", "model": tiny_model()})
    nlp.add_pipe("xfer_tagger", name="ner_head", config={"target": "ents", "model": tiny_model()})
    examples = []
    for (text, tag_labels), (_, ner_labels) in zip(TAG_DATA, NER_DATA):
        examples.append(Example(nlp.make_doc(text), gold_doc(nlp, text, tag_labels, "tag")))
    for text, ner_labels in NER_DATA:
        examples.append(Example(nlp.make_doc(text), gold_doc(nlp, text, ner_labels, "ents")))
    train(nlp, examples, steps=5)
    scores = nlp.evaluate(examples)
    assert "pos_head_acc" in scores and "ner_head_f" in scores and "ner_head_per_type" in scores
