"""`spacy-xfer select`: ranking by uncertainty, diversity, Prodigy-style output."""

import json

import numpy
import pytest
import spacy
from spacy.util import fix_random_seed
from typer.testing import CliRunner

from spacy_xfer.annotate.select import choose_head, select
from spacy_xfer.cli import app

from ..pipeline.test_heads import t_b, task_data
from ..util import train

POOL = [
    "Anna lives in Paris",
    "Bob Smith visited New York today",
    "Paris loves Anna",
    "the green ham is good",
    "Anna lives in Paris now",
    "New York is big",
    "They eat blue eggs daily",
    "",
    "Smith and Anna visited York",
    "   ",
    "\t",
]


@pytest.fixture
def pool(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in POOL), encoding="utf8")
    return path


@pytest.fixture(scope="module")
def t_b_model(tmp_path_factory):
    """A tiny trained T-B pipeline on disk: NER heads `source` and `target` (primary)
    over a shared encoder."""
    fix_random_seed(0)
    nlp = t_b(["source", "target"])
    source, target = task_data(nlp)
    train(nlp, source + target, steps=60)
    path = tmp_path_factory.mktemp("models") / "t_b"
    nlp.to_disk(path)
    return path


def sequence_probs(model, text, k=2):
    nlp = spacy.load(model)
    (best,) = nlp.get_pipe("xfer_tagger").nbest([nlp.make_doc(text)], k, entropy=True)
    return numpy.exp(best.log_probs), best.entropy


@pytest.mark.parametrize("strategy", ["least_confidence", "margin", "entropy"])
def test_ranks_by_the_strategy_score(ner_model, pool, tmp_path, strategy):
    records = select(ner_model, pool, tmp_path / "out.jsonl", n=len(POOL), strategy=strategy, diversity=1.0, progress=False)
    assert len(records) == 8  # every sentence that is not empty or whitespace only
    scores = [r["meta"]["score"] for r in records]
    assert scores == sorted(scores, reverse=strategy != "margin")
    for record in records:
        probs, entropy = sequence_probs(ner_model, record["text"])
        expected = {"least_confidence": 1 - probs[0], "margin": probs[0] - probs[1], "entropy": entropy}[strategy]
        line = POOL.index(record["text"]) + 1
        assert record["meta"] == {"score": pytest.approx(expected, abs=1e-6), "strategy": strategy, "source": f"{pool}:{line}"}


def test_writes_prodigy_tasks_of_the_prediction(ner_model, pool, tmp_path):
    out = tmp_path / "out.jsonl"
    records = select(ner_model, pool, out, n=3, strategy="margin", progress=False)
    assert [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()] == records
    nlp = spacy.load(ner_model)
    for record in records:
        doc = nlp(record["text"])
        assert [t["text"] for t in record["tokens"]] == [t.text for t in doc]
        for token in record["tokens"]:
            assert record["text"][token["start"] : token["end"]] == token["text"]
            assert set(token) == {"text", "start", "end", "id", "ws"}
        expected = [(e.start_char, e.end_char, e.start, e.end - 1, e.label_) for e in doc.ents]
        got = [(s["start"], s["end"], s["token_start"], s["token_end"], s["label"]) for s in record["spans"]]
        assert got == expected


def test_the_pool_records_other_fields_are_kept_and_meta_extended(ner_model, tmp_path):
    pool = tmp_path / "pool.jsonl"
    lines = [{"text": text, "id": i, "meta": {"doc": f"d{i}"}, "_task_hash": 5} for i, text in enumerate(POOL[:4])]
    pool.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf8")
    records = select(ner_model, pool, tmp_path / "out.jsonl", n=4, diversity=1.0, progress=False)
    for record in records:
        i = POOL.index(record["text"])
        assert record["id"] == i and "_task_hash" not in record
        assert record["meta"] == {"doc": f"d{i}", "score": record["meta"]["score"], "strategy": "least_confidence",
                                  "source": f"{pool}:{i + 1}"}
    pool.write_text('{"text": "Anna", "meta": null}\n', encoding="utf8")
    (record,) = select(ner_model, pool, tmp_path / "null.jsonl", n=1, progress=False)
    assert set(record["meta"]) == {"score", "strategy", "source"}
    result = CliRunner().invoke(app, ["select", str(ner_model), str(pool), str(pool)])
    assert result.exit_code == 1 and "does not replace an input file" in result.output
    for output in (ner_model / "meta.json", tmp_path / "pool.jsonl.d" / "x.jsonl"):  # a model file; the pool folder
        pool.with_name("pool.jsonl.d").mkdir(exist_ok=True)
        (tmp_path / "pool.jsonl.d" / "p.jsonl").write_text('{"text": "Anna"}\n', encoding="utf8")
        source = tmp_path / "pool.jsonl.d" if output.parent.name == "pool.jsonl.d" else pool
        result = CliRunner().invoke(app, ["select", str(ner_model), str(source), str(output)])
        assert result.exit_code == 1 and "[E038] Invalid OUTPUT" in result.output, result.output
    assert pool.read_text(encoding="utf8") == '{"text": "Anna", "meta": null}\n'
    pool.write_text('{"text": "fine"}\n{"text": "Anna", "meta": "not an object"}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r"pool.jsonl:2: \[E048\] \"meta\" 'not an object', which is not an object"):
        select(ner_model, pool, tmp_path / "x.jsonl", n=1, progress=False)
    assert not (tmp_path / "x.jsonl").exists()


def test_token_targets_give_one_span_per_token(tag_model, pool, tmp_path):
    (record,) = select(tag_model, pool, tmp_path / "out.jsonl", n=1, progress=False)
    doc = spacy.load(tag_model)(record["text"])
    assert [(s["token_start"], s["token_end"], s["label"]) for s in record["spans"]] == [
        (t.i, t.i, t.tag_) for t in doc
    ]


def test_diversity_skips_near_duplicates(ner_model, pool, tmp_path):
    records = select(ner_model, pool, tmp_path / "out.jsonl", n=8, strategy="random", diversity=0.5, progress=False)
    texts = [r["text"] for r in records]
    assert not {"Anna lives in Paris", "Anna lives in Paris now"} <= set(texts)  # Jaccard 0.8
    sets = [set(t.lower().split()) for t in texts]
    for i, a in enumerate(sets):
        for b in sets[:i]:
            assert len(a & b) / len(a | b) <= 0.5
    assert len(records) < 8


def test_random_is_deterministic_for_a_seed_and_varies_with_it(ner_model, pool, tmp_path):
    def chosen(seed):
        return [r["text"] for r in select(ner_model, pool, tmp_path / "o.jsonl", n=4, strategy="random", seed=seed, progress=False)]

    assert chosen(0) == chosen(0)
    assert len({tuple(chosen(seed)) for seed in range(4)}) > 1


@pytest.mark.parametrize("strategy", ["random", "least_confidence"])
def test_the_choice_does_not_depend_on_the_batch_size(ner_model, pool, tmp_path, strategy):
    def chosen(batch_size):
        records = select(ner_model, pool, tmp_path / "o.jsonl", n=4, strategy=strategy, seed=3, batch_size=batch_size, progress=False)
        return [r["text"] for r in records]

    assert chosen(1) == chosen(3) == chosen(64)


def test_cli_and_its_errors(ner_model, pool, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["select", str(ner_model), str(pool), str(out), "--n", "2", "--strategy", "entropy"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2 and "fewer than" not in result.output
    result = runner.invoke(app, ["select", str(ner_model), str(pool), str(out), "--n", "50"])
    assert result.exit_code == 0 and "fewer than --n 50: the input has no more sentences" in result.stderr
    result = runner.invoke(app, ["select", str(ner_model), str(pool), str(out), "--strategy", "best"])
    assert result.exit_code == 1 and "Unknown strategy 'best'" in result.output
    for batch_size in ("0", "-1"):
        result = runner.invoke(app, ["select", str(ner_model), str(pool), str(out), "--batch-size", batch_size])
        assert result.exit_code == 1 and f"Invalid --batch-size {batch_size}: expected at least 1" in result.output
    result = runner.invoke(app, ["select", str(ner_model), str(pool), str(tmp_path)])
    assert result.exit_code == 1 and f"[E081] {tmp_path} is a folder" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"txt": "oops"}\n', encoding="utf8")
    result = runner.invoke(app, ["select", str(ner_model), str(bad), str(out)])
    assert result.exit_code == 1 and f"{bad}:2" in result.output


def test_a_head_over_a_shared_encoder_ranks_and_labels_as_the_pipeline_predicts(t_b_model, pool, tmp_path):
    """The head listens to the encoder: select runs it first (without, the head would
    predict from zeros); with two heads, the primary one ranks."""
    records = select(t_b_model, pool, tmp_path / "out.jsonl", n=8, strategy="least_confidence", diversity=1.0, progress=False)
    assert len(records) == 8
    nlp = spacy.load(t_b_model)
    head = nlp.get_pipe("target")
    for record in records:
        doc = nlp(record["text"])
        got = [(s["token_start"], s["token_end"], s["label"]) for s in record["spans"]]
        assert got == [(e.start, e.end - 1, e.label_) for e in doc.ents]
        (best,) = head.nbest([doc], 1)
        assert record["meta"]["score"] == pytest.approx(1 - numpy.exp(best.log_probs[0]), abs=1e-6)
    assert any(record["spans"] for record in records)


def test_nbest_refuses_docs_the_shared_encoder_has_not_seen(t_b_model):
    nlp = spacy.load(t_b_model)
    docs = [nlp("Anna lives in Paris"), nlp.make_doc("Bob sings"), nlp.make_doc("")]
    with pytest.raises(ValueError, match=r"\[E090\] Component 'target' reads .* from 'encoder'.* 1 of the 3 docs .*doc 1, 'Bob sings'"):
        nlp.get_pipe("target").nbest(docs, 2)


def test_several_heads_rank_by_the_primary_one_or_need_a_name():
    assert choose_head(t_b(["source", "target"]), None).name == "target"
    with pytest.raises(ValueError, match=r"\[E047\].*several \(source, target\), 0 of them primary: choose one with --component"):
        choose_head(t_b(["source", "target"], primary_target=False), None)
    assert choose_head(t_b(["source", "target"], primary_target=False), "source").name == "source"
