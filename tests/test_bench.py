"""bench/: the data the benchmarks time, the tables they print, peers.py's columns of
older checkouts, annotate_scaling.py's check of identical outputs, and smoke runs of
bench/speed.py, bench/peers.py and bench/gru_floor.py on tiny settings (the numbers themselves are not
checked: they depend on the machine)."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import annotate_scaling, gru_floor, peers, speed, startup  # noqa: E402
from bench.checkout_worker import check_loaded_from  # noqa: E402
from bench.data import load_sentences  # noqa: E402
from bench.machine import CpuMeter  # noqa: E402
from bench.options import config_overrides  # noqa: E402
from bench.pipelines import xfer_pipeline  # noqa: E402
from bench.report import ratio_table, scaling_table  # noqa: E402
from spacy_xfer.models.pytorch_gru import FUSED, NN_GRU, inference_path  # noqa: E402

from .util import import_extra  # noqa: E402


def test_synthetic_entities_are_valid_iob2_spacy_reads():
    vocab = spacy.blank("en").vocab
    sentences = load_sentences(None, 50, seed=3, ents=True)
    assert sentences == load_sentences(None, 50, seed=3, ents=True)  # seeded
    ents = [Doc(vocab, words=words, ents=tags).ents for words, tags in sentences]
    assert sum(len(e) for e in ents) > 0
    assert {e.label_ for doc_ents in ents for e in doc_ents} <= {"PER", "LOC", "ORG", "MISC"}


def test_ratio_table_divides_our_rate_by_each_peers():
    results = [
        {"system": "ours", "phase": "infer", "batch_size": 1, "rate": 500.0},
        {"system": "spacy", "phase": "infer", "batch_size": 1, "rate": 2000.0},
        {"system": "ours", "phase": "train", "batch_size": 10, "rate": 300.0},
        {"system": "spacy", "phase": "train", "batch_size": 10, "rate": 200.0},
        {"system": "flair", "phase": "train", "batch_size": 10, "rate": 100.0},
    ]
    lines = ratio_table(results, "ours", ["spacy", "flair"])
    assert lines[0] == "| work | ours | spacy | flair | ours / spacy | ours / flair |"
    assert lines[2] == "| inference, batch 1 | 500 words/s | 2,000 words/s | - | 0.25 | - |"
    assert lines[3] == "| training, batch 10 | 300 tokens/s | 200 tokens/s | 100 tokens/s | 1.50 | 3.00 |"


def test_quantized_lines_divide_the_int8_rate_by_float32_and_the_peer():
    results = [
        {"system": peers.OURS, "phase": "infer", "batch_size": 256, "rate": 1000.0},
        {"system": peers.QUANTIZED, "phase": "infer", "batch_size": 256, "rate": 1500.0},
        {"system": peers.SPACY, "phase": "infer", "batch_size": 256, "rate": 3000.0},
        {"system": peers.QUANTIZED, "phase": "infer", "batch_size": 1, "rate": 90.0},  # no float32 row: no line
        {"system": peers.OURS, "phase": "train", "batch_size": 10, "rate": 300.0},
    ]
    assert peers.quantized_lines(results, peers.SPACY) == [
        "int8 inference, batch 256: 1,500 words/s, 1.50x ours in float32, 0.50x spacy_cnn"
    ]


def test_scaling_rows_take_medians_and_divide_by_the_single_process():
    single = annotate_scaling.setting_row("single process", [
        {"seconds": 12.0, "fixed_seconds": 4.0, "bg_cpu": 0.0},
        {"seconds": 10.0, "fixed_seconds": 2.0, "bg_cpu": 0.2},
        {"seconds": 50.0, "fixed_seconds": 3.0, "bg_cpu": None},
    ], words=8000)
    assert (single["seconds"], single["fixed_seconds"], single["rate"], single["rate_after_fixed"]) == (12.0, 3.0, 666.7, 888.9)
    assert single["bg_cpu"] == 0.2 and len(single["runs"]) == 3
    two = annotate_scaling.setting_row("Dask, 2 workers", [{"seconds": 9.0, "fixed_seconds": 5.0, "bg_cpu": 0.1}], words=8000)
    all_fixed = annotate_scaling.setting_row("Dask, 1 worker", [{"seconds": 5.0, "fixed_seconds": 6.0, "bg_cpu": None}], words=8000)
    lines = scaling_table([single, two, all_fixed])
    assert lines[2] == "| single process | 12.0 | 3.0 | 667 | 1.00 | 889 | 1.00 | 0.20 |"
    assert lines[3] == "| Dask, 2 workers | 9.0 | 5.0 | 889 | 1.33 | 2,000 | 2.25 | 0.10 |"
    assert lines[4] == "| Dask, 1 worker | 5.0 | 6.0 | 1,600 | 2.40 | - | - | - |"


def test_a_setting_whose_output_differs_stops_the_benchmark_naming_the_line(tmp_path):
    expected, same, other, shorter = (tmp_path / name for name in ("a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"))
    expected.write_text('{"x": 1}\n{"x": 2}\n{"x": 3}\n', encoding="utf8")
    same.write_text(expected.read_text(encoding="utf8"), encoding="utf8")
    other.write_text('{"x": 1}\n{"x": 9}\n{"x": 3}\n', encoding="utf8")
    shorter.write_text('{"x": 1}\n{"x": 2}\n', encoding="utf8")
    annotate_scaling.check_same_output(expected, same, "Dask, 2 workers")
    with pytest.raises(SystemExit, match='Dask, 2 workers: .* at line 2.*\n  single process: {"x": 2}\n  Dask, 2 workers: {"x": 9}'):
        annotate_scaling.check_same_output(expected, other, "Dask, 2 workers")
    with pytest.raises(SystemExit, match='--n-process 2: .* at line 3.*\n  single process: {"x": 3}\n  --n-process 2: <end of file>'):
        annotate_scaling.check_same_output(expected, shorter, "--n-process 2")


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the CPU meter reads /proc/stat (Linux)")
def test_a_finished_subprocess_counts_as_ours_only_when_children_are_asked_for():
    burn = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.5: pass"
    started = time.perf_counter()
    everyone_else, others = CpuMeter(), CpuMeter(children=True)
    subprocess.run([sys.executable, "-c", burn], check=True)
    wall = time.perf_counter() - started
    # the child's 0.5 s of CPU is another process's for the first meter only
    assert (everyone_else.background_cores() - others.background_cores()) * wall >= 0.45


def test_the_timed_pipeline_and_optimizer_are_the_configs(tmp_path):
    config = (REPO / "configs" / "single.cfg").read_text(encoding="utf8")
    config = re.sub(r"(?m)^output_width = \d+$", "output_width = 6", config.replace("char_width = 25", "char_width = 3"))
    (tmp_path / "tiny.cfg").write_text(config, encoding="utf8")
    nlp, examples, optimizer = xfer_pipeline(
        load_sentences(None, 6, seed=0), config_path=tmp_path / "tiny.cfg", overrides={"training.optimizer.learn_rate": 0.25}
    )
    assert nlp.pipe_names == ["target"] and len(examples) == 6
    assert nlp.get_pipe("target").model.get_ref("tok2vec").get_dim("nO") == 6
    assert optimizer.learn_rate == 0.25 and type(optimizer).__name__ == "TaskOptimizer"


@pytest.mark.slow
def test_speed_runs_every_phase_and_profiles_with_the_configs_optimizer(tmp_path, capsys):
    out = tmp_path / "speed.json"
    speed.main([
        "--quick", "--in-process", "--n-sentences", "12", "--batch-sizes", "4", "--train-steps", "1",
        "--infer-sentences", "8", "--threads", "1", "--profile", "--profile-batch-sizes", "4", "4", "--json", str(out),
        "--phases", "infer", "evaluate", "train",
    ])
    report = json.loads(out.read_text(encoding="utf8"))
    assert [(r["phase"], r["batch_size"]) for r in report["results"]] == [("infer", 4), ("evaluate", 4), ("train", 4)]
    assert all(r["rate"] > 0 and r["tokens"] > 0 for r in report["results"])
    evaluate = report["results"][1]
    assert evaluate["sentences"] == 8 and evaluate["pipe_speed"] > 0
    infer, train = report["profiles"]
    assert {row["part"] for row in infer["breakdown"]} >= {"predict (outside torch ops)", "set_annotations (outside torch ops)"}
    parts = {row["part"] for row in train["breakdown"]}
    assert "finish_update: optimizer step (outside torch ops)" in parts
    assert report["config"]["config"].endswith("single.cfg")
    printed = capsys.readouterr().out
    assert "xfer_tagger  infer" in printed and "xfer_tagger  evaluate" in printed



@pytest.mark.slow
def test_gru_floor_replays_the_timed_runs_gru_calls(monkeypatch, capsys):
    import_extra("numba")  # the fused loop it times beside nn.GRU
    replayed = []
    replay = gru_floor.replay
    monkeypatch.setattr(
        gru_floor, "replay", lambda calls, repeat, path: replayed.append((path, list(calls))) or replay(calls, repeat, path)
    )
    gru_floor.main(["--n-sentences", "30", "--infer-sentences", "20", "--repeat", "1"])
    (word_nn, word), (word_fused, word_again), (char_nn, char), (char_fused, char_again) = replayed[:4]
    assert (word_nn, word_fused, char_nn, char_fused) == (NN_GRU, FUSED, NN_GRU, FUSED)
    assert word == word_again and char == char_again
    assert len(word) == 20  # one word-GRU call per timed sentence, none of the warm-up's
    word_modules, char_modules = {gru for gru, *_ in word}, {gru for gru, *_ in char}
    assert len(word_modules) == len(char_modules) == 1 and word_modules != char_modules
    # then the timed run's calls again, each by the implementation the pipeline took
    taken = {path: calls for path, calls in replayed[4:]}
    assert sorted(map(id, taken[NN_GRU] + taken[FUSED])) == sorted(map(id, word + char))
    assert all(inference_path(*call) == path for path in taken for call in taken[path])
    new_words = sum(int(batch_sizes[0]) for _, _, batch_sizes in char)
    printed = capsys.readouterr().out
    assert f"({new_words / 20:.1f} new words per sentence)" in printed
    ours, gru, rest = (float(x) for x in re.search(
        r"ours: [\d,]+ words/s, ([\d.]+) ms/sentence.*implementation it took, replayed alone: ([\d.]+) ms; "
        r"the rest of ours (-?[\d.]+) ms", printed, re.S
    ).groups())
    assert abs(ours - gru - rest) < 0.011


def test_gru_floor_keeps_the_calls_after_the_warm_up():
    word, char = object(), object()
    roles = {word: "word", char: "char"}
    calls = [(char, 1), (word, 2), (word, 3), (char, 4), (word, 5), (word, 6)]
    assert gru_floor.after_warmup(calls, roles, 2) == [(char, 4), (word, 5), (word, 6)]
    assert gru_floor.after_warmup(calls, roles, 4) == []

def git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True, capture_output=True)


def checkout(root):
    """A git checkout with a configs/single.cfg; RETURNS its commit."""
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "single.cfg").write_text("[xfer]\n", encoding="utf8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "old")
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def test_baseline_columns_are_labelled_by_their_checkouts_commit(tmp_path):
    first, second = checkout(tmp_path / "a"), checkout(tmp_path / "b")
    (tmp_path / "b" / "configs" / "single.cfg").write_text("[xfer]\nrate = 1\n", encoding="utf8")
    args = peers.parse_args(["--baseline-root", str(tmp_path / "a"), "--baseline-root", str(tmp_path / "b"),
                             "--baseline-python", sys.executable])
    found = peers.baselines(args)
    assert [b.label for b in found] == [f"ours @{first[:7]}", f"ours @{second[:7]}+dirty"]
    assert [b.python for b in found] == [sys.executable] * 2  # one Python serves every root
    assert found[1].root == (tmp_path / "b").resolve()
    assert peers.baselines(peers.parse_args([])) == []


@pytest.mark.parametrize("argv, message", [
    (["--baseline-python", sys.executable], "needs --baseline-root"),
    (["--baseline-root", "A", "--baseline-root", "B", "--baseline-python", "p", "--baseline-python", "q",
      "--baseline-python", "r"], "2 --baseline-root and 3 --baseline-python"),
    (["--baseline-root", "A", "--baseline-python", "/no/such/python"], "/no/such/python: not an executable"),
    (["--baseline-root", "/no/such/checkout", "--baseline-python", sys.executable], "no configs/single.cfg"),
])
def test_baseline_options_that_do_not_pair_up_are_refused(argv, message):
    with pytest.raises(SystemExit, match=message):
        peers.baselines(peers.parse_args(argv))


def test_a_root_that_is_not_a_git_checkout_is_refused(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "single.cfg").write_text("[xfer]\n", encoding="utf8")
    with pytest.raises(SystemExit, match="git cannot read its commit"):
        peers.baselines(peers.parse_args(["--baseline-root", str(tmp_path), "--baseline-python", sys.executable]))


def test_config_overrides_read_values_as_spacy_train_does():
    overrides = config_overrides(["xfer.word_dropout=0.1", "training.optimizer.@optimizers=spacy_xfer.Adam.v1", "a.b=true"])
    assert overrides == {"xfer.word_dropout": 0.1, "training.optimizer.@optimizers": "spacy_xfer.Adam.v1", "a.b": True}
    with pytest.raises(SystemExit, match="expected KEY=VALUE"):
        config_overrides(["xfer.word_dropout"])


def test_the_worker_refuses_code_imported_from_another_tree(tmp_path):
    import spacy_xfer  # noqa: F401  (this tree's)

    check_loaded_from(REPO, ["spacy_xfer"])
    with pytest.raises(SystemExit, match=f"spacy_xfer was imported from .*, not from {re.escape(str(tmp_path))}"):
        check_loaded_from(tmp_path, ["spacy_xfer"])


def test_size_lines_warn_when_the_pipelines_compared_differ():
    rows = [{"system": "xfer_tagger", "parameters": 1000}, {"system": "ours @abc1234", "parameters": 1000}, {"system": "spacy_cnn"}]
    assert peers.size_lines(rows) == ["parameters of the timed component: xfer_tagger 1,000; ours @abc1234 1,000"]
    assert "WARNING" in peers.size_lines(rows + [{"system": "ours @def5678", "parameters": 999}])[-1]


@pytest.mark.slow
def test_peers_times_an_older_checkout_beside_today(tmp_path, capsys):
    """This checkout as its own baseline, run by this Python through checkout_worker.py."""
    out = tmp_path / "peers.json"
    peers.main([
        "--quick", "--n-sentences", "12", "--infer-batch-sizes", "4", "--train-batch-sizes", "4", "--train-steps", "1",
        "--infer-sentences", "8", "--baseline-root", str(REPO), "--baseline-python", sys.executable,
        "--baseline-set", "xfer.word_dropout=0.0", "--json", str(out),
    ])
    label = peers.baselines(peers.parse_args(["--baseline-root", str(REPO), "--baseline-python", sys.executable]))[0].label
    results = json.loads(out.read_text(encoding="utf8"))["results"]
    assert [(r["system"], r["phase"]) for r in results] == [
        (system, phase) for phase in ("infer", "train") for system in ("xfer_tagger", label, "spacy_cnn")
    ]
    assert all(r["rate"] > 0 for r in results)
    assert {r["code"] for r in results if r["system"] == label} == {str(REPO)}
    ours = {r["system"]: r["parameters"] for r in results if "parameters" in r}
    assert ours["xfer_tagger"] == ours[label]
    assert f"| work | xfer_tagger | {label} | spacy_cnn | ours / {label} | ours / spacy_cnn |" in capsys.readouterr().out


def tiny_transfer_corpus(tmp_path):
    """Tiny DocBins: a tagged source and an entity-labelled target, train and dev."""
    nlp = spacy.blank("en")
    source, target = [], []
    for i in range(6):
        source.append(Doc(nlp.vocab, words=["the", "dog", f"w{i}", "runs"], tags=["DT", "NN", "NN", "VBZ"]))
        target.append(Doc(nlp.vocab, words=["Anna", "met", f"Bob{i}"], ents=["B-PER", "O", "B-PER"]))
    paths = {}
    for name, docs in (("source", source), ("target", target)):
        for part in ("train", "dev"):
            paths[f"{name}_{part}"] = tmp_path / f"{name}-{part}.spacy"
            DocBin(docs=docs).to_disk(paths[f"{name}_{part}"])
    return paths


def startup_args(paths, *extra):
    return startup.parse_args([f"--{key.replace('_', '-')}={path}" for key, path in paths.items()] + list(extra))


def test_startup_stops_spacy_train_at_its_first_step(tmp_path):
    args = startup_args(tiny_transfer_corpus(tmp_path))
    today = peers.Baseline("today", sys.executable, REPO)
    command = startup.train_command(today, args, tmp_path / "training")
    assert command[1:4] == ["-m", "spacy", "train"] and '{"@callbacks":"bench.first_step.v1"}' in command
    started = time.time()
    seconds = startup.time_to_first_step(today, args)
    assert 0 < seconds < time.time() - started


def test_startup_names_a_run_that_never_reached_its_first_step(tmp_path):
    paths = tiny_transfer_corpus(tmp_path)
    paths["target_train"] = tmp_path / "missing.spacy"
    today = peers.Baseline("today", sys.executable, REPO)
    with pytest.raises(SystemExit, match="today: spacy train ended .* before its first step"):
        startup.time_to_first_step(today, startup_args(paths))
