"""`compare`: per-doc counts that add up to the targets' scores, the paired bootstrap,
and the command on small pipelines saved to disk."""

import json
import shlex
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_xfer.experiments.compare import (
    check_same_gold, comparison_table, compare_pipelines, doc_counts, f_score, paired_bootstrap, predict
)
from spacy_xfer.experiments.steps import evaluate_pipeline, write_json
from spacy_xfer.pipeline.targets import make_target

from ..util import NER_DATA, TAG_DATA, examples_for, gold_doc, tiny_tagger, train
from .util import failure, run

PEOPLE = ["Anna", "Bob"]
PLACES = ["Paris", "Rome", "Oslo", "Lima"]


def ner_docs(nlp, n=20):
    """n gold docs "NAME lives in PLACE", NAME a person and PLACE a location."""
    docs = []
    for i in range(n):
        person, place = PEOPLE[i % 2], PLACES[i % 4]
        docs.append(gold_doc(nlp, f"{person} lives in {place}", ["B-PER", "O", "O", "B-LOC"], "ents"))
    return docs


def ruler(people, places):
    """A rule-based NER pipeline: spaCy's entity_ruler with these names."""
    nlp = spacy.blank("en")
    patterns = [{"label": "PER", "pattern": name} for name in people] + [{"label": "LOC", "pattern": name} for name in places]
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    return nlp


def save(tmp_path: Path, name: str, nlp) -> Path:
    nlp.to_disk(tmp_path / name)
    return tmp_path / name


def test_counts_add_up_to_the_scores_of_token_and_span_targets():
    nlp = spacy.blank("en")
    for target, data in (("tag", TAG_DATA), ("pos", [(t, ["PRON", "VERB", "ADJ", "NOUN"][: len(t.split())]) for t, _ in TAG_DATA]), ("ents", NER_DATA), ("spans:sc", NER_DATA)):
        scorer = make_target(target, target, {})
        examples = []
        for k, eg in enumerate(examples_for(nlp, data, target)):
            labels = [label for _, label in data[k : k + 1]][0]
            guess = list(labels)
            guess[k % len(guess)] = labels[(k + 1) % len(labels)]  # a mistake or two
            examples.append(Example(gold_doc(nlp, eg.reference.text, guess, target), eg.reference))
        # a predicted doc tokenised otherwise than its reference, and a reference without gold
        words = [t.text for t in examples[0].reference]
        merged = Doc(nlp.vocab, words=[words[0] + words[1], *words[2:]], spaces=[False] + [True] * (len(words) - 2))
        examples.append(Example(merged, examples[0].reference))
        examples.append(Example(nlp.make_doc("no gold here"), nlp.make_doc("no gold here")))
        attr = target.replace(":", "_")
        summed = sum((scorer.counts(eg) for eg in examples[1:]), scorer.counts(examples[0]))
        expected = scorer.score(examples, attr)
        key = f"{attr}_acc" if target in ("tag", "pos") else f"{attr}_f"
        assert summed.fscore == pytest.approx(expected[key]), target
        assert 0 < summed.fscore < 1, target  # the mistakes count
        if target not in ("tag", "pos"):
            assert (summed.precision, summed.recall) == pytest.approx((expected[f"{attr}_p"], expected[f"{attr}_r"]))


def test_f_score_is_the_accuracy_of_token_counts_and_zero_for_nothing():
    assert f_score(numpy.array([7, 3, 3])) == pytest.approx(0.7)
    assert f_score(numpy.array([2, 1, 3])) == pytest.approx(4 / 8)
    assert f_score(numpy.array([[0, 0, 0], [1, 0, 0]])).tolist() == [0.0, 1.0]


def test_the_bootstrap_of_equal_systems_and_of_a_better_one():
    rng = numpy.random.default_rng(1)
    b = rng.integers(0, 4, size=(200, 3))
    same = paired_bootstrap(b, b, resamples=200)
    assert same["difference"] == 0 and same["interval"] == [0.0, 0.0] and same["share_a_not_better"] == 1.0
    # A finds one more entity than B in every doc, with no more errors
    a = b + numpy.array([1, 0, -1])
    a[:, 2] = numpy.maximum(a[:, 2], 0)
    better = paired_bootstrap(a, b, resamples=200)
    assert better["difference"] > 0 and better["interval"][0] > 0 and better["share_a_not_better"] == 0.0
    assert better["score_a"] == pytest.approx(float(f_score(a.sum(0))))
    # B scores worse than A by this much on the test set itself, and the interval holds it
    low, high = better["interval"]
    assert low <= better["difference"] <= high


def test_the_bootstrap_is_seeded_and_wider_on_fewer_docs():
    rng = numpy.random.default_rng(2)
    a, b = rng.integers(0, 5, size=(400, 3)), rng.integers(0, 5, size=(400, 3))
    first, again, other = (paired_bootstrap(a, b, resamples=300, seed=s) for s in (3, 3, 4))
    assert first == again and first["interval"] != other["interval"]
    few = paired_bootstrap(a[:40], b[:40], resamples=300, seed=3)
    assert few["interval"][1] - few["interval"][0] > first["interval"][1] - first["interval"][0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"counts_b": numpy.zeros((3, 3))}, "E038.*doc counts"),
        ({"counts_a": numpy.zeros((0, 3)), "counts_b": numpy.zeros((0, 3))}, "E038.*doc counts"),
        ({"resamples": 0}, "E038.*resamples"),
        ({"level": 1.0}, "E038.*level"),
    ],
)
def test_bad_bootstrap_settings_are_refused(kwargs, match):
    args = {"counts_a": numpy.ones((2, 3)), "counts_b": numpy.ones((2, 3)), **kwargs}
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(args.pop("counts_a"), args.pop("counts_b"), **args)


def test_doc_counts_score_each_doc_of_the_predictions(tmp_path):
    nlp = ruler(PEOPLE, PLACES[:2])
    DocBin(docs=ner_docs(nlp, 4)).to_disk(tmp_path / "test.spacy")
    counts = doc_counts(predict(nlp, tmp_path / "test.spacy"), make_target("ents", "ents", {}))
    assert counts.tolist() == [[2, 0, 0], [2, 0, 0], [1, 0, 1], [1, 0, 1]]


def test_our_tagger_compares_as_evaluate_scores_it(tmp_path):
    """With its label map too: the gold's PER is the head's PERSON."""
    fix_random_seed(0)
    ours = tiny_tagger("ents", label_map={"PER": "PERSON"})
    train(ours, examples_for(ours, NER_DATA, "ents"), steps=30)
    docs = [gold_doc(ours, text, labels, "ents") for text, labels in NER_DATA]
    DocBin(docs=docs).to_disk(tmp_path / "test.spacy")
    expected = evaluate_pipeline(ours, {"target": tmp_path / "test.spacy"})["target"]["scores"]["xfer_tagger_f"]
    rules = ruler(["Anna"], ["Paris"])
    with pytest.warns(UserWarning, match=r"W004.*test.spacy has 4 doc\(s\) with gold"):
        result = compare_pipelines(ours, rules, ["ours", "rules"], tmp_path / "test.spacy", resamples=100)
    assert result["target"] == "ents" and result["docs"] == len(NER_DATA)
    assert result["score_a"] == pytest.approx(expected) and expected > 0.5
    assert result["score_b"] == pytest.approx(rules.evaluate(examples_for(rules, NER_DATA, "ents"))["ents_f"])


def test_compare_command_prints_and_writes_the_difference(tmp_path):
    nlp = spacy.blank("en")
    DocBin(docs=ner_docs(nlp)).to_disk(tmp_path / "test.spacy")
    full = save(tmp_path, "full", ruler(PEOPLE, PLACES))
    half = save(tmp_path, "half", ruler(PEOPLE, PLACES[:2]))
    out = tmp_path / "out" / "compare.json"
    result = run("compare", full, half, tmp_path / "test.spacy", "--resamples", 100, "--output", out)
    assert result.exit_code == 0, result.output
    assert "ents on" in result.output and "(20 docs), F1:" in result.output and f"wrote {out}" in result.output
    assert "A - B: +0.1429" in result.output and "A not better in 0 of 100 resamples (0.0%)" in result.output
    written = json.loads(out.read_text())
    assert written["score_a"] == 1.0 and written["score_b"] == pytest.approx(2 * 30 / (2 * 30 + 10))
    assert written["pipelines"]["b"] == {"model": str(half), "tp": 30, "fp": 0, "fn": 10}
    assert written["interval"][0] > 0 and written["metric"] == "F1"
    assert written["command"] == f"python -m spacy_xfer compare {full} {half} {tmp_path / 'test.spacy'} --target=ents --resamples=100 --seed=0 --output={out}"
    # the other way round, B is better
    result = run("compare", half, full, tmp_path / "test.spacy", "--resamples", 100, "--output", tmp_path / "out" / "sub" / "back.json")
    assert "A - B: -0.1429" in result.output and "A not better in 100 of 100 resamples (100.0%)" in result.output
    # `report` puts a line per results file into the README's table
    table = comparison_table(tmp_path / "out")
    assert "| `compare` | ents (F1) | 20 | 100.00 | 85.71 | +14.29 | [" in table
    assert "| `sub/back` | ents (F1) | 20 | 85.71 | 100.00 | -14.29 | [" in table and "| 100.0% |" in table
    assert "95% interval (100 resamples)" in table
    assert comparison_table(tmp_path / "none").startswith("No comparisons yet.")


def tagging_ruler():
    """Rules for both layers: the entity_ruler's entities and an attribute_ruler's tags."""
    nlp = ruler(PEOPLE, PLACES)
    nlp.add_pipe("attribute_ruler").add([[{"TEXT": "lives"}]], {"TAG": "VBZ"})
    return nlp


def test_compare_refuses_a_missing_target_a_pipeline_without_it_and_its_inputs_as_output(tmp_path):
    nlp = spacy.blank("en")
    DocBin(docs=[*ner_docs(nlp), Doc(nlp.vocab, words=[])]).to_disk(tmp_path / "test.spacy")  # an empty doc too
    full = save(tmp_path, "full", ruler(PEOPLE, PLACES))
    blank = save(tmp_path, "blank", spacy.blank("en"))
    result = run("compare", full, full, tmp_path / "test.spacy", "--target", "tag")
    assert "E118" in failure(result) and "test.spacy has gold for these targets: ents;" in result.output
    result = run("compare", full, blank, tmp_path / "test.spacy")
    assert "E118" in failure(result) and "predicted by both: none" in result.output
    result = run("compare", full, blank, tmp_path / "test.spacy", "--target", "ents")
    assert "E119" in failure(result) and f"Pipeline {blank} predicts no 'ents' annotation" in result.output
    result = run("compare", full, full, tmp_path / "test.spacy", "--target", "foo")
    assert "E003" in failure(result)
    result = run("compare", full, full, tmp_path / "test.spacy", "--seed", -1)
    assert "--seed" in failure(result)
    result = run("compare", full, full, tmp_path / "test.spacy", "--output", tmp_path / "test.spacy")
    assert "E038" in failure(result)
    result = run("compare", full, full, tmp_path / "test.spacy", "--output", tmp_path / "test.spacy" / "x.json")
    assert "E092" in failure(result) and "A - B" not in result.output  # refused before any scoring
    # gold of two layers: the one both pipelines predict, or --target where they predict both
    both = ner_docs(nlp, 20)
    for doc in both:
        for token, tag in zip(doc, ["NNP", "VBZ", "IN", "NNP"]):
            token.tag_ = tag
    DocBin(docs=both).to_disk(tmp_path / "both.spacy")
    result = run("compare", full, full, tmp_path / "both.spacy")
    assert result.exit_code == 0 and result.output.startswith("ents on"), result.output
    tagging = save(tmp_path, "tagging", tagging_ruler())
    result = run("compare", tagging, tagging, tmp_path / "both.spacy")
    assert "E118" in failure(result) and "ents, tag" in result.output and "give --target" in result.output
    result = run("compare", tagging, full, tmp_path / "both.spacy", "--target", "tag")
    assert "E119" in failure(result) and "spaCy's `ner` writes `ents`" in result.output
    result = run("compare", tagging, tagging, tmp_path / "both.spacy", "--target", "tag")
    assert result.exit_code == 0 and "tag on" in result.output and "accuracy:" in result.output, result.output


def test_bad_seeds_and_a_bootstrap_in_blocks():
    counts = numpy.ones((30, 3), dtype="int64")
    for seed in (-1, 1.5, None):
        with pytest.raises(ValueError, match="E038.*seed"):
            paired_bootstrap(counts, counts, seed=seed)
    assert paired_bootstrap(counts, counts, resamples=numpy.int64(250))["resamples"] == 250


def test_the_table_names_a_file_that_is_not_a_comparison(tmp_path):
    (tmp_path / "note.json").write_text('{"note": "hello"}')
    with pytest.raises(ValueError, match=r"note.json: \[E120\].*missing \['target'"):
        comparison_table(tmp_path)
    (tmp_path / "note.json").write_text("{")
    with pytest.raises(ValueError, match=r"note.json: \[E120\].*not JSON"):
        comparison_table(tmp_path)


def test_only_docs_with_gold_are_drawn(tmp_path):
    nlp = spacy.blank("en")
    without = [nlp.make_doc("Anna lives in Paris") for _ in range(30)] + [Doc(nlp.vocab, words=[])]
    DocBin(docs=[*ner_docs(nlp, 5), *without]).to_disk(tmp_path / "sparse.spacy")
    full, half = ruler(PEOPLE, PLACES), ruler(PEOPLE, PLACES[:2])
    with pytest.warns(UserWarning, match=r"W004.*sparse.spacy has 5 doc\(s\) with gold"):
        result = compare_pipelines(full, half, ["full", "half"], tmp_path / "sparse.spacy", resamples=100)
    assert result["docs"] == 5 and result["pipelines"]["b"]["fn"] == 2
    (tmp_path / "out").mkdir()
    write_json(tmp_path / "out" / "few.json", {"command": "", **result})
    assert "| 5 (W004) |" in comparison_table(tmp_path / "out")


def test_heads_that_read_the_gold_otherwise_are_refused():
    nlp = spacy.blank("en")
    references = [gold_doc(nlp, text, tags, "tag") for text, tags in TAG_DATA]
    coarse = make_target("tag", "coarse", {"NNS": "NN", "VBP": "VB"})
    plain = make_target("tag", "tag", {})
    with pytest.raises(ValueError, match=r"E121.*coarse reads NN and NNS as one, VB and VBP as one; plain reads every label apart"):
        check_same_gold([coarse, plain], plain, references, ["coarse", "plain"])
    # a map of labels the gold does not have, or one that renames them one to one, reads the same task
    check_same_gold([make_target("tag", "t", {"XX": "NN"}), plain], plain, references, ["a", "b"])
    check_same_gold([make_target("tag", "t", {"NNS": "PLURAL"}), plain], plain, references, ["a", "b"])


def test_the_recorded_command_keeps_a_model_that_looks_like_an_option(tmp_path, monkeypatch):
    nlp = spacy.blank("en")
    DocBin(docs=ner_docs(nlp)).to_disk(tmp_path / "test.spacy")
    save(tmp_path, "-full", ruler(PEOPLE, PLACES))
    monkeypatch.chdir(tmp_path)
    result = run("compare", "--resamples", 100, "--output", "out.json", "--", "-full", "-full", "test.spacy")
    assert result.exit_code == 0, result.output
    command = json.loads((tmp_path / "out.json").read_text())["command"]
    assert command.endswith("--output=out.json -- -full -full test.spacy")
    assert run(*shlex.split(command)[3:]).exit_code == 0


@pytest.mark.parametrize("bad", ['{"interval": "ab"}', '{"interval": [[0.1], [0.2]]}', '{"level": [1]}', '{"docs": 2.5}'])
def test_the_table_refuses_values_of_other_types(tmp_path, bad):
    good = {"target": "ents", "metric": "F1", "docs": 30, "score_a": 0.5, "score_b": 0.4, "difference": 0.1,
            "interval": [0.0, 0.2], "level": 0.95, "share_a_not_better": 0.01, "resamples": 1000}
    (tmp_path / "x.json").write_text(json.dumps({**good, **json.loads(bad)}))
    with pytest.raises(ValueError, match=r"x.json: \[E120\].*other types"):
        comparison_table(tmp_path)
