"""A corpus of one's own, end to end: `prepare` defines it (on the fly or from a user
benchmarks file) and writes the definition beside the DocBins; `train` and `evaluate`
read it from there."""

import json
import re
import shutil

import pytest
import srsly
import spacy
from spacy.util import load_config
from thinc.api import Config

from spacy_xfer.cli.experiment import check_left_out_tasks
from spacy_xfer.experiments.benchmarks import prepared_benchmark
from spacy_xfer.experiments.steps import check_gold_labels, evaluate_pipeline, gold_label_notes, train_overrides

from ..util import examples_for, tiny_tagger
from .util import CONFIGS, WNUT, WNUT_OPTIONS, failure, run, words_of


def overrides(config, source, target, corpus_dir, seed=7):
    config = load_config(CONFIGS / f"{config}.cfg", interpolate=False)
    return train_overrides(config, source, target, corpus_dir, rate=0.5, seed=seed, vectors=None)


def prepare_on_the_fly(wnut_files, out, name="mine"):
    files = [f"--{part}" for part in ("train", "dev", "test")]
    paths = [wnut_files[part] for part in ("train", "dev", "test")]
    return run("prepare", name, out, *WNUT_OPTIONS, *sum(zip(files, paths), ()))


def test_prepare_on_the_fly_writes_docbins_and_the_definition(wnut_files, tmp_path):
    out = tmp_path / "corpus" / "mine"
    result = prepare_on_the_fly(wnut_files, out)
    assert result.exit_code == 0, result.output
    assert "built-in" not in result.stderr
    assert "mine train: 12 sentences" in result.output
    assert words_of(out / "test.spacy")[0] == ["P0", "visits", "L0", "."]
    definition = json.loads((out / "benchmark.json").read_text())
    assert definition == {
        "mine": {
            "format": "wnut",
            "lang": "nl",
            "target": "ents",
            "files": {part: str(path.resolve()) for part, path in wnut_files.items()},
        }
    }
    assert prepared_benchmark("mine", tmp_path / "corpus") == definition["mine"]


def prepared_without_definition(corpus, name):
    """A built-in benchmark's folder as prepared before definitions were written (its
    DocBins copied from `mine`)."""
    (corpus / name).mkdir()
    for part in ("train", "dev"):
        shutil.copy(corpus / "mine" / f"{part}.spacy", corpus / name / f"{part}.spacy")


@pytest.mark.parametrize("config", ["t_b", "t_c"])
def test_train_takes_lang_targets_and_rate_seed_from_the_prepared_folders(config, wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    prepared_without_definition(corpus, "ptb")
    settings = overrides(config, "ptb", "mine", corpus)  # ptb's definition: the built-in one
    assert settings["nlp.lang"] == "nl"
    assert settings["xfer.source_target"] == "tag" and settings["xfer.target_target"] == "ents"
    assert settings["xfer.rate_seed"] == settings["system.seed"] == 7 and settings["xfer.rate"] == 0.5
    assert settings["paths.target_dev"] == str(corpus / "mine" / "dev.spacy")
    assert settings["paths.source_train"] == str(corpus / "ptb" / "train.spacy")
    assert overrides(config, "mine", "ptb", corpus)["xfer.source_target"] == "ents"
    shutil.rmtree(corpus / "ptb")
    with pytest.raises(FileNotFoundError, match=r"\[E065\] .*ptb/train.spacy not found: expected the output of `python -m spacy_xfer prepare ptb"):
        overrides(config, "ptb", "mine", corpus)


def test_rate_seed_and_vectors_not_given_keep_the_configs(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    config = load_config(CONFIGS / "single.cfg", interpolate=False)
    settings = train_overrides(config, None, "mine", corpus, rate=None, seed=None, vectors=None)
    assert not {"xfer.rate", "xfer.rate_seed", "system.seed", "paths.vectors"} & set(settings)
    assert settings["nlp.lang"] == "nl" and settings["xfer.target_target"] == "ents"


def test_t_a_refuses_a_source_of_another_target(wnut_files, tmp_path):
    """One T-A head learns both tasks: a source annotating tags under an entity target
    would make every source step a step without a loss."""
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    prepared_without_definition(corpus, "ptb")  # built in: tags
    with pytest.raises(ValueError, match=r"\[E107\] .*the source 'ptb' annotates 'tag' and the target 'mine' annotates 'ents'"):
        overrides("t_a", "ptb", "mine", corpus)
    assert overrides("t_b", "ptb", "mine", corpus)["xfer.source_target"] == "tag"  # a head per task


def test_single_and_t_a_read_the_target_definition(wnut_files, tmp_path, write_benchmarks):
    # ":" and "#" are PTB tags, and a delimiter and a comment as a config's keys
    label_map = {"PER": "person", ":": "location", "#": "other"}
    mine = {"format": "wnut", "lang": "de", "target": "ents", "t_a_label_maps": {"conll03": label_map}}
    path = write_benchmarks({"mine": {**mine, "files": {p: f.name for p, f in wnut_files.items()}}})
    corpus = tmp_path / "corpus"
    result = run("prepare", "mine", corpus / "mine", "--benchmarks", path)
    assert result.exit_code == 0, result.output
    single = overrides("single", None, "mine", corpus)
    assert (single["nlp.lang"], single["xfer.target_target"], single["xfer.rate_seed"]) == ("de", "ents", 7)
    prepared_without_definition(corpus, "conll03")
    t_a = overrides("t_a", "conll03", "mine", corpus)
    assert dict(t_a["xfer.label_map"]) == label_map and t_a["nlp.lang"] == "de"
    written = load_config(CONFIGS / "t_a.cfg", overrides=t_a).to_str()  # as `train` saves it
    nlp = spacy.util.load_model_from_config(Config().from_str(written))
    assert nlp.get_pipe("target").cfg["label_map"] == label_map
    with pytest.raises(ValueError, match=r"\[E064\] .*needs a source corpus: pass --source"):
        overrides("t_a", None, "mine", corpus)


def test_prepare_does_not_replace_the_benchmarks_file_it_reads(wnut_files, tmp_path):
    """A benchmarks file kept as OUTPUT_DIR/benchmark.json (the name of the definition
    `prepare` writes there): refused, and the file with its other entries kept."""
    mine = {"format": "wnut", "lang": "en", "target": "ents", "files": {p: str(f) for p, f in wnut_files.items()}}
    folder = tmp_path / "corpus" / "mine"
    folder.mkdir(parents=True)
    path = folder / "benchmark.json"
    path.write_text(json.dumps({"mine": mine, "other": mine}), encoding="utf8")
    before = path.read_bytes()
    result = run("prepare", "mine", folder, "--benchmarks", path)
    assert result.exit_code == 1 and "[E038] Invalid OUTPUT_DIR" in result.output
    assert "benchmark.json does not replace an input file" in result.output
    assert path.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["benchmark.json"]


def test_the_prepared_definition_wins_over_the_built_in_one(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    result = prepare_on_the_fly(wnut_files, corpus / "conll03", name="conll03")
    assert result.exit_code == 0, result.output
    assert "conll03: your definition, not the built-in benchmark of that name" in result.stderr
    assert f"conll03: `train` and `evaluate` read it with --corpus-dir {corpus}" in result.stderr
    assert overrides("single", None, "conll03", corpus)["nlp.lang"] == "nl"  # built in: en
    assert prepare_on_the_fly(wnut_files, corpus / "other").exit_code == 0
    with pytest.raises(ValueError, match=r"\[E059\] .*benchmark 'other' .* found \['mine'\]: prepare NAME writes"):
        overrides("single", None, "other", corpus)


def test_prepare_warns_when_the_folder_is_not_named_after_the_benchmark(wnut_files, tmp_path):
    """`train --target NAME` reads CORPUS_DIR/NAME only: a folder of another name is
    prepared (its DocBins serve plain `spacy train`), with a warning saying so."""
    result = prepare_on_the_fly(wnut_files, tmp_path / "corpus" / "mine_v2")
    assert result.exit_code == 0, result.output
    assert "mine: warning: `train` and `evaluate` read benchmark 'mine' from CORPUS_DIR/mine" in result.stderr
    assert str(tmp_path / "corpus" / "mine") in result.stderr
    assert "read it with --corpus-dir" not in result.stderr


def test_prepare_warns_of_dev_and_test_labels_train_lacks(tmp_path):
    """A dev label train has not (here a typo) is never predicted, and a test part
    without entities scores 0: both are named, with the file, when prepared."""
    (tmp_path / "train.txt").write_text(WNUT, encoding="utf8")
    (tmp_path / "dev.txt").write_text(WNUT.replace("B-location", "B-locaton", 3), encoding="utf8")
    (tmp_path / "test.txt").write_text("Going\tO\nhome\tO\n", encoding="utf8")
    files = [arg for part in ("train", "dev", "test") for arg in (f"--{part}", tmp_path / f"{part}.txt")]
    result = run("prepare", "mine", tmp_path / "corpus" / "mine", *WNUT_OPTIONS, *files)
    assert result.exit_code == 0, result.output
    dev, test = tmp_path / "dev.txt", tmp_path / "test.txt"
    assert f"mine: warning: dev ({dev}) has ner labels that train has not ('locaton'; 3 occurrences): the model cannot predict them" in result.stderr
    assert f"mine: warning: test ({test}) has no ner labels: every score on it is 0" in result.stderr
    result = run("prepare", "mine", tmp_path / "corpus" / "mine", *WNUT_OPTIONS, *files[:2], "--dev", tmp_path / "train.txt", *files[4:])
    assert "dev (" not in result.stderr


def test_an_unknown_name_says_how_to_define_it(tmp_path):
    with pytest.raises(ValueError, match=r"\[E058\] Unknown benchmark 'wnut17': .*benchmark.json not found .*prepare wnut17"):
        overrides("t_b", "conll03", "wnut17", tmp_path)


FILES = ("--train", "{train}", "--dev", "{dev}", "--test", "{test}")
WNUT_EN = ("--format", "wnut", "--lang", "en")


@pytest.mark.parametrize(
    "args,message",
    [
        (("--format", "wnut17", "--lang", "en", "--target", "ents", *FILES), "unknown format 'wnut17'"),
        ((*WNUT_EN, "--target", "pos", *FILES), "target 'pos': expected one of"),
        (("--format", "wnut", "--lang", "english", "--target", "ents", *FILES), "unknown language code 'english'"),
        ((*WNUT_EN, *FILES), "a benchmark defined with --format wnut also needs --target"),
        ((*WNUT_EN, "--target", "ents", "--train", "{train}", "--test", "{test}"), "also needs --dev or --dev-from-train"),
        (("--format", "columns", "--lang", "en", "--target", "ents", "--train", "{train}"), "also needs --test, --dev or --dev-from-train, --columns"),
        ((*WNUT_EN, "--target", "ents", *FILES, "--dev-from-train", "0.1"), "files.dev or dev_from_train"),
        ((*WNUT_EN, "--target", "ents", "--train", "{missing}", "--dev", "{dev}", "--test", "{test}"), "does not exist"),
        ((*WNUT_EN, "--target", "ents", *FILES, "--benchmarks", "{train}"), "not both"),
        (("--train", "{train}"), "define a benchmark with --format"),
    ],
)
def test_prepare_rejects_bad_definitions(args, message, wnut_files, tmp_path):
    args = [arg.format(missing=tmp_path / "missing.txt", **wnut_files) for arg in args]
    result = run("prepare", "mine", tmp_path / "out", *args)
    assert message in failure(result)
    assert not (tmp_path / "out" / "benchmark.json").exists()


def test_prepare_takes_one_or_two_folders(wnut_files, tmp_path):
    assert "expected [CORPORA_DIR] OUTPUT_DIR" in failure(run("prepare", "ptb", tmp_path, tmp_path, tmp_path))


def test_evaluate_checks_each_head_against_its_benchmark_target(wnut_files, tmp_path):
    nlp = tiny_tagger("tag")
    with pytest.raises(ValueError, match=r"\[E066\] .*predicts 'tag', but .*test.txt is scored on 'ents'"):
        evaluate_pipeline(nlp, {"target": wnut_files["test"]}, {"target": "ents"})


def test_evaluate_says_which_role_no_head_of_the_pipeline_learns(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    for name in ("mine", "src"):
        assert prepare_on_the_fly(wnut_files, corpus / name, name=name).exit_code == 0
    nlp = tiny_tagger("ents")  # one head without a task: a single-task pipeline serves the target
    nlp.initialize(lambda: examples_for(nlp, [("P1 visits L1 .", ["B-person", "O", "B-location", "O"])], "ents"))
    nlp.to_disk(tmp_path / "model")
    metrics = tmp_path / "metrics.json"
    result = run("evaluate", tmp_path / "model", metrics, "--source", "src", "--target", "mine", "--corpus-dir", corpus)
    assert result.exit_code == 0, result.output
    assert f"source (src): not scored, no head of {tmp_path / 'model'} learns the source task" in " ".join(result.output.split())
    assert "target (mine, test): " in result.output
    assert set(json.loads(metrics.read_text())) == {"model", "part", "target"}


def test_evaluate_does_not_write_over_what_it_reads(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    nlp = tiny_tagger("ents")
    nlp.initialize(lambda: examples_for(nlp, [("P1 visits L1 .", ["B-person", "O", "B-location", "O"])], "ents"))
    nlp.to_disk(tmp_path / "model")
    for output in (tmp_path / "model" / "meta.json", corpus / "mine" / "test.spacy", corpus / "mine" / "benchmark.json"):
        before = output.read_bytes()
        result = run("evaluate", tmp_path / "model", output, "--target", "mine", "--corpus-dir", corpus)
        message = " ".join(failure(result).split())
        assert f"[E038] Invalid OUTPUT '{output}'" in message and "does not replace an input file" in message
        assert output.read_bytes() == before
    result = run("evaluate", tmp_path / "model", corpus / "mine" / "test.spacy", "--target", "mine", "--corpus-dir", corpus, "--part", "dev")
    assert "[E038]" in failure(result) and words_of(corpus / "mine" / "test.spacy")  # a part it does not score: kept too
    for output in (tmp_path / "model" / "metrics.json", corpus / "mine" / "metrics.json"):  # not read: written again
        for _ in range(2):
            result = run("evaluate", tmp_path / "model", output, "--target", "mine", "--corpus-dir", corpus)
            assert result.exit_code == 0, result.output


def test_evaluate_fails_on_a_test_set_of_labels_the_model_has_not_learnt(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0  # person, location
    nlp = tiny_tagger("ents")
    nlp.initialize(lambda: examples_for(nlp, [("P1 visits L1 .", ["B-PER", "O", "B-LOC", "O"])], "ents"))
    nlp.to_disk(tmp_path / "model")
    metrics = tmp_path / "metrics.json"
    result = run("evaluate", tmp_path / "model", metrics, "--target", "mine", "--corpus-dir", corpus)
    message = " ".join(failure(result).split())
    assert "[E099] Component 'xfer_tagger' has not learnt the labels of" in message
    assert f"{corpus / 'mine' / 'test.spacy'} (their labels: " in message and "It learnt LOC, PER, and most of those are not in the file" in message
    assert "person" in message and "location" in message
    assert not metrics.exists()
    # a head trained on a small sample lacks some of the test's labels, not most of its own
    nlp = tiny_tagger("ents")
    nlp.initialize(lambda: examples_for(nlp, [("P1 visits", ["B-person", "O"])], "ents"))
    scores = evaluate_pipeline(nlp, {"target": corpus / "mine" / "test.spacy"}, {"target": "ents"})
    assert "xfer_tagger_f" in scores["target"]["scores"]
    assert scores["target"]["gold_labels"]["unknown_labels"] == {"location": 12}
    # and `evaluate` says so beside the score, and in the metrics
    nlp.to_disk(tmp_path / "small")
    result = run("evaluate", tmp_path / "small", metrics, "--target", "mine", "--corpus-dir", corpus)
    assert result.exit_code == 0, result.output
    assert "target (mine, test): " in result.stdout
    note = "note: 12 of 24 labelled tokens (50.0%) have labels the head has not learnt ('location'), which it cannot predict"
    assert note in " ".join(result.stderr.split())
    assert json.loads(metrics.read_text())["target"]["gold_labels"]["labelled_tokens"] == 24


def test_the_label_check_tells_another_label_set_from_a_small_sample_or_test_file(tmp_path):
    nlp = tiny_tagger("ents")
    nlp.initialize(lambda: examples_for(nlp, [("P L M", ["B-PER", "B-LOC", "B-MISC"])], "ents"))
    pipe, path = nlp.get_pipe("xfer_tagger"), tmp_path / "test.spacy"
    # one long span of a type the head has not seen, beside one it has: no error
    gold = check_gold_labels("xfer_tagger", pipe, examples_for(nlp, [("a b c d e P", ["B-ORG"] + ["I-ORG"] * 4 + ["B-PER"])], "ents"), path)
    assert gold == {"labelled_tokens": 6, "mapped_tokens": 0, "mapped_labels": {}, "unknown_labels": {"ORG": 5}}
    with pytest.raises(ValueError, match=r"\[E099\] .* 2 of the 2 labelled tokens .*their labels: location, person\). It learnt LOC, MISC, PER"):
        check_gold_labels("xfer_tagger", pipe, examples_for(nlp, [("P L", ["B-person", "B-location"])], "ents"), path)


def test_the_label_check_counts_the_gold_labels_a_label_map_changes(tmp_path):
    # a T-A head that learnt UPOS through its map, scored on PTB tags
    nlp = tiny_tagger("tag", label_map={"NN": "NOUN", "VBZ": "VERB", "DT": "DET"})
    nlp.initialize(lambda: examples_for(nlp, [("the dog barks", ["DT", "NN", "VBZ"])], "tag"))
    pipe = nlp.get_pipe("xfer_tagger")
    examples = examples_for(nlp, [("a cat sleeps well", ["DT", "NN", "VBZ", "RB"]), ("dogs", ["NOUN"])], "tag")
    gold = check_gold_labels("xfer_tagger", pipe, examples, tmp_path / "test.spacy")
    assert gold == {
        "labelled_tokens": 5,
        "mapped_tokens": 3,
        "mapped_labels": {"DT": "DET", "NN": "NOUN", "VBZ": "VERB"},
        "unknown_labels": {"RB": 1},
    }
    mapped, unknown = gold_label_notes(gold)
    assert mapped.startswith("3 of 5 labelled tokens (60.0%) are scored with their gold label mapped by the head's label_map")
    assert "('DT' -> 'DET', 'NN' -> 'NOUN', 'VBZ' -> 'VERB')" in mapped
    assert unknown.startswith("1 of 5 labelled tokens (20.0%) have labels the head has not learnt ('RB')")
    assert gold_label_notes({**gold, "mapped_tokens": 0, "mapped_labels": {}, "unknown_labels": {}}) == []
    # a few tokens of many are not shown as 0.0%
    (rare,) = gold_label_notes({**gold, "labelled_tokens": 41197, "mapped_tokens": 0, "mapped_labels": {}, "unknown_labels": {")": 9}})
    assert rare.startswith("9 of 41197 labelled tokens (<0.1%) have labels the head has not learnt (')')")


def test_evaluate_on_an_unprepared_benchmark_says_how_to_prepare_it(wnut_files, tmp_path):
    corpus = tmp_path / "corpus"
    nlp = tiny_tagger("ents")
    nlp.initialize(lambda: examples_for(nlp, [("P1 visits L1 .", ["B-person", "O", "B-location", "O"])], "ents"))
    nlp.to_disk(tmp_path / "model")
    result = run("evaluate", tmp_path / "model", tmp_path / "m.json", "--target", "conll03", "--corpus-dir", corpus)
    message = " ".join(failure(result).split())
    assert f"[E065] {corpus / 'conll03' / 'test.spacy'} not found: expected the output of `python -m spacy_xfer prepare conll03" in message
    # a source that no head of the pipeline learns need not be prepared
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    result = run("evaluate", tmp_path / "model", tmp_path / "m.json", "--source", "conll03", "--target", "mine", "--corpus-dir", corpus)
    assert result.exit_code == 0, result.output
    assert "source (conll03): not scored" in result.output


def prepare_mine_and_src(wnut_files, tmp_path):
    """Prepare `mine` (WNUT-style) and a source `src` into tmp_path/corpus; RETURNS it."""
    corpus = tmp_path / "corpus"
    assert prepare_on_the_fly(wnut_files, corpus / "mine").exit_code == 0
    source = tmp_path / "source.txt"
    source.write_text(WNUT.replace("person", "PER").replace("location", "LOC"), encoding="utf8")
    result = run("prepare", "src", corpus / "src", "--format", "wnut", "--train", source, "--dev", source,
                 "--test", source, "--lang", "en", "--target", "ents")
    assert result.exit_code == 0, result.output
    return corpus


def train_tiny_t_b(wnut_files, tmp_path, *options):
    """Prepare `mine` and `src`, then train a tiny T-B model for 2 steps into
    tmp_path/training; RETURNS the corpus folder."""
    corpus = prepare_mine_and_src(wnut_files, tmp_path)
    # the listeners' widths follow the encoder's output width
    tiny = ["--set", "components.encoder.model.output_width=16", "--set", "components.encoder.model.width=8"]
    result = run("train", CONFIGS / "t_b.cfg", tmp_path / "training", "--source", "src", "--target", "mine",
                 "--corpus-dir", corpus, "--set", "training.max_steps=2", "--set", "training.eval_frequency=2",
                 *tiny, *options)
    assert result.exit_code == 0, result.output
    # every caller caps the steps: the closing line says so, and names model-best's step
    assert re.search(r"Stopped at max_steps \(\d+\); model-best holds step \d+, dev score", result.output)
    return corpus


@pytest.mark.slow
def test_train_and_evaluate_a_prepared_corpus_of_ones_own(wnut_files, tmp_path):
    corpus = train_tiny_t_b(wnut_files, tmp_path)
    # each dev evaluation logged beside the models, and the end said
    evaluations = list(srsly.read_jsonl(tmp_path / "training" / "train_log.jsonl"))
    assert [entry["step"] for entry in evaluations] == [0, 2]
    meta = json.loads((tmp_path / "training" / "model-best" / "meta.json").read_text())
    assert meta["lang"] == "nl"
    # the target head's scores, none of the unscored source's or of targets no head has
    scores = {key for key in meta["performance"] if not key.endswith("_loss")}
    assert scores == {"target_score", "ents_f", "ents_p", "ents_r", "ents_per_type"}
    metrics = tmp_path / "metrics.json"
    result = run("evaluate", tmp_path / "training" / "model-best", metrics, "--source", "src", "--target", "mine",
                 "--corpus-dir", corpus)
    assert result.exit_code == 0, result.output
    scores = json.loads(metrics.read_text())
    assert scores["target"]["definition"]["lang"] == "nl" and scores["target"]["sentences"] == 12
    assert "target_f" in scores["target"]["scores"] and "source_f" in scores["source"]["scores"]


@pytest.mark.slow
def test_a_transfer_run_evaluates_on_the_targets_dev_set_alone_by_default(wnut_files, tmp_path):
    train_tiny_t_b(wnut_files, tmp_path)
    # the trained pipeline's config keeps the default: its dev reader gives the target's examples only
    nlp = spacy.load(tmp_path / "training" / "model-best")
    config = nlp.config.interpolate()
    dev_corpus = spacy.registry.resolve({"dev": config["corpora"]["dev"]})["dev"]
    scores = nlp.evaluate(dev_corpus(nlp))
    assert scores["target_f"] is not None and scores["source_f"] is None, scores


def trained_weights(model):
    """The weights of each component of a saved pipeline, by component name."""
    nlp = spacy.load(model)
    return {name: pipe.model.to_bytes() for name, pipe in nlp.components if hasattr(pipe, "model")}


@pytest.mark.slow
def test_dev_evaluations_leave_the_trained_weights_as_they_are(wnut_files, tmp_path):
    # evaluated after every step on both tasks' dev sets, or once at the end on the target's:
    # the same seed must give the same weights (evaluation draws no random numbers and
    # writes nothing the next step reads)
    often = ("--set", "training.max_steps=6", "--set", "training.eval_frequency=1", "--set", "xfer.source_dev_rate=1")
    rarely = ("--set", "training.max_steps=6", "--set", "training.eval_frequency=6")
    train_tiny_t_b(wnut_files, tmp_path / "often", *often)
    train_tiny_t_b(wnut_files, tmp_path / "rarely", *rarely)
    weights = [trained_weights(tmp_path / run / "training" / "model-last") for run in ("often", "rarely")]
    assert sorted(weights[0]) == ["encoder", "source", "target"]
    assert weights[0] == weights[1]


@pytest.mark.parametrize("setting,reader", [
    ("corpora.dev.tasks.target.rate", "out of the dev evaluations, the target's dev score"),
    ("initialize.components.encoder.corpus.tasks.source.rate", "out of the initialize corpus of 'encoder', which gives"),
])
def test_train_refuses_to_leave_the_target_out_of_dev_or_a_task_out_of_initialize(setting, reader, wnut_files, tmp_path):
    corpus = prepare_mine_and_src(wnut_files, tmp_path)
    # a step cap, so that a run the check let through ends at once and fails the test
    result = run("train", CONFIGS / "t_b.cfg", tmp_path / "training", "--source", "src", "--target", "mine",
                 "--corpus-dir", corpus, "--set", f"{setting}=0", "--set", "training.max_steps=1")
    assert result.exit_code == 1 and f"[E096] {setting} = 0 leaves the task" in result.output
    assert reader in " ".join(result.output.split())
    assert not (tmp_path / "training").exists()


def test_prepare_reads_another_encoding_and_says_once_per_file_what_lenient_reading_touched(tmp_path):
    train = tmp_path / "train.txt"
    train.write_bytes("Caf\u00e9\tB-LOC\nbroken\n\nZ\u00fcrich\tB-LOC\nnu\tO\n\nP1\tB-PER\n".encode("latin-1"))
    test = tmp_path / "test.txt"
    test.write_bytes(train.read_bytes())
    args = ("--train", train, "--dev-from-train", "0.5", "--split-order", "file", "--test", test)
    result = run("prepare", "mine", tmp_path / "out", *WNUT_OPTIONS, *args, "--encoding", "latin-1", "--lenient")
    assert result.exit_code == 0, result.output
    assert words_of(tmp_path / "out" / "train.spacy") == [["Z\u00fcrich", "nu"]]
    # train and dev come from one reading of the file, test from another: two lines
    lines = [line for line in result.output.splitlines() if "lenient:" in line]
    assert lines == [f"mine {path}: lenient: 0 lines repaired, 1 skipped, 1 sentences left out" for path in (train, test)]


@pytest.mark.parametrize("args,message", [
    (("train", CONFIGS / "single.cfg", "{out}", "--target", "mine", "--rate", "0"), "0 is not a labelling rate"),
    (("train", CONFIGS / "single.cfg", "{out}", "--target", "mine", "--max-seconds", "-5"), "--max-seconds"),
    (("train", CONFIGS / "single.cfg", "{out}", "--target", "mine", "--seed", "-1"), "--seed"),
    (("evaluate", "{model}", "{model}", "--target", "mine"), "is a directory"),
    (("evaluate", "{model}", "{out}", "--target", "mine", "--part", "validation"), "--part 'validation': expected test or dev"),
])
def test_bad_training_and_evaluation_options_stop_before_any_work(args, message, tmp_path):
    (tmp_path / "model").mkdir()
    args = [str(arg).format(out=tmp_path / "out", model=tmp_path / "model") for arg in args]
    result = run(*args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists() and list((tmp_path / "model").iterdir()) == []


def test_train_refuses_a_source_its_config_has_no_task_for_and_an_output_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("", encoding="utf8")
    result = run("train", str(CONFIGS / "single.cfg"), str(tmp_path / "afile"), "--target", "mine", "--corpus-dir", str(tmp_path))
    assert result.exit_code == 1 and "[E038] Invalid output folder" in result.output and "afile" in result.output
    result = run("train", str(CONFIGS / "single.cfg"), str(tmp_path / "out"), "--target", "mine", "--source", "ptb")
    assert result.exit_code == 1 and "[E091] This config has no source task" in result.output and "--source ptb" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("text,message", [
    ("hello world\n", "bad.cfg:1: [E093] Not a spaCy config: 'hello world' comes before any [section]"),
    ("[paths]\ntrain = 1\nnot a setting\n", "bad.cfg:3: [E093] Not a spaCy config: 'not a setting\\n' is neither"),
    ("[paths]\ntrain = 1\n[paths]\n", "bad.cfg:3: [E093] Not a spaCy config: section [paths] appears twice"),
    ("[paths]\ntrain = 1\ntrain = 2\n", "bad.cfg:3: [E093] Not a spaCy config: 'train' appears twice in [paths]"),
    ("[paths]\ntrain = null\n[nlp]\nlang = \"en\"\n", "[E094] {path} has no [xfer], [training], [training.batcher]"),
    ("[paths]\n[xfer]\n[nlp]\n[training]\npatience = 5\n[training.batcher]\n"
     "[corpora]\n[corpora.train]\n[corpora.train.tasks]\n[corpora.train.tasks.target]\npath = null\n",
     "[E094] {path} has no `paths.target_train`, `training.eval_frequency`, `training.batcher.size`"),
    ("[paths]\ntarget_train = null\n[xfer]\n[nlp]\n[training]\neval_frequency = 20\npatience = 5\n[training.batcher]\nsize = 2\n",
     "[E094] {path} has no [corpora.train.tasks.target]"),
    ("[paths]\ntrain = \"caf\u00e9\"\n", "bad.cfg:2: [E093] Not a spaCy config: bytes that are not UTF-8"),
])
def test_train_names_the_file_and_line_of_a_config_it_cannot_use(text, message, tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text(text, encoding="utf8" if "UTF-8" not in message else "latin-1")
    result = run("train", str(path), str(tmp_path / "out"), "--target", "mine", "--corpus-dir", str(tmp_path))
    assert result.exit_code == 1 and message.format(path=path) in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def filled(path, overrides):
    """A config as `train` hands it to the rate check."""
    return load_config(path, overrides=overrides, interpolate=True)


def test_the_rate_check_passes_readers_without_tasks_and_a_left_out_source(tmp_path):
    plain = tmp_path / "plain.cfg"
    plain.write_text('[training]\ndev_corpus = "corpora.dev"\n[corpora]\n[corpora.dev]\n@readers = "spacy.Corpus.v1"\npath = null\n', encoding="utf8")
    check_left_out_tasks(filled(plain, {}))
    check_left_out_tasks(filled(plain, {"training.patience": 5}))
    check_left_out_tasks(filled(CONFIGS / "t_b.cfg", {"corpora.dev.tasks.source.rate": 0}))
    with pytest.raises(ValueError, match=r"\[E096\] corpora.dev.tasks.target.rate = 0"):
        check_left_out_tasks(filled(CONFIGS / "t_b.cfg", {"corpora.dev.tasks.target.rate": 0.0}))
    # the dev reader is the one [training] dev_corpus names
    with pytest.raises(ValueError, match=r"\[E096\] corpora.train.tasks.target.rate = 0"):
        check_left_out_tasks(filled(CONFIGS / "t_b.cfg", {"training.dev_corpus": "corpora.train", "corpora.train.tasks.target.rate": 0}))
