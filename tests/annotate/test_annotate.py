"""`spacy-xfer annotate`: formats, shards, resume, parallelism."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_xfer.annotate.outputs import doc_record
from spacy_xfer.annotate.run import annotate, model_digest
from spacy_xfer.pipeline.serialization import model_files
from spacy_xfer.cli import app

TEXTS = ["Anna lives in Paris", "Bob Smith visited New York today", "", "Paris loves Anna", "New York is big"]


@pytest.fixture
def text_input(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("".join(text + "\n" for text in TEXTS), encoding="utf8")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def ents(record):
    return [(s["token_start"], s["token_end"], s["label"]) for s in record["spans"]]


def test_text_to_jsonl_matches_the_pipeline(ner_model, text_input, tmp_path):
    out = tmp_path / "out.jsonl"
    summary = annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert summary == (3, 0, 5)
    assert not (tmp_path / "out.jsonl.parts").exists()
    records = read_jsonl(out)
    nlp = spacy.load(ner_model)
    assert [r["text"] for r in records] == TEXTS
    for record, doc in zip(records, nlp.pipe(TEXTS)):
        assert ents(record) == [(e.start, e.end - 1, e.label_) for e in doc.ents]


@pytest.mark.parametrize("input_format", ["tokens", "jsonl", "docbin"])
def test_input_formats_give_the_same_tokens(ner_model, text_input, tmp_path, input_format):
    nlp = spacy.blank("en")
    path = tmp_path / f"in.{input_format}"
    if input_format == "tokens":
        path.write_text("".join(text + "\n" for text in TEXTS), encoding="utf8")
    elif input_format == "jsonl":
        lines = [json.dumps({"tokens": text.split()} if i % 2 else {"text": text}) for i, text in enumerate(TEXTS)]
        path.write_text("\n".join(lines) + "\n", encoding="utf8")
    else:
        DocBin(docs=[nlp(text) for text in TEXTS]).to_disk(path)
    expected = tmp_path / "expected.jsonl"
    annotate(str(ner_model), text_input, expected, "text", "jsonl", progress=False)
    out = tmp_path / "out.jsonl"
    annotate(str(ner_model), path, out, input_format, "jsonl", progress=False)
    assert [([t["text"] for t in r["tokens"]], ents(r)) for r in read_jsonl(out)] == [
        ([t["text"] for t in r["tokens"]], ents(r)) for r in read_jsonl(expected)
    ]


def test_conll_and_docbin_outputs(ner_model, text_input, tmp_path):
    annotate(str(ner_model), text_input, tmp_path / "out.conll", "text", "conll", shard_size=2, confidence=True, progress=False)
    blocks = (tmp_path / "out.conll").read_text(encoding="utf8").split("\n\n")
    nlp = spacy.load(ner_model)
    doc = nlp(TEXTS[1])
    rows = [line.split("\t") for line in blocks[1].splitlines()]
    assert [row[0] for row in rows] == [t.text for t in doc]
    assert [row[1] for row in rows] == [t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "") for t in doc]
    assert all(0.0 < float(row[2]) <= 1.0 for row in rows)
    annotate(str(ner_model), text_input, tmp_path / "out.spacy", "text", "docbin", shard_size=2, confidence=True, progress=False)
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(nlp.vocab))
    assert [d.text for d in docs] == TEXTS
    assert [(e.start, e.end, e.label_) for e in docs[1].ents] == [(e.start, e.end, e.label_) for e in doc.ents]
    assert len(docs[1].spans["xfer_tagger"].attrs["scores"]) == len(doc.ents)


def test_resume_redoes_only_missing_shards(ner_model, text_input, tmp_path):
    out = tmp_path / "out"
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    shards = sorted(p.name for p in out.glob("*.jsonl"))
    assert shards == ["000000.jsonl", "000001.jsonl", "000002.jsonl"]
    before = {name: (out / name).read_bytes() for name in shards}
    (out / "000001.jsonl").unlink()
    summary = annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert summary == (3, 2, 2)
    assert {name: (out / name).read_bytes() for name in shards} == before
    with pytest.raises(ValueError, match="shard_size: 2, now 3"):
        annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=3, progress=False)


def test_n_best_and_confidence_in_jsonl(ner_model, text_input, tmp_path):
    out = tmp_path / "out.jsonl"
    annotate(str(ner_model), text_input, out, "text", "jsonl", n_best=3, confidence=True, progress=False)
    for record in read_jsonl(out):
        best = record["nbest"]["xfer_tagger"]
        assert len(best) == (3 if record["tokens"] else 1)
        assert [b["log_prob"] for b in best] == sorted((b["log_prob"] for b in best), reverse=True)
        assert all(0.0 < s["score"] <= 1.0 for s in record["spans"])
        assert all(0.0 < t["xfer_tagger_confidence"] <= 1.0 for t in record["tokens"])


def test_processes_give_the_same_output(ner_model, text_input, tmp_path):
    one = tmp_path / "one.jsonl"
    two = tmp_path / "two.jsonl"
    annotate(str(ner_model), text_input, one, "text", "jsonl", shard_size=1, confidence=True, progress=False)
    annotate(str(ner_model), text_input, two, "text", "jsonl", shard_size=1, confidence=True, n_process=2, progress=False)
    assert_same_output(read_jsonl(one), read_jsonl(two))


def assert_same_output(expected, got):
    """Identical tokens and labels; scores within 1e-5."""
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        assert [t["text"] for t in a["tokens"]] == [t["text"] for t in b["tokens"]]
        assert ents(a) == ents(b)
        confidence = [[t.get("xfer_tagger_confidence") for t in r["tokens"]] for r in (a, b)]
        assert confidence[0] == pytest.approx(confidence[1], abs=1e-5)
        scores = [[s.get("score") for s in r["spans"]] for r in (a, b)]
        assert scores[0] == pytest.approx(scores[1], abs=1e-5)


def test_errors_name_file_and_line(ner_model, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Anna"}\n{"tokens": [1, 2]}\n', encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(ner_model), str(bad), str(tmp_path / "o.jsonl"), "--input-format", "jsonl"])
    assert result.exit_code == 1
    assert f"{bad}:2: [E048] malformed \"tokens\"" in result.output
    # text and tokens both given must agree (Prodigy's records carry both)
    bad.write_text('{"text": "Anna  sings", "tokens": ["Anna", "sings"]}\n{"text": "a", "tokens": ["b"]}\n', encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(ner_model), str(bad), str(tmp_path / "o.jsonl"), "--input-format", "jsonl"])
    assert result.exit_code == 1
    assert f"""{bad}:2: [E048] its "tokens" 'b' are not the words of its "text" 'a'""" in result.output
    result = CliRunner().invoke(app, ["annotate", str(ner_model), str(bad), str(tmp_path / "o.jsonl"), "--output-format", "xml"])
    assert result.exit_code == 1 and "Unknown output format 'xml'" in result.output


def test_a_finished_output_is_annotated_again_with_new_settings(ner_model, text_input, tmp_path):
    out = tmp_path / "out.jsonl"
    annotate(str(ner_model), text_input, out, "text", "jsonl", progress=False)
    assert "xfer_tagger_confidence" not in read_jsonl(out)[0]["tokens"][0]
    summary = annotate(str(ner_model), text_input, out, "text", "jsonl", confidence=True, progress=False)
    assert summary.n_docs == len(TEXTS)
    assert "xfer_tagger_confidence" in read_jsonl(out)[0]["tokens"][0]
    with pytest.raises(ValueError, match=r"\[E038\] Invalid OUTPUT .*does not replace an input file"):
        annotate(str(ner_model), text_input, text_input, "text", "jsonl", progress=False)
    assert text_input.read_text(encoding="utf8").splitlines() == TEXTS


def test_a_run_that_failed_on_its_input_does_not_block_the_corrected_one(ner_model, text_input, tmp_path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match=r"in.txt:1: \[E048\] invalid JSON"):
        annotate(str(ner_model), text_input, out, "jsonl", "jsonl", progress=False)
    annotate(str(ner_model), text_input, out, "text", "jsonl", progress=False)
    assert [r["text"] for r in read_jsonl(out)] == TEXTS


def test_resume_after_an_input_change_redoes_only_the_changed_shards(ner_model, text_input, tmp_path):
    out = tmp_path / "out"
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    before = {path.name: path.read_bytes() for path in out.glob("*.jsonl")}
    changed = TEXTS[:3] + ["Anna visited Paris"] + TEXTS[4:]  # shard 1 of [0, 1], [2, 3], [4]
    text_input.write_text("".join(text + "\n" for text in changed), encoding="utf8")
    summary = annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert summary == (3, 2, 2)
    assert (out / "000000.jsonl").read_bytes() == before["000000.jsonl"]
    fresh = tmp_path / "fresh"
    annotate(str(ner_model), text_input, fresh, "text", "jsonl", shard_size=2, progress=False)
    assert [(out / name).read_bytes() for name in sorted(before)] == [(fresh / name).read_bytes() for name in sorted(before)]

    text_input.write_text("".join(text + "\n" for text in changed[:3]), encoding="utf8")  # shorter
    summary = annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert summary == (2, 1, 1)
    assert sorted(path.name for path in out.glob("0*")) == ["000000.jsonl", "000000.jsonl.sha256", "000001.jsonl", "000001.jsonl.sha256"]
    assert [r["text"] for name in ("000000.jsonl", "000001.jsonl") for r in read_jsonl(out / name)] == changed[:3]


def test_a_run_stopped_by_a_bad_line_resumes_after_the_fix(ner_model, tmp_path):
    """The shards before the bad line are kept; the fixed run annotates from its shard on
    and gives the output of a run on the fixed input from scratch."""
    lines = [json.dumps({"text": text}) for text in TEXTS]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines[:4] + ["{not json"] + lines[4:]) + "\n", encoding="utf8")
    out = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match=r"in.jsonl:5: \[E048\] invalid JSON"):
        annotate(str(ner_model), path, out, "jsonl", "jsonl", shard_size=2, progress=False)
    assert sorted(p.name for p in (tmp_path / "out.jsonl.parts").glob("*.jsonl")) == ["000000.jsonl", "000001.jsonl"]
    path.write_text("\n".join(lines[:4] + [json.dumps({"text": "Bob is here"})] + lines[4:]) + "\n", encoding="utf8")
    summary = annotate(str(ner_model), path, out, "jsonl", "jsonl", shard_size=2, progress=False)
    assert summary == (3, 2, 2)
    fresh = tmp_path / "fresh.jsonl"
    annotate(str(ner_model), path, fresh, "jsonl", "jsonl", shard_size=2, progress=False)
    assert out.read_bytes() == fresh.read_bytes()
    assert [r["text"] for r in read_jsonl(out)] == TEXTS[:4] + ["Bob is here"] + TEXTS[4:]


def test_text_lines_are_utf8_split_at_newlines_only(ner_model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("\ufeffAnna lives\r\nin Paris\rtoday\nBob\r\r\nAnn\r".encode("utf8"))
    out = tmp_path / "out.jsonl"
    annotate(str(ner_model), path, out, "text", "jsonl", progress=False)
    # a line ends at "\n" or "\r\n"; any other "\r" is text
    assert [r["text"] for r in read_jsonl(out)] == ["Anna lives", "in Paris\rtoday", "Bob\r", "Ann\r"]
    path.write_bytes(b"Anna\nPar\xffis\n")
    with pytest.raises(ValueError, match=r"in.txt:2: \[E048\] bytes that are not UTF-8 .*expected UTF-8 text"):
        annotate(str(ner_model), path, tmp_path / "other.jsonl", "text", "jsonl", progress=False)


def unescape_conll(form):
    escapes = {"s": " ", "t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    out, i = [], 0
    while i < len(form):
        if form[i] == "\\" and form[i + 1] == "u":
            out.append(chr(int(form[i + 2:i + 6], 16)))
            i += 6
        elif form[i] == "\\":
            out.append(escapes[form[i + 1]])
            i += 2
        else:
            out.append(form[i])
            i += 1
    return "".join(out)


def test_conll_keeps_its_columns_with_whitespace_tokens(ner_model, tmp_path):
    texts = ["Anna  lives\tin Paris", "", "a\\b \u00a0 New York", "Bob"]
    path = tmp_path / "in.txt"
    path.write_text("".join(text + "\n" for text in texts), encoding="utf8")
    annotate(str(ner_model), path, tmp_path / "out.conll", "text", "conll", confidence=True, progress=False)
    lines = (tmp_path / "out.conll").read_text(encoding="utf8").split("\n")
    assert lines[-1] == ""
    docs, rows = [], []
    for line in lines[:-1]:
        if line:
            rows.append(line.split("\t"))
        else:
            docs.append(rows)
            rows = []
    assert rows == [] and len(docs) == len(texts)
    nlp = spacy.load(ner_model)
    for text, doc_rows in zip(texts, docs):
        doc = nlp(text)
        assert any(t.is_space for t in doc) or text in ("", "Bob")
        assert all(len(row) == 3 and row[0] and not any(c.isspace() for c in row[0]) for row in doc_rows)
        assert [unescape_conll(row[0]) for row in doc_rows] == [t.text for t in doc]
        assert [row[1] for row in doc_rows] == [t.ent_iob_ + ("-" + t.ent_type_ if t.ent_type_ else "") for t in doc]


def test_outputs_that_cannot_be_written_are_refused_before_any_work(ner_model, text_input, tmp_path):
    (tmp_path / "afile").write_text("", encoding="utf8")
    (tmp_path / "afolder.jsonl").mkdir()
    with pytest.raises(ValueError, match=r"\[E092\] Cannot write .*afile/out.jsonl: .*afile is a file"):
        annotate(str(ner_model), text_input, tmp_path / "afile" / "out.jsonl", "text", "jsonl", progress=False)
    with pytest.raises(ValueError, match=r"\[E081\] .*afolder.jsonl is a folder: expected a file path"):
        annotate(str(ner_model), text_input, tmp_path / "afolder.jsonl", "text", "jsonl", progress=False)
    with pytest.raises(ValueError, match=r"\[E038\] Invalid output folder .*afile"):
        annotate(str(ner_model), text_input, tmp_path / "afile", "text", "jsonl", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["afile", "afolder.jsonl", text_input.name])


def test_bad_settings_are_refused_before_any_output_is_written(ner_model, text_input, tmp_path):
    with pytest.raises(ValueError, match=r"\[E039\] Unknown input format 'txt'"):
        annotate(str(ner_model), text_input, tmp_path / "out.jsonl", "txt", "jsonl", progress=False)
    assert not (tmp_path / "out.jsonl.parts").exists()
    training = tmp_path / "training"
    (training / "model-best").mkdir(parents=True)
    (training / "model-best" / "config.cfg").write_text("", encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(training), str(text_input), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert f"[E102] {training} is a training output folder, not a pipeline: expected the pipeline it saved, e.g. {training}/model-best" in result.output
    result = CliRunner().invoke(app, ["evaluate", str(training), str(tmp_path / "s.json"), "--target", "conll03", "--corpus-dir", str(tmp_path)])
    assert result.exit_code == 1 and f"[E102] {training} is a training output folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([text_input.name, "training"])


def test_an_output_suffix_of_another_format_is_refused(ner_model, text_input, tmp_path):
    with pytest.raises(ValueError, match=r"ending \.conll .* 'conll'"):
        annotate(str(ner_model), text_input, tmp_path / "out.jsonl", "text", "conll", progress=False)
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.jsonl.parts").exists()
    annotate(str(ner_model), text_input, tmp_path / "out.txt", "text", "conll", progress=False)
    assert (tmp_path / "out.txt").read_text(encoding="utf8").count("\n\n") >= 1


def pool_workers(parent):
    """The live pids of parent's spawned multiprocessing workers (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields["PPid"]) == parent and b"spawn_main" in cmdline and not fields["State"].startswith("Z"):
            found.append(int(status.parent.name))
    return found


def is_alive(pid):
    try:
        return not (Path(f"/proc/{pid}/status").read_text().split("State:\t")[1].startswith("Z"))
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")
def test_workers_end_when_the_parent_is_killed(ner_model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("Anna lives in Paris and Bob Smith visited New York today\n" * 20000, encoding="utf8")
    out = tmp_path / "out"
    script = (f"from pathlib import Path\nfrom spacy_xfer.annotate.run import annotate\n"
              f"annotate({str(ner_model)!r}, Path({str(path)!r}), Path({str(out)!r}), 'text', 'jsonl', n_process=2, shard_size=50, "
              f"progress=False)\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 240
        while not list(out.glob("*.jsonl")) and time.time() < deadline and parent.poll() is None:
            time.sleep(0.2)
        workers = pool_workers(parent.pid)
        assert len(workers) == 2 and parent.poll() is None
    finally:
        parent.kill()
        parent.wait()
    deadline = time.time() + 30
    while any(is_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if is_alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_a_folder_that_is_not_an_earlier_runs_output_is_refused_and_kept(ner_model, text_input, tmp_path):
    """Nothing annotate did not write is deleted: a user's folder (no annotate.json)
    and a user's OUTPUT.parts are refused; in an earlier run's folder only its own
    shard files past the end go."""
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("2019.jsonl", "2020.jsonl", "2020.jsonl.sha256", "000007.jsonl"):
        (mine / name).write_text("mine\n", encoding="utf8")
    with pytest.raises(ValueError, match=r"\[E104\] .*mine holds files but no annotate.json"):
        annotate(str(ner_model), text_input, mine, "text", "jsonl", shard_size=2, progress=False)
    parts = tmp_path / "res.jsonl.parts"
    parts.mkdir()
    (parts / "notes.txt").write_text("mine\n", encoding="utf8")
    with pytest.raises(ValueError, match=r"\[E104\] .*res.jsonl.parts holds files but no annotate.json"):
        annotate(str(ner_model), text_input, tmp_path / "res.jsonl", "text", "jsonl", progress=False)
    assert sorted(p.name for p in mine.iterdir()) == ["000007.jsonl", "2019.jsonl", "2020.jsonl", "2020.jsonl.sha256"]
    assert [p.name for p in parts.iterdir()] == ["notes.txt"] and not (tmp_path / "res.jsonl").exists()
    out = tmp_path / "out"
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    (out / "2019.jsonl").write_text("mine\n", encoding="utf8")
    (out / "0000003.jsonl").write_text("mine\n", encoding="utf8")  # not a name annotate gives
    text_input.write_text(TEXTS[0] + "\n", encoding="utf8")
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "000000.jsonl", "000000.jsonl.sha256", "0000003.jsonl", "2019.jsonl", "annotate.json"
    ]


def test_an_output_in_the_input_folder_is_refused(ner_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Anna lives in Paris\n", encoding="utf8")
    for output in (folder, folder / "out", folder / "out.jsonl"):
        with pytest.raises(ValueError, match=r"\[E038\] Invalid OUTPUT .*expected a path outside the input folder"):
            annotate(str(ner_model), folder, output, "text", "jsonl", progress=False)
    assert [p.name for p in folder.iterdir()] == ["a.txt"]


def test_another_output_format_does_not_mix_into_a_folder(ner_model, text_input, tmp_path):
    out = tmp_path / "out"
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    with pytest.raises(ValueError, match=r"\[E050\] .*output_format: 'jsonl', now 'conll'"):
        annotate(str(ner_model), text_input, out, "text", "conll", shard_size=2, progress=False)
    assert not list(out.glob("*.conll"))


def test_a_model_replaced_at_the_same_path_is_other_settings(ner_model, text_input, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    out = tmp_path / "out"
    annotate(str(model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert annotate(str(model), text_input, out, "text", "jsonl", shard_size=2, progress=False).n_skipped == 3
    meta = json.loads((model / "meta.json").read_text(encoding="utf8"))
    (model / "meta.json").write_text(json.dumps(meta | {"version": "0.0.2"}), encoding="utf8")
    with pytest.raises(ValueError, match=r"\[E050\] .*\(model_sha256: '[0-9a-f]{64}', now '[0-9a-f]{64}'\)"):
        annotate(str(model), text_input, out, "text", "jsonl", shard_size=2, progress=False)


def test_a_folder_output_says_when_it_is_complete(ner_model, tmp_path, monkeypatch):
    """`complete` is written last: false after a run that stopped (here at a bad line
    of its third shard, with two shards written), true once every shard is there."""
    lines = [json.dumps({"text": text}) for text in TEXTS]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines[:4] + ["{not json"]) + "\n", encoding="utf8")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"in.jsonl:5: \[E048\]"):
        annotate(str(ner_model), path, out, "jsonl", "jsonl", shard_size=2, progress=False)
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["000000.jsonl", "000001.jsonl"]
    assert json.loads((out / "annotate.json").read_text(encoding="utf8"))["complete"] is False
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    annotate(str(ner_model), path, out, "jsonl", "jsonl", shard_size=2, progress=False)
    assert json.loads((out / "annotate.json").read_text(encoding="utf8"))["complete"] is True
    # a longer input, and a run stopped while annotating the new shard: not complete
    path.write_text("\n".join(lines + lines) + "\n", encoding="utf8")
    def stopped(options, items):
        raise KeyboardInterrupt

    monkeypatch.setattr("spacy_xfer.annotate.run.annotate_shard", stopped)
    with pytest.raises(KeyboardInterrupt):
        annotate(str(ner_model), path, out, "jsonl", "jsonl", shard_size=2, progress=False)
    assert json.loads((out / "annotate.json").read_text(encoding="utf8"))["complete"] is False


def test_a_token_whitespace_flag_that_is_not_a_boolean_is_an_input_error(ner_model, tmp_path):
    path = tmp_path / "ws.jsonl"
    path.write_text('{"tokens": [{"text": "a", "ws": true}, {"text": "b"}]}\n{"tokens": [{"text": "a", "ws": "false"}]}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r'ws.jsonl:2: \[E048\] token 0 with "ws" \'false\'.*"ws" true or false'):
        annotate(str(ner_model), path, tmp_path / "o.jsonl", "jsonl", "jsonl", progress=False)


def test_a_temp_file_of_a_killed_run_does_not_block_the_next(ner_model, text_input, tmp_path):
    """A run killed while writing its first manifest leaves only the atomic write's
    hidden temp file: not a user's file, so the folder is not refused (and the file is
    left alone)."""
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / f".annotate.json.{'0' * 32}.tmp"
    leftover.write_text("{", encoding="utf8")
    annotate(str(ner_model), text_input, out, "text", "jsonl", shard_size=2, progress=False)
    assert json.loads((out / "annotate.json").read_text(encoding="utf8"))["complete"] is True and leftover.exists()


def test_a_lone_surrogate_is_an_input_error_and_leaves_nothing(ner_model, tmp_path):
    path = tmp_path / "sur.jsonl"
    path.write_text('{"text": "ok"}\n{"text": "bad \\ud800 x"}\n{"tokens": ["a", "\\udc00"]}\n', encoding="utf8")
    for output in (tmp_path / "x.jsonl", tmp_path / "x"):
        result = CliRunner().invoke(app, ["annotate", str(ner_model), str(path), str(output), "--input-format", "jsonl"])
        assert result.exit_code == 1
        assert f"{path}:2: [E048] a lone surrogate \\ud800" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["sur.jsonl"]
    path.write_text('{"tokens": ["a", "\\udc00"]}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r"sur.jsonl:1: \[E048\] a lone surrogate \\udc00"):
        annotate(str(ner_model), path, tmp_path / "x.jsonl", "jsonl", "jsonl", progress=False)


def test_n_best_is_bounded_and_capped_at_the_allowed_sequences(ner_model, text_input, tmp_path):
    result = CliRunner().invoke(app, ["annotate", str(ner_model), str(text_input), str(tmp_path / "o.jsonl"),
                                      "--n-best", "99999999999999999999"])
    assert result.exit_code == 1 and "[E038] Invalid --n-best 99999999999999999999: expected 0 (none) to 1000" in result.output
    nlp = spacy.load(ner_model)
    head = nlp.get_pipe("xfer_tagger")
    docs = [nlp.make_doc(text) for text in ("Anna", "Anna lives", "")]
    every = head.nbest(docs, 10**20)  # capped at the allowed sequences before the search allocates
    n_allowed = max(len(best.labels) for best in every)
    assert [len(best.labels) for best in every][2] == 1 and 1 < n_allowed < 1000
    assert every == head.nbest(docs, n_allowed)


def test_records_of_annotation_kept_by_the_head(ner_model):
    """A doc whose entities another component set: the head keeps them (`overwrite`
    off), so they have no score and their tokens no confidence, and the record stays
    strict JSON (no NaN); the head's own entities keep theirs."""
    nlp = spacy.load(ner_model)
    head = nlp.get_pipe("xfer_tagger")
    head.confidence = True
    doc = nlp.make_doc("Bob Smith visited New York today with Anna")
    doc.ents = [doc.char_span(18, 26, label="MISC")]
    doc = head(doc)
    record = json.loads(json.dumps(doc_record(doc, [head]), allow_nan=False))
    group = {(s.start, s.end - 1, s.label_): float(x) for s, x in zip(doc.spans[head.name], doc.spans[head.name].attrs["scores"])}
    assert [s for s in record["spans"] if (s["token_start"], s["token_end"]) == (3, 4)] == [
        {"start": 18, "end": 26, "token_start": 3, "token_end": 4, "label": "MISC"}
    ]
    for span in record["spans"]:
        key = (span["token_start"], span["token_end"], span["label"])
        assert span.get("score") == group.get(key)
    confidences = [token["xfer_tagger_confidence"] for token in record["tokens"]]
    assert confidences[3] is None and confidences[4] is None
    assert all(0.0 <= c <= 1.0 for i, c in enumerate(confidences) if i not in (3, 4) and c is not None)


def test_model_digest_reads_symlinked_folders(tmp_path):
    """A pipeline folder whose component folders are symlinks (a shared store): a
    change inside one is a change of the model."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "model").write_bytes(b"weights")
    model = tmp_path / "model"
    model.mkdir()
    (model / "meta.json").write_text("{}", encoding="utf8")
    (model / "ner").symlink_to(store, target_is_directory=True)
    before = model_digest(str(model))
    (store / "model").write_bytes(b"other weights")
    assert model_digest(str(model)) != before


def test_jsonl_records_keep_their_other_fields(ner_model, tmp_path):
    """A JSONL input's ids and meta come out with the annotation; the words and the
    annotations over them (`spans`, `nbest`, whose offsets need not fit the written
    text) and Prodigy's `_task_hash` are not carried over, and a change of kept fields
    redoes the shard of a JSONL output only."""
    path = tmp_path / "in.jsonl"
    records = [
        {"id": 7, "text": "Anna lives in Paris", "meta": {"doc": "a"}, "_input_hash": 1, "_task_hash": 2,
         "spans": [{"start": 0, "end": 4, "label": "OLD"}], "nbest": "old"},
        {"id": 8, "tokens": [{"text": "New", "ws": True}, {"text": "York"}], "answer": "accept"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf8")
    out = tmp_path / "out"
    annotate(str(ner_model), path, out, "jsonl", "jsonl", progress=False)
    (first, second) = read_jsonl(out / "000000.jsonl")
    nlp = spacy.load(ner_model)
    assert {k: first[k] for k in ("id", "meta", "_input_hash")} == {"id": 7, "meta": {"doc": "a"}, "_input_hash": 1}
    assert "_task_hash" not in first and "nbest" not in first
    assert ents(first) == [(e.start, e.end - 1, e.label_) for e in nlp("Anna lives in Paris").ents]
    assert (second["id"], second["answer"], [t["text"] for t in second["tokens"]]) == (8, "accept", ["New", "York"])
    path.write_text(path.read_text(encoding="utf8").replace('"id": 8', '"id": 9'), encoding="utf8")
    summary = annotate(str(ner_model), path, out, "jsonl", "jsonl", progress=False)
    assert summary.n_skipped == 0 and read_jsonl(out / "000000.jsonl")[1]["id"] == 9
    annotate(str(ner_model), path, tmp_path / "conll", "jsonl", "conll", progress=False)
    path.write_text(path.read_text(encoding="utf8").replace('"id": 9', '"id": 10'), encoding="utf8")
    assert annotate(str(ner_model), path, tmp_path / "conll", "jsonl", "conll", progress=False).n_skipped == 1
    path.write_text('{"text": "a", "meta": {"note": "\\ud800"}}\n', encoding="utf8")
    with pytest.raises(ValueError, match=r"in.jsonl:1: \[E048\] a lone surrogate \\ud800"):
        annotate(str(ner_model), path, tmp_path / "x.jsonl", "jsonl", "jsonl", progress=False)


def test_an_output_over_or_inside_the_model_is_refused(ner_model, text_input, tmp_path):
    """The model is read too: an OUTPUT that is one of its files, or a folder of shards
    inside it, would destroy or change it."""
    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    meta = (model / "meta.json").read_bytes()
    for output in (model / "meta.json", model / "out.jsonl", model / "shards"):
        with pytest.raises(ValueError, match=r"\[E038\] Invalid OUTPUT"):
            annotate(str(model), text_input, output, "text", "jsonl", progress=False)
    assert (model / "meta.json").read_bytes() == meta and not (model / "out.jsonl").exists()


def test_a_docbin_input_of_another_shape_is_named(ner_model, tmp_path):
    path = tmp_path / "in.spacy"
    path.write_bytes(zlib.compress(srsly.msgpack_dumps({"x": 1})))
    with pytest.raises(ValueError, match=r"\[E108\] .*in.spacy cannot be read as a DocBin"):
        annotate(str(ner_model), path, tmp_path / "out.jsonl", "docbin", "jsonl", progress=False)


def test_model_files_end_at_a_link_back_up(ner_model, tmp_path):
    """A symbolic link to a folder above (a loop) is followed once: the model is read,
    hashed and kept apart from OUTPUT without walking forever."""
    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    (model / "vocab" / "up").symlink_to(model, target_is_directory=True)
    assert model_digest(str(model)) and any(p.name == "meta.json" for p in model_files(model))
    (tmp_path / "in.txt").write_text("Anna\n", encoding="utf8")
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "a.txt").write_text("Anna\n", encoding="utf8")
    annotate(str(model), tmp_path / "pool", tmp_path / "pool" / "out" / "x.jsonl", "text", "jsonl", progress=False)  # a subfolder is not read
    assert (tmp_path / "pool" / "out" / "x.jsonl").exists()
