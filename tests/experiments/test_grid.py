import json
import os
import re
from pathlib import Path

import pytest
import srsly

from spacy.util import load_config

from spacy_xfer.cli.experiment import load_config_value
from spacy_xfer.experiments.grid import (
    GAZETTEER_FEATURES,
    Grid,
    Row,
    RunFailed,
    check_overrides,
    grid_root,
    load_rows,
    parse_overrides,
    plan_runs,
    run_grid,
    run_status,
    seed_list,
    select_rows,
    stop_reason,
)

from .fake_runner import FakeRunner, option
from .util import run

REPO = Path(__file__).resolve().parents[2]
ROW = "ptb-twitter_pos-t_a-0.1"


def make_grid(tmp_path: Path, **settings) -> Grid:
    return Grid(
        corpora_dir=tmp_path / "raw",
        work_dir=tmp_path / "work",
        configs_dir=REPO / "configs",
        python="python",
        **{"results_dir": tmp_path / "results", "max_seconds": 60, **settings},
    )


def runs_of(kinds=("transfer", "none", "spacy"), seeds=(13,)):
    return plan_runs(select_rows(ROW), list(seeds), list(kinds))


def quiet(_: str) -> None:
    pass


def test_each_kind_of_run_builds_its_commands_and_writes_its_results(tmp_path):
    grid, runner = make_grid(tmp_path), FakeRunner()
    summary = run_grid(runs_of(), grid, runner=runner, echo=quiet, grid_command="grid --rows x")
    assert summary.ran == [f"{ROW}-{kind}-s13" for kind in ("transfer", "none", "spacy")]
    # each benchmark is prepared once per seed, then two commands per run
    assert runner.steps() == [
        "spacy_xfer prepare", "spacy_xfer prepare", "spacy_xfer train", "spacy_xfer evaluate",
        "spacy_xfer train", "spacy_xfer evaluate",
        "spacy_xfer spacy-train", "spacy evaluate",
    ]
    prepare_ptb, prepare_twitter, transfer, _, none, _, spacy_train, spacy_eval = runner.commands
    assert prepare_ptb[4:] == ["ptb", str(tmp_path / "raw"), str(tmp_path / "work/corpus/s13/ptb"), "--seed", "13"]
    assert prepare_twitter[4] == "twitter_pos"
    assert transfer[4] == str(REPO / "configs/t_a.cfg")
    for flag, value in [("--source", "ptb"), ("--target", "twitter_pos"), ("--rate", "0.1"), ("--seed", "13"), ("--max-seconds", "60")]:
        assert transfer[transfer.index(flag) + 1] == value
    assert none[4] == str(REPO / "configs/single.cfg") and "--source" not in none
    assert spacy_train[spacy_train.index("--max-seconds") + 1] == "60"
    assert spacy_train[spacy_train.index("--system.seed") + 1] == "13"
    assert "--gold-preproc" in spacy_eval

    results = srsly.read_json(tmp_path / "results" / f"{ROW}-transfer-s13.json")
    assert results["dev_score"] == pytest.approx(0.7) and results["test_score"] == pytest.approx(0.65)
    assert results["training"]["best_step"] == 200 and results["training"]["last_eval_step"] == 400
    assert results["settings"]["config"] == str(REPO / "configs/t_a.cfg")
    assert results["config"]["training"]["patience"] > 0  # the filled config of model-best
    assert [c["command"].split()[3] for c in results["commands"]] == ["prepare", "prepare", "train", "evaluate"]
    assert results["grid_command"] == "grid --rows x"
    assert set(results["git"]) == {"commit", "dirty"} and results["machine"]["cores"] >= 1
    spacy_results = srsly.read_json(tmp_path / "results" / f"{ROW}-spacy-s13.json")
    assert spacy_results["score_key"] == "tag_acc"
    assert spacy_results["baseline_sentences"] == {"train": 2, "dev": 20, "test": 20}
    steps = [c["command"].split()[3] for c in spacy_results["commands"]]
    assert steps == ["prepare", "=", "spacy-train", "evaluate"]  # prepared before, then in process
    assert spacy_results["commands"][0]["note"] == "prepared before"


def test_a_finished_run_is_not_run_again(tmp_path):
    grid = make_grid(tmp_path)
    run_grid(runs_of(), grid, runner=FakeRunner(), echo=quiet)
    again = FakeRunner()
    summary = run_grid(runs_of(seeds=(13, 14)), grid, runner=again, echo=quiet)
    assert len(summary.done) == 3 and len(summary.ran) == 3
    assert all(command[command.index("--seed") + 1] == "14" for command in again.commands if "--seed" in command)


def test_a_changed_setting_is_flagged_and_rerun_only_when_asked(tmp_path):
    run = runs_of(kinds=("none",))
    run_grid(run, make_grid(tmp_path), runner=FakeRunner(), echo=quiet)
    longer = make_grid(tmp_path, max_seconds=120)
    status, changes = run_status(run[0], longer)
    assert status == "stale" and changes == ["max_seconds: 60 -> 120"]
    runner, lines = FakeRunner(test_score=0.8), []
    summary = run_grid(run, longer, runner=runner, echo=lines.append)
    assert summary.stale == [run[0].name] and runner.commands == []
    assert "STALE" in lines[0] and "max_seconds: 60 -> 120" in lines[0]
    summary = run_grid(run, longer, runner=runner, rerun_stale=True, echo=quiet)
    assert summary.ran == [run[0].name]
    results = srsly.read_json(run[0].results_path(longer))
    assert results["test_score"] == pytest.approx(0.8) and results["settings"]["max_seconds"] == 120
    assert run_status(run[0], longer) == ("done", [])


@pytest.mark.parametrize("stop,seconds,budget,status", [
    ("patience", 30.0, 120, "done"),  # stopped by its own rule within either budget
    ("patience", 30.0, 40, "done"),
    ("patience", 50.0, 40, "stale"),  # a budget of 40 s would have cut it
    ("max_steps", 30.0, 120, "done"),
    ("time budget", 60.0, 120, "stale"),  # the budget stopped it: a longer one trains on
    ("unknown", 30.0, 120, "stale"),
])
def test_another_budget_makes_a_run_stale_only_where_it_could_change_the_run(tmp_path, stop, seconds, budget, status):
    run = runs_of(kinds=("none",))
    run_grid(run, make_grid(tmp_path), runner=FakeRunner(), echo=quiet)
    path = run[0].results_path(make_grid(tmp_path))
    results = srsly.read_json(path)
    srsly.write_json(path, {**results, "training": {**results["training"], "stop": stop, "seconds": seconds}})
    expected = [] if status == "done" else [f"max_seconds: 60 -> {budget}"]
    assert run_status(run[0], make_grid(tmp_path, max_seconds=budget)) == (status, expected)


def test_a_new_schedule_rule_makes_our_runs_stale_and_an_unrecorded_one_is_rule_1(tmp_path, monkeypatch):
    from spacy_xfer.experiments import grid as grid_module

    runs = runs_of(kinds=("none", "spacy"))
    grid = make_grid(tmp_path)
    run_grid(runs, grid, runner=FakeRunner(), echo=quiet)
    ours = srsly.read_json(runs[0].results_path(grid))
    assert ours["settings"]["schedule"] == grid_module.SCHEDULE_VERSION
    del ours["settings"]["schedule"]  # as written before the schedule was recorded
    srsly.write_json(runs[0].results_path(grid), ours)
    assert [run_status(run, grid) for run in runs] == [("done", []), ("done", [])]
    monkeypatch.setattr(grid_module, "SCHEDULE_VERSION", 2)
    assert run_status(runs[0], grid) == ("stale", ["schedule: 1 -> 2"])
    assert run_status(runs[1], grid) == ("done", [])  # spaCy's baseline has its own schedule


def test_an_interrupted_run_leaves_no_results_and_restarts_from_scratch(tmp_path):
    grid, runner = make_grid(tmp_path), FakeRunner()
    run = runs_of(kinds=("none",))
    runner.fail_on = "train"
    with pytest.raises(KeyboardInterrupt):
        run_grid(run, grid, runner=runner, echo=quiet)
    assert not run[0].results_path(grid).exists()
    leftover = run[0].run_dir(grid) / "train_log.jsonl"
    assert leftover.exists()
    srsly.write_jsonl(leftover, [{"step": 9999, "score": 1.0}])  # a stale log must not be read
    runner.fail_on = None
    summary = run_grid(run, grid, runner=runner, echo=quiet)
    assert summary.ran == [run[0].name]
    assert srsly.read_json(run[0].results_path(grid))["training"]["last_eval_step"] == 400


def test_a_failed_command_is_reported_and_the_grid_goes_on(tmp_path):
    grid, runner = make_grid(tmp_path), FakeRunner()
    runner.fail_on, runner.error = "train", RunFailed("exit code 1")
    lines = []
    summary = run_grid(runs_of(kinds=("none", "spacy")), grid, runner=runner, echo=lines.append)
    assert summary.failed == [f"{ROW}-none-s13", f"{ROW}-spacy-s13"]
    assert not list((tmp_path / "results").glob("*.json"))
    assert any("FAILED: exit code 1" in line for line in lines)


def test_dry_run_lists_commands_and_runs_nothing(tmp_path):
    grid, runner, lines = make_grid(tmp_path), FakeRunner(), []
    run_grid(runs_of(kinds=("transfer",)), grid, runner=runner, dry_run=True, echo=lines.append)
    assert runner.commands == []
    assert any("spacy_xfer prepare ptb" in line for line in lines)
    assert any("spacy_xfer train" in line and "--max-seconds 60" in line for line in lines)


@pytest.mark.parametrize(
    "evaluations,seconds,expected",
    [
        ([(0, 0.1), (200, 0.5), (400, 0.4), (600, 0.5)], 10, "patience"),  # first best 200 + 500 < 800
        ([(0, 0.1), (200, 0.2), (400, 0.3)], 10, "max_steps"),
        ([(0, 0.1), (200, 0.2)], 60, "time budget"),
        ([(0, 0.1), (200, 0.2)], 10, "unknown"),
    ],
)
def test_stop_reason(evaluations, seconds, expected):
    training = {"patience": 500, "max_steps": 400, "eval_frequency": 200}
    assert stop_reason(evaluations, training, seconds, max_seconds=60) == expected


def test_rows_are_selected_by_set_or_id_once_each_and_unknown_names_fail():
    rows, sets = load_rows()
    ids = [row.id for row in select_rows(f"table2,{ROW},extra")]
    assert ids == [row.id for row in sets["table2"].rows + sets["extra"].rows]
    assert [row.id for row in select_rows(ROW)] == [ROW]
    with pytest.raises(ValueError, match=r"\[E039\] Unknown row set or row 'tabel2'"):
        select_rows("tabel2")
    assert seed_list(3) == [13, 14, 15] and seed_list(3, [7]) == [7]
    with pytest.raises(ValueError, match=r"\[E039\] Unknown kinds of run \['spacey'\]"):
        plan_runs(rows.values(), [13], ["transfer", "spacey"])


def test_grid_and_report_help_list_every_row_set():
    sets = load_rows()[1]
    for command in ("grid", "report"):
        result = run(command, "--help")
        assert result.exit_code == 0 and all(name in result.output for name in sets), result.output


def test_a_rows_file_naming_an_unknown_row_or_benchmark_fails_with_its_path(tmp_path):
    path = tmp_path / "rows.json"
    row = {"source": "ptb", "target": "twitter_pos", "arch": "t_a", "rate": 0.1, "paper": None, "data": "ours"}
    path.write_text(json.dumps({"sets": {"s": {"description": "", "rows": ["a", "b"]}}, "rows": {"a": row}}))
    with pytest.raises(ValueError, match=r"rows.json: \[E069\] set 's' names unknown rows \['b'\]"):
        load_rows(path)
    path.write_text(json.dumps({"sets": {}, "rows": {"a": {**row, "target": "wnut17"}}}))
    with pytest.raises(ValueError, match=r"rows.json: \[E069\] row 'a': unknown benchmark 'wnut17'"):
        load_rows(path)


def test_a_row_with_gazetteers_gives_our_runs_gazetteer_features_and_not_spacys(tmp_path):
    row = Row("full-gaz", "ptb", "conll03", "t_b", 1.0, None, "ours", gazetteers="gazetteers_senna")
    assert row.title == "ptb -> conll03 (1.0, T-B, gazetteers)"
    grid, runner = make_grid(tmp_path), FakeRunner()
    summary = run_grid(plan_runs([row], [13], ["none", "spacy"]), grid, runner=runner, echo=quiet)
    assert summary.ran == ["full-gaz-none-s13", "full-gaz-spacy-s13"]
    ours = next(c for c in runner.commands if "train" in c)
    spacys = next(c for c in runner.commands if "spacy-train" in c)
    key = "components.target.model.features"
    features = load_config_value(option(ours, key))
    assert features == {"@architectures": GAZETTEER_FEATURES, "path": str(tmp_path / "raw" / "gazetteers_senna")}
    assert not any("features" in item for item in spacys)
    # the override is one that spaCy's config loading accepts on the shipped config
    config = load_config(REPO / "configs" / "single.cfg", overrides={key: features}, interpolate=False)
    assert config["components"]["target"]["model"]["features"] == features
    none = srsly.read_json(tmp_path / "results" / "full-gaz-none-s13.json")
    assert none["settings"]["gazetteers"] == "gazetteers_senna"
    assert "gazetteers" not in srsly.read_json(tmp_path / "results" / "full-gaz-spacy-s13.json")["settings"]


def test_config_settings_reach_our_runs_and_keep_their_results_apart(tmp_path):
    setting = "components.target.model.tok2vec.freeze_vectors=true"
    run_grid(runs_of(kinds=("none",)), make_grid(tmp_path), runner=FakeRunner(), echo=quiet)
    configs_own = srsly.read_json(tmp_path / "results" / f"{ROW}-none-s13.json")
    grid, runner = make_grid(tmp_path, overrides=(setting,)), FakeRunner(test_score=0.8)
    summary = run_grid(runs_of(kinds=("none", "spacy")), grid, runner=runner, echo=quiet)
    # not the configs' own run (done above): a run of its own, beside spaCy's
    assert summary.ran == [f"{ROW}-none-s13", f"{ROW}-spacy-s13"]
    ours = next(c for c in runner.commands if "train" in c)
    spacys = next(c for c in runner.commands if "spacy-train" in c)
    assert option(ours, "components.target.model.tok2vec.freeze_vectors") == "true"
    assert not any("freeze_vectors" in item for item in spacys)
    folders = {path.parent.relative_to(tmp_path / "results").as_posix() for path in (tmp_path / "results").rglob("*.json")}
    assert folders == {".", grid.setting_dir} and grid.setting_dir.startswith("set-")
    with_setting = srsly.read_json(tmp_path / "results" / grid.setting_dir / f"{ROW}-none-s13.json")
    assert with_setting["settings"]["overrides"] == [setting] and with_setting["test_score"] == pytest.approx(0.8)
    assert "overrides" not in srsly.read_json(tmp_path / "results" / grid.setting_dir / f"{ROW}-spacy-s13.json")["settings"]
    assert srsly.read_json(tmp_path / "results" / f"{ROW}-none-s13.json") == configs_own
    # other settings, or the vectors too, go to a folder of their own
    other = make_grid(tmp_path, overrides=(setting, "xfer.dropout=0.25"))
    assert other.setting_dir != grid.setting_dir
    assert make_grid(tmp_path, overrides=(setting,), vectors="v").setting_dir == f"{grid.setting_dir}/vectors"


def test_a_run_with_other_config_settings_or_none_is_stale(tmp_path):
    run = runs_of(kinds=("none",))[0]
    with_setting = make_grid(tmp_path, overrides=("xfer.dropout=0.25",))
    run_grid([run], with_setting, runner=FakeRunner(), echo=quiet)
    # its results file read as if the configs' own run had written it there
    without = make_grid(tmp_path, results_dir=tmp_path / "results" / with_setting.setting_dir)
    assert run_status(run, without) == ("stale", ["overrides: ['xfer.dropout=0.25'] -> None"])
    other = make_grid(tmp_path, overrides=("xfer.dropout=0.5",))
    assert run_status(run, other) == ("todo", [])  # another folder


def test_config_settings_name_one_folder_in_any_order_and_bad_ones_fail():
    once = parse_overrides(["xfer.word_dropout=0.2", "xfer.dropout=0.25"])
    assert once == ("xfer.dropout=0.25", "xfer.word_dropout=0.2")
    assert parse_overrides(["xfer.dropout=0.1", "xfer.word_dropout=0.2", "xfer.dropout=0.25"]) == once
    assert parse_overrides(['components.target.model.features={"a": "b=c"}']) == ('components.target.model.features={"a": "b=c"}',)
    for item, problem in [
        ("xfer.dropout", "expected KEY=VALUE"), ("=0.25", "expected KEY=VALUE"), (" xfer.dropout=0.25", "expected KEY=VALUE"),
        ("system.seed=1", "the grid sets system.seed itself"), ("paths.vectors=v", "the grid sets paths.vectors itself"),
        ("training.logger.output_file=x", "the grid sets training.logger.output_file itself"),
        ("corpora.train.tasks.target.rate=0.5", "the grid sets corpora.train.tasks.target.rate itself"),
        ("training.before_update=null", "the grid sets training.before_update itself"),
    ]:
        with pytest.raises(ValueError, match=rf"\[E117\] --set '{re.escape(item)}': {problem}"):
            parse_overrides([item])


def test_config_settings_are_checked_against_every_config_the_runs_train(tmp_path):
    runs = runs_of(kinds=("none",))
    t_b = plan_runs(select_rows("ptb-conll03-t_b-0.01"), [13], ["transfer"])
    for item in ("xfer.dropout=0.25", "components.target.model.tok2vec.freeze_vectors=true", "components.target.confidence=true"):
        check_overrides(runs, make_grid(tmp_path, overrides=(item,)))
    check_overrides(t_b, make_grid(tmp_path, overrides=("components.encoder.model.freeze_vectors=true",)))
    for planned, item, problem in [
        (runs, "xfer.dropuot=0.25", "single.cfg has no setting 'dropuot' in \\[xfer\\]"),
        (runs, "components.target.confidance=true", "single.cfg has no setting 'confidance' in \\[components.target\\]"),
        (runs, "components.encoder.model.freeze_vectors=true", "single.cfg has no section \\[components.encoder.model\\]"),
        (t_b, "components.target.model.tok2vec.freeze_vectors=true", "t_b.cfg: \\[components.target.model.tok2vec\\] does not take it"),
        (runs, "components.target.model.tok2vec.output_width=wide", "single.cfg: .* does not take it"),
    ]:
        with pytest.raises(ValueError, match=rf"\[E117\] --set '{re.escape(item)}': .*{problem}"):
            check_overrides(planned, make_grid(tmp_path, overrides=(item,)))


def test_grid_with_config_settings_leaves_spacy_out_and_names_its_results_folder(tmp_path):
    result = run("grid", "--rows", ROW, "--seed", "13", "--set", "xfer.dropout=0.25", "--dry-run", "--results", tmp_path / "results", "--work-dir", tmp_path / "work")
    assert result.exit_code == 0, result.output
    grid = make_grid(tmp_path, overrides=("xfer.dropout=0.25",))
    assert f"Results of xfer.dropout=0.25: {tmp_path / 'results' / grid.setting_dir}/" in result.output
    assert "spaCy's baseline takes no settings" in result.output
    assert f"{ROW}-transfer-s13" in result.output and f"{ROW}-none-s13" in result.output and "-spacy-" not in result.output
    result = run("grid", "--rows", ROW, "--set", "xfer.dropout", "--dry-run", "--results", tmp_path / "results")
    assert result.exit_code == 1 and "[E117] --set 'xfer.dropout': expected KEY=VALUE" in result.output


def test_the_grid_root_of_any_results_folder_is_above_it():
    for folder in ("results", "results/vectors", "results/set-0123abcd", "results/set-0123abcd/vectors"):
        assert grid_root(Path("work") / folder) == Path("work")


def test_a_rows_file_with_a_missing_or_unknown_key_fails_and_gazetteers_are_optional(tmp_path):
    path = tmp_path / "rows.json"
    row = {"source": "ptb", "target": "conll03", "arch": "t_b", "rate": 1.0, "paper": None, "data": "ours"}
    path.write_text(json.dumps({"sets": {}, "rows": {"a": row, "b": {**row, "gazetteers": "g"}}}))
    rows, _ = load_rows(path)
    assert rows["a"].gazetteers is None and rows["b"].gazetteers == "g"
    for entry in ({**row, "gazeteers": "g"}, {k: v for k, v in row.items() if k != "data"}):
        path.write_text(json.dumps({"sets": {}, "rows": {"a": entry}}))
        with pytest.raises(ValueError, match=r"rows.json: \[E069\] row 'a' has keys .*optionally \['gazetteers'\]"):
            load_rows(path)


def test_results_the_grid_rewrites_do_not_make_the_code_dirty(tmp_path):
    import subprocess

    from spacy_xfer.experiments.grid import git_state

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "c")
    (tmp_path / "results" / "run.json").write_text('{"score": 1}')
    assert git_state(tmp_path, tmp_path / "results")["dirty"] is False
    assert git_state(tmp_path)["dirty"] is True
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path, tmp_path / "results")["dirty"] is True


@pytest.mark.parametrize(
    "omp, mkl, expected",
    [(None, None, ("2", "2")), ("3", None, ("3", "3")), (None, "4", ("2", "4")), ("3", "4", ("3", "4"))],
)
def test_subprocesses_sharing_the_cores_get_the_threads_given_unless_the_user_set_them(monkeypatch, omp, mkl, expected):
    from spacy_xfer.experiments.grid import THREAD_VARIABLES, run_env

    for name, value in zip(THREAD_VARIABLES, (omp, mkl)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    env = run_env(2)
    assert tuple(env[name] for name in THREAD_VARIABLES) == expected
    assert env["PATH"] == os.environ["PATH"]


def test_usable_cores_are_those_the_process_may_run_on(monkeypatch):
    """A container or `taskset` may give a process fewer cores than the machine has:
    its CPU affinity counts, and where there is none, the machine's cores."""
    from spacy_xfer.experiments.grid import usable_cores

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    assert usable_cores() == 2
    monkeypatch.delattr(os, "sched_getaffinity")
    assert usable_cores() == 8
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # undeterminable
    assert usable_cores() == 1
