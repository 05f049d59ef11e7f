from pathlib import Path

import pytest
import srsly
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.experiments.grid import RowSet, load_rows
from spacy_xfer.cli.grid import load_marked_results, readme_tables
from spacy_xfer.experiments.report import (
    draw_figures,
    format_cell,
    grid_commands,
    load_results,
    order_line,
    results_table,
    rewrite_readme,
    run_names,
)

REPO = Path(__file__).resolve().parents[2]
ROWS, SETS = load_rows()
ROW = ROWS["ptb-twitter_pos-t_a-0.1"]


def write_result(
    results_dir: Path, row: str, kind: str, seed: int, score: float, hit_cap: bool = False, cpu: str = "AMD EPYC"
) -> None:
    name = f"{row}-{kind}-s{seed}"
    srsly.write_json(results_dir / f"{name}.json", {
        "run": name, "row": row, "kind": kind, "seed": seed, "test_score": score,
        "training": {"hit_cap": hit_cap, "stop": "time budget" if hit_cap else "patience", "seconds": 1800.0 if hit_cap else 300.0},
        "git": {"commit": "0123456789abcdef", "dirty": False},
        "machine": {"cpu": cpu},
    })


@pytest.fixture
def results_dir(tmp_path):
    path = tmp_path / "results"
    path.mkdir()
    for seed, score in zip((13, 14, 15), (0.70, 0.72, 0.74)):
        write_result(path, ROW.id, "transfer", seed, score)
    write_result(path, ROW.id, "none", 13, 0.6, hit_cap=True, cpu="Intel(R) Xeon(R) Processor")
    return path


def test_cells_give_mean_sample_std_and_n():
    assert format_cell([70.0, 72.0, 74.0]) == "72.00 ± 2.00 (n=3)"
    assert format_cell([60.0]) == "60.00 (n=1)"
    assert format_cell([]) == "-"


def test_table_has_mean_std_per_kind_beside_the_paper_and_lists_capped_runs(results_dir):
    table = results_table(RowSet("t", "", [ROW], []), load_results(results_dir))
    assert f"| {ROW.title}, accuracy | 72.00 ± 2.00 (n=3) | 60.00 (n=1) | - | 83.65 / 74.80 |" in table
    assert f"Runs that hit the time cap: {ROW.id} (none s13)." in table
    assert "Commits: 0123456789 (4 runs). CPUs: AMD EPYC (3 runs), Intel(R) Xeon(R) Processor (1 run)." in table
    assert ROW.data in table


def test_table_of_runs_with_config_settings_regenerates_them_with_those_settings(tmp_path):
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    write_result(results_dir, ROW.id, "none", 13, 0.6)
    path = results_dir / f"{ROW.id}-none-s13.json"
    srsly.write_json(path, {**srsly.read_json(path), "settings": {"overrides": ["xfer.dropout=0.25", 'x.y={"a": 1}']}})
    other = ROWS["ptb-conll00-t_b-0.01"]
    table = results_table(RowSet("t", "", [ROW, other], []), load_results(results_dir), with_vectors=True)
    # the runs there are: this row's, without transfer
    assert f"""grid --rows {ROW.id} --seeds 1 --only none --vectors PATH --set 'x.y={{"a": 1}}' --set xfer.dropout=0.25`""" in table
    assert "`python -m spacy_xfer report --results RESULTS --rows t`" in table and "--readme" not in table


def test_grid_commands_rerun_each_row_with_the_kinds_seeds_and_budget_its_runs_have(tmp_path):
    rows = [ROWS[name] for name in ("ptb-twitter_pos-t_a-0.1", "conll03-twitter_ner-t_a-0.1", "ptb-conll03-t_b-0.01")]
    for row in rows:
        for kind in ("transfer", "none"):
            for seed in (13, 14, 15):
                write_result(tmp_path, row.id, kind, seed, 0.5)
    for seed in (13, 14, 15):  # spaCy's runs on one row only
        write_result(tmp_path, rows[0].id, "spacy", seed, 0.5)
    write_result(tmp_path, rows[2].id, "spacy", 14, 0.5)  # and one seed, not the first, on another
    def rewrite(name, settings, training):
        path = tmp_path / f"{name}.json"
        srsly.write_json(path, {**srsly.read_json(path), "settings": settings, "training": training})

    # a run that needed more than the default budget: the others stop within it under 3,300 s too
    rewrite(f"{rows[1].id}-none-s15", {"max_seconds": 3300}, {"stop": "patience", "seconds": 2500.0})
    commands = grid_commands(RowSet("set", "", rows, []), load_results(tmp_path), with_vectors=True)
    assert commands == [
        "python -m spacy_xfer grid --rows set --seeds 3 --only transfer,none --max-seconds 3300 --vectors PATH",
        f"python -m spacy_xfer grid --rows {rows[0].id} --seeds 3 --only spacy --vectors PATH",
        f"python -m spacy_xfer grid --rows {rows[2].id} --seed 14 --only spacy --vectors PATH",
    ]
    complete = RowSet("one", "", rows[:1], [])
    assert grid_commands(complete, load_results(tmp_path)) == ["python -m spacy_xfer grid --rows one --seeds 3"]
    assert grid_commands(complete, {}) == ["python -m spacy_xfer grid --rows one --seeds 3"]
    # and one that hit a cap of 900 s, which only that budget repeats
    rewrite(f"{rows[0].id}-transfer-s13", {"max_seconds": 900}, {"stop": "time budget", "seconds": 900.0, "hit_cap": True})
    commands = grid_commands(RowSet("set", "", rows, []), load_results(tmp_path))
    assert commands == [  # no one budget serves all: the runs are split by the budget each needs
        f"python -m spacy_xfer grid --rows {rows[0].id} --seeds 1 --only transfer --max-seconds 900",
        f"python -m spacy_xfer grid --rows {rows[0].id} --seed 14 --seed 15 --only transfer",
        f"python -m spacy_xfer grid --rows {rows[1].id},{rows[2].id} --seeds 3 --only transfer",
        f"python -m spacy_xfer grid --rows {rows[0].id},{rows[2].id} --seeds 3 --only none",
        f"python -m spacy_xfer grid --rows {rows[1].id} --seeds 2 --only none",
        f"python -m spacy_xfer grid --rows {rows[1].id} --seed 15 --only none --max-seconds 3300",
        f"python -m spacy_xfer grid --rows {rows[0].id} --seeds 3 --only spacy",
        f"python -m spacy_xfer grid --rows {rows[2].id} --seed 14 --only spacy",
    ]


def test_order_line_names_the_rows_whose_means_break_transfer_over_none_over_spacy(tmp_path):
    held, broken, tied, alone = (ROWS[name] for name in (
        "ptb-twitter_pos-t_a-0.1", "conll03-twitter_ner-t_a-0.1", "ptb-conll03-t_b-0.01", "ptb-genia-t_a-0.001"
    ))
    scores = [
        (held, {"transfer": (0.80, 0.82), "none": (0.70, 0.72), "spacy": (0.71,)}),  # none = spacy holds
        (broken, {"transfer": (0.30,), "none": (0.20, 0.22), "spacy": (0.25,)}),
        (tied, {"transfer": (0.55,), "none": (0.55,)}),  # no spaCy runs: transfer > none alone, said so
        (alone, {"transfer": (0.90,)}),  # one kind: nothing to order
    ]
    for row, by_kind in scores:
        for kind, values in by_kind.items():
            for seed, score in zip((13, 14), values):
                write_result(tmp_path, row.id, kind, seed, score)
    line = order_line(RowSet("t", "", [held, broken, tied, alone], []), load_results(tmp_path))
    assert line == (
        f"Transfer > no transfer >= spaCy built-in on the means: held on {held.title}; missed on "
        f"{broken.title} (no transfer 21.00 < spaCy built-in 25.00). Transfer > no transfer on the means of "
        f"the rows without spaCy built-in runs: missed on {tied.title} (transfer 55.00 = no transfer 55.00)."
    )
    assert line in results_table(RowSet("t", "", [held, broken, tied, alone], []), load_results(tmp_path))
    assert order_line(RowSet("t", "", [alone], []), load_results(tmp_path)) is None


def test_run_lists_name_each_row_once_with_its_kinds_and_seeds():
    runs = [
        {"row": "b-row", "kind": "transfer", "seed": 15},
        {"row": "a-row", "kind": "none", "seed": 14},
        {"row": "b-row", "kind": "none", "seed": 13},
        {"row": "a-row", "kind": "none", "seed": 13},
    ]
    assert run_names(runs) == "a-row (none s13, s14), b-row (none s13; transfer s15)"


def test_table_without_results_says_no_runs_yet(tmp_path):
    table = results_table(SETS["table2"], load_results(tmp_path / "missing"))
    assert "No runs yet." in table
    assert table.count("| - | - | - |") == len(SETS["table2"].rows)


def test_readme_rewrite_changes_only_the_marked_blocks(results_dir):
    sets = {"one": RowSet("one", "", [ROW], ["rate 0.001: 1 sentence"])}
    text = "# Title\n\nbefore\n<!-- results:one -->\nold table\n<!-- /results:one -->\nafter\n"
    new = rewrite_readme(text, sets, load_results(results_dir))
    assert new.startswith("# Title\n\nbefore\n<!-- results:one -->\n| source -> target")
    assert new.endswith("- Left out: rate 0.001: 1 sentence.\n<!-- /results:one -->\nafter\n")
    assert "old table" not in new and "72.00 ± 2.00 (n=3)" in new
    assert rewrite_readme(new, sets, load_results(results_dir)) == new


@pytest.mark.parametrize(
    "text,message",
    [
        ("<!-- results:one -->\nno end\n", r"^README.md:1: \[E073\] <!-- results:one --> has no closing"),
        ("x\n<!-- results:two -->\n<!-- /results:two -->\n", r"^README.md:2: \[E073\] unknown row set 'two'"),
    ],
)
def test_readme_markers_that_cannot_be_rewritten_are_errors(text, message):
    with pytest.raises(ValueError, match=message):
        rewrite_readme(text, {"one": RowSet("one", "", [ROW], [])}, {})


def test_report_check_fails_on_a_stale_readme_until_it_is_rewritten(tmp_path, results_dir):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:table2 -->\n<!-- /results:table2 -->\n")
    cli = CliRunner()
    args = ["report", "--results", str(results_dir), "--readme", str(readme)]
    checked = cli.invoke(app, [*args, "--check"])
    assert checked.exit_code == 1 and "differ" in checked.output
    assert readme.read_text() == "intro\n<!-- results:table2 -->\n<!-- /results:table2 -->\n"
    assert cli.invoke(app, args).exit_code == 0
    assert "72.00 ± 2.00 (n=3)" in readme.read_text()
    assert cli.invoke(app, [*args, "--check"]).exit_code == 0


def test_figures_are_written_as_png_per_pair(tmp_path):
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    results.mkdir()
    pair = [row for row in SETS["figure2"].rows if row.target == "twitter_pos"]
    for row in pair:
        for seed in (13, 14):
            write_result(results, row.id, "transfer", seed, 0.5 + row.rate / 4 + seed / 1000)
            write_result(results, row.id, "none", seed, 0.4 + row.rate / 2)
    written = draw_figures(SETS["figure2"], load_results(results), tmp_path / "figures")
    assert written == [tmp_path / "figures" / "figure2-ptb-twitter_pos-t_a.png"]  # pairs without results left out
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and written[0].stat().st_size > 1000


def test_readme_results_tables_match_the_committed_results():
    readme = (REPO / "README.md").read_text(encoding="utf8")
    assert "<!-- results:table2 -->" in readme
    rebuilt = rewrite_readme(readme, SETS, load_marked_results(REPO / "results"), readme_tables(REPO / "results", SETS))
    assert rebuilt == readme, "README results tables are stale: run `python -m spacy_xfer report --readme README.md`"


def test_runs_whose_config_changed_since_are_marked_in_the_table(tmp_path):
    from spacy_xfer.experiments.grid import config_sha256, mark_stale_configs
    from spacy.util import load_config

    config = tmp_path / "single.cfg"
    config.write_text((REPO / "configs" / "single.cfg").read_text(encoding="utf8"), encoding="utf8")
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    for seed in (13, 14):
        write_result(results_dir, ROW.id, "none", seed, 0.6)
        path = results_dir / f"{ROW.id}-none-s{seed}.json"
        data = srsly.read_json(path)
        data["settings"] = {"kind": "none", "target": "twitter_pos", "config": config.name,
                            "config_sha256": config_sha256(load_config(config, interpolate=False))}
        srsly.write_json(path, data)
    results = load_results(results_dir)
    mark_stale_configs(results, tmp_path)
    assert "older config" not in results_table(RowSet("t", "", [ROW], []), results)
    config.write_text(config.read_text(encoding="utf8").replace("cost = 5.0", "cost = 4.0"), encoding="utf8")
    results = load_results(results_dir)
    mark_stale_configs(results, tmp_path)
    table = results_table(RowSet("t", "", [ROW], []), results)
    assert "| 60.00 ± 0.00 (n=2) (older config) |" in table
    assert f"reruns them): {ROW.id} (none s13, s14)." in table


def test_runs_of_another_schedule_rule_are_marked_in_the_table(tmp_path, monkeypatch):
    from spacy_xfer.experiments import grid
    from spacy.util import load_config

    config = tmp_path / "single.cfg"
    config.write_text((REPO / "configs" / "single.cfg").read_text(encoding="utf8"), encoding="utf8")
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    write_result(results_dir, ROW.id, "none", 13, 0.6)
    path = results_dir / f"{ROW.id}-none-s13.json"
    data = srsly.read_json(path)
    # written before the schedule was recorded: it ran rule 1
    data["settings"] = {"kind": "none", "target": "twitter_pos", "config": config.name,
                        "config_sha256": grid.config_sha256(load_config(config, interpolate=False))}
    srsly.write_json(path, data)
    results = load_results(results_dir)
    grid.mark_stale_configs(results, tmp_path)
    assert "older config" not in results_table(RowSet("t", "", [ROW], []), results)
    monkeypatch.setattr(grid, "SCHEDULE_VERSION", 2)
    results = load_results(results_dir)
    grid.mark_stale_configs(results, tmp_path)
    assert "| 60.00 (n=1) (older config) |" in results_table(RowSet("t", "", [ROW], []), results)
