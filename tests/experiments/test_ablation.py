"""The recipe ablation: the commands its runs train with, and its README table."""

import json
import os
import subprocess

import pytest
import srsly

from spacy_xfer.experiments import ablation
from spacy_xfer.experiments.ablation import AblationRun, ablation_table, load_ablation, train_command
from spacy_xfer.experiments.grid import Grid


def option_values(command, flag):
    return [command[i + 1] for i, item in enumerate(command) if item == flag]


def test_each_variant_changes_its_settings_and_nothing_else(tmp_path):
    spec = load_ablation()
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results")
    base = train_command(AblationRun("base", "chunk", 13), spec, grid, 1500, None)
    assert base[4].endswith("t_b.cfg") and option_values(base, "--source") == ["ptb"]
    assert "training.max_steps=1500" in option_values(base, "--set")
    # every variant starts from the paper's recipe, whatever the configs' defaults are
    assert {"xfer.dropout=0.0", "xfer.word_dropout=0.0"} <= set(option_values(base, "--set"))
    adam = train_command(AblationRun("adam", "pos", 13), spec, grid, 1500, None)
    optimizer = [s for s in option_values(adam, "--set") if s.startswith("training.optimizer=")]
    assert json.loads(optimizer[-1].split("=", 1)[1])["@optimizers"] == "spacy_xfer.Adam.v1"
    none = train_command(AblationRun("base", "pos_none", 13), spec, grid, 10, None)
    assert none[4].endswith("single.cfg") and "--source" not in none
    wide = train_command(AblationRun("vec300", "pos", 13), spec, grid, 10, "/vectors")
    assert option_values(wide, "--vectors") == ["/vectors"]
    assert "components.target.model.tok2vec.width=300" in option_values(wide, "--set")
    with pytest.raises(ValueError, match=r"\[E074\] .*needs --vectors"):
        train_command(AblationRun("vec50", "pos", 13), spec, grid, 10, None)


def test_table_has_a_line_per_measured_variant_and_the_mean(tmp_path):
    spec = load_ablation()
    pairs = list(spec["pairs"])
    (tmp_path / "ablation").mkdir()
    for i, pair in enumerate(pairs):
        srsly.write_json(tmp_path / "ablation" / f"base-{pair}-s13.json",
                         {"variant": "base", "pair": pair, "seed": 13, "max_steps": 1500, "dev_score": 0.5 + i / 100})
    first = next(iter(spec["tables"].values()))
    srsly.write_json(tmp_path / "ablation" / f"adam-{first[0]}-s13.json",
                     {"variant": "adam", "pair": first[0], "seed": 13, "max_steps": 1500, "dev_score": 0.7})
    table = ablation_table(tmp_path)
    base_lines = [line for line in table.splitlines() if line.startswith(f"| {spec['variants']['base']['description']}")]
    # a line per table, each with the mean over its own pairs
    assert len(base_lines) == len(spec["tables"])
    for line, (title, table_pairs) in zip(base_lines, spec["tables"].items()):
        mean = sum(50 + pairs.index(pair) for pair in table_pairs) / len(table_pairs)
        assert line.endswith(f"| {mean:.2f} |") and f"*{title}:*" in table
    adam_line = next(line for line in table.splitlines() if line.startswith(f"| {spec['variants']['adam']['description']}"))
    assert "| 70.00 |" in adam_line and adam_line.endswith("| - |")
    assert "1500 steps" in table and len([l for l in table.splitlines() if l.startswith("| ")]) == 4 + 3 * (len(spec["tables"]) - 1)
    assert ablation_table(tmp_path / "none") == "No ablation runs yet.\n"


def test_a_table_whose_pairs_have_no_runs_is_left_out(tmp_path):
    spec = load_ablation()
    first = next(iter(spec["tables"].values()))
    (tmp_path / "ablation").mkdir()
    srsly.write_json(tmp_path / "ablation" / f"base-{first[0]}-s13.json",
                     {"variant": "base", "pair": first[0], "seed": 13, "max_steps": 1500, "dev_score": 0.5})
    table = ablation_table(tmp_path)
    assert not any(f"*{title}:*" in table for title in spec["tables"])  # one table: no titles
    assert len([l for l in table.splitlines() if l.startswith("| ")]) == 3
    assert table.splitlines()[0].count(" | ") == len(first) + 1


def test_a_run_whose_dev_set_gave_no_score_shows_as_such(tmp_path, monkeypatch):
    """A dev set without gold or predicted spans leaves meta.json without the target's
    score: the run is done, its table cell says so, and means leave it out."""
    (tmp_path / "ablation-patience").mkdir()
    for seed, score in ((13, None), (14, 0.5), (15, 0.7)):
        srsly.write_json(tmp_path / "ablation-patience" / f"adam_wd10-ner_none-s{seed}.json", {
            "variant": "adam_wd10", "pair": "ner_none", "seed": seed, "max_steps": None, "max_seconds": 900,
            "dev_score": score, "stop": "patience",
        })
    table = ablation_table(tmp_path, patience=True)
    spec = load_ablation()
    line = next(l for l in table.splitlines() if l.startswith(f"| {spec['variants']['adam_wd10']['description']}"))
    assert "| no score |" in line and line.endswith("| - |")
    heading = ablation.pair_heading(spec["pairs"]["ner_none"])
    assert f"| adam_wd10 | {heading} | no score | 50.00 | 70.00 | 60.00 (n=2) |" in table

    def no_score(run, *args):
        return {"dev_score": None, "wall_seconds": 3.0, "stop": "patience"}

    monkeypatch.setattr(ablation, "execute", no_score)
    monkeypatch.setattr(ablation, "is_prepared", lambda *args: True)
    echoed = []
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "other-results")
    ablation.run_ablation(["adam_wd10"], ["ner_none"], 13, grid, max_seconds=900, echo=echoed.append)
    assert echoed[-1] == "adam_wd10-ner_none-s13: dev no score (no gold or predicted spans in dev) (3 s, stopped by patience)"


@pytest.mark.parametrize("tables,problem", [
    ({"t": ["a"]}, r"missing \['b'\]"),
    ({"t": ["a", "b", "c"]}, r"unknown \['c'\]"),
    ({"t": ["a", "b"], "u": ["b"]}, r"repeated \['b'\]"),
])
def test_tables_that_do_not_list_each_pair_once_are_an_error_naming_the_file(tmp_path, tables, problem):
    path = tmp_path / "ablation.json"
    pair = {"source": None, "target": "x", "rate": 1.0, "arch": "single"}
    path.write_text(json.dumps({"base": {}, "pairs": {"a": pair, "b": pair}, "tables": tables, "variants": {}}), encoding="utf8")
    with pytest.raises(ValueError, match=r"ablation.json: \[E103\] .*" + problem):
        load_ablation(path)


def test_patience_budget_trains_to_the_schedule_under_a_time_cap(tmp_path):
    spec = load_ablation()
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results")
    command = train_command(AblationRun("adam_wd10_drop25", "pos_none", 13), spec, grid, 1500, None, max_seconds=600)
    sets = option_values(command, "--set")
    # no fixed step budget: `train` sizes eval_frequency and patience to the target
    assert not [s for s in sets if s.startswith(("training.max_steps=", "training.eval_frequency="))]
    assert option_values(command, "--max-seconds") == ["600"]
    assert command[5] == str(tmp_path / "work" / "ablation-patience" / "adam_wd10_drop25-pos_none-s13")
    assert f"training.logger.output_file={command[5]}.jsonl" in sets
    assert {"xfer.dropout=0.25", "xfer.word_dropout=0.1"} <= set(sets)
    steps = train_command(AblationRun("adam_wd10_drop25", "pos_none", 13), spec, grid, 1500, None)
    assert steps[5] == str(tmp_path / "work" / "ablation" / "adam_wd10_drop25-pos_none-s13")
    assert "--max-seconds" not in steps


def test_patience_table_is_its_own_and_names_the_runs_that_hit_the_cap(tmp_path):
    spec = load_ablation()
    pairs = next(iter(spec["tables"].values()))
    (tmp_path / "ablation").mkdir()
    (tmp_path / "ablation-patience").mkdir()
    srsly.write_json(tmp_path / "ablation" / "base-pos-s13.json",
                     {"variant": "base", "pair": "pos", "seed": 13, "max_steps": 1500, "dev_score": 0.5})
    for i, pair in enumerate(pairs):
        srsly.write_json(tmp_path / "ablation-patience" / f"adam_wd10-{pair}-s13.json", {
            "variant": "adam_wd10", "pair": pair, "seed": 13, "max_steps": None, "max_seconds": 900,
            "dev_score": 0.6 + i / 100, "stop": "time budget" if pair == "ner" else "patience",
        })
    table = ablation_table(tmp_path, patience=True)
    assert spec["variants"]["base"]["description"] not in table
    line = next(l for l in table.splitlines() if l.startswith(f"| {spec['variants']['adam_wd10']['description']}"))
    assert line.endswith(f"| {sum(60 + i for i in range(len(pairs))) / len(pairs):.2f} |")
    assert "900 s" in table and "Runs that hit the time cap: adam_wd10-ner." in table
    assert f"ablate --max-seconds 900 --variants adam_wd10 --pairs {','.join(pairs)}" in table
    steps = ablation_table(tmp_path)
    assert spec["variants"]["adam_wd10"]["description"] not in steps and "1500 steps" in steps


def test_a_second_seed_gets_its_own_table_and_leaves_the_first_seeds_as_it_was(tmp_path):
    """The main table is the first seed's (a variant run at one seed is compared with
    the others at that seed); runs at more seeds show per seed, with their mean."""
    spec = load_ablation()
    (tmp_path / "ablation-patience").mkdir()
    runs = [("adam_wd10", "pos_none", 13, 0.70), ("adam_wd10", "ner_none", 13, 0.20), ("adam_wd10", "pos_none", 14, 0.60),
            ("adam_wd10_drop25", "pos_none", 13, 0.72), ("adam_wd10_drop50", "pos_none", 14, 0.66)]
    for variant, pair, seed, score in runs:
        srsly.write_json(tmp_path / "ablation-patience" / f"{variant}-{pair}-s{seed}.json", {
            "variant": variant, "pair": pair, "seed": seed, "max_steps": None, "max_seconds": 900,
            "dev_score": score, "stop": "time budget" if seed == 14 else "patience",
            **({"schedule": 2} if seed == 14 else {}),  # files before the rule was recorded: rule 1
        })
    table = ablation_table(tmp_path, patience=True)
    assert "(schedule rule 1/2 of `schedule.py`" in table
    main = next(l for l in table.splitlines() if l.startswith(f"| {spec['variants']['adam_wd10']['description']}"))
    assert "| 70.00 |" in main and "60.00" not in main and "seed 13, one run each" in table
    heading = f"{spec['pairs']['pos_none']['target']} ({spec['pairs']['pos_none']['rate']}, no transfer)"
    assert f"| adam_wd10 | {heading} | 70.00 | 60.00 | 65.00 (n=2) |" in table
    assert "| adam_wd10_drop25 |" not in table  # the first seed only: the main table has it
    assert f"| adam_wd10_drop50 | {heading} | - | 66.00 | 66.00 (n=1) |" in table  # a later seed only
    assert spec["variants"]["adam_wd10_drop50"]["description"] not in table
    assert "Runs that hit the time cap: adam_wd10-pos_none-s14, adam_wd10_drop50-pos_none-s14." in table
    # commands that rerun exactly these runs: `ablate` runs every variant given on every pair
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10 --pairs pos_none,ner_none`" in table
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10_drop25 --pairs pos_none`" in table
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10,adam_wd10_drop50 --pairs pos_none --seed 14`" in table


@pytest.mark.parametrize(
    "pair,encoder",
    [("chunk", "components.encoder.model"), ("pos_none", "components.target.model.tok2vec"), ("pos", "components.target.model.tok2vec")],
)
def test_lexical_variant_sets_the_v3_encoder_of_the_pairs_architecture(tmp_path, pair, encoder):
    spec = load_ablation()
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results")
    sets = option_values(train_command(AblationRun("adam_wd10_lex", pair, 13), spec, grid, 10, None), "--set")
    assert f'{encoder}.@architectures="spacy_xfer.CharWordEncoder.v3"' in sets
    lexical = [s for s in sets if s.startswith(f"{encoder}.lexical=")]
    assert len(lexical) == 1 and json.loads(lexical[0].split("=", 1)[1])["@architectures"] == "spacy_xfer.LexicalEmbed.v1"
    # every other variant starts from the paper's encoder, whatever the configs' default
    base = option_values(train_command(AblationRun("adam_wd10", pair, 13), spec, grid, 10, None), "--set")
    assert f"{encoder}.lexical=null" in base
    assert f"{encoder}.output_width=600" in base  # the paper's word BiGRU (300 per direction), not the configs' 200
    narrow = option_values(train_command(AblationRun("adam_wd10_lex_w200", pair, 13), spec, grid, 10, None), "--set")
    widths = [s.split("=", 1)[1] for s in narrow if s.startswith(f"{encoder}.output_width=")]
    assert widths == ["200"]  # the variant's width replaces the base's


def write_spec(path, variants):
    spec = {"base": {}, "pairs": {}, "tables": {}, "variants": variants}
    path.write_text(json.dumps(spec), encoding="utf8")
    return path


def test_a_variant_that_extends_another_has_its_settings_and_its_own(tmp_path):
    lexical = {"@architectures": "spacy_xfer.LexicalEmbed.v1", "attrs": ["SHAPE"], "width": 16, "word_dropout": 0.1}
    path = write_spec(tmp_path / "ablation.json", {
        "adam": {"description": "Adam", "set": {"opt": "adam", "xfer.word_dropout": 0.1}, "vectors": True},
        "lex": {"description": "lexical", "extends": "adam", "encoder": {"lexical": lexical}},
        "lex_wd25": {
            "description": "word dropout 0.25", "extends": "lex",
            "set": {"xfer.word_dropout": 0.25}, "encoder": {"lexical": {"word_dropout": 0.25}},
        },
    })
    variants = load_ablation(path)["variants"]
    child = variants["lex_wd25"]
    assert child["description"] == "word dropout 0.25" and "extends" not in child
    assert child["set"] == {"opt": "adam", "xfer.word_dropout": 0.25}
    assert child["vectors"] is True
    assert child["encoder"]["lexical"] == {**lexical, "word_dropout": 0.25}
    assert variants["lex"]["encoder"]["lexical"] == lexical


def test_an_encoder_naming_another_architecture_replaces_the_parents(tmp_path):
    path = write_spec(tmp_path / "ablation.json", {
        "gru": {"description": "gru", "set": {}, "encoder": {"@architectures": "spacy_xfer.CharWordEncoder.v3", "width": 50}},
        "other": {"description": "other", "extends": "gru", "encoder": {"@architectures": "spacy_xfer.Other.v1"}},
    })
    assert load_ablation(path)["variants"]["other"]["encoder"] == {"@architectures": "spacy_xfer.Other.v1"}


@pytest.mark.parametrize("parent,message", [
    ("missing", r"variant 'a' extends 'missing', which is not in the file"),
    ("b", r"variant 'b' extends 'a', a cycle \(a -> b -> a\)"),
    (["b"], r"variant 'a' extends \['b'\], which is not in the file"),
])
def test_extending_an_unknown_variant_or_in_a_cycle_is_an_error_naming_the_file(tmp_path, parent, message):
    path = write_spec(tmp_path / "ablation.json", {
        "a": {"description": "a", "extends": parent, "set": {}},
        "b": {"description": "b", "extends": "a", "set": {}},
    })
    with pytest.raises(ValueError, match=r"ablation.json: \[E088\] ablation " + message):
        load_ablation(path)


def test_the_shipped_variants_that_extend_others_resolve():
    variants = load_ablation()["variants"]
    drop = variants["adam_wd10_lex_drop25"]
    assert drop["set"]["xfer.dropout"] == 0.25 and drop["set"]["xfer.word_dropout"] == 0.1
    assert drop["set"]["training.optimizer"]["@optimizers"] == "spacy_xfer.Adam.v1"
    assert drop["encoder"]["lexical"]["attrs"] == ["PREFIX", "SUFFIX", "SHAPE"]
    assert variants["adam_wd25_lex"]["encoder"]["lexical"]["word_dropout"] == 0.25


def test_each_run_trains_on_one_thread_unless_the_threads_are_set(tmp_path, monkeypatch):
    """`--workers` runs share the cores: each training subprocess gets one torch/BLAS
    thread (torch's default is one per core), or the threads the user set."""
    seen = []

    def fake_run(command, **kwargs):
        seen.append(kwargs["env"])
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(ablation.subprocess, "run", fake_run)
    spec = load_ablation()
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results")
    run = AblationRun("base", "pos_none", 13)
    for value in (None, "3"):
        for name in ablation.THREAD_VARIABLES:
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        with pytest.raises(RuntimeError, match="E075"):
            ablation.execute(run, spec, grid, 10, None)
        assert [seen[-1][name] for name in ablation.THREAD_VARIABLES] == [value or "1"] * 2
    assert seen[-1]["PATH"] == os.environ["PATH"]


def test_runs_of_two_caps_get_one_command_each_and_vectors_variants_their_option(tmp_path):
    """Each regenerate command is one that runs: one `--max-seconds` per command, and
    `--vectors PATH` where a variant needs vectors (E074 otherwise)."""
    (tmp_path / "ablation-patience").mkdir()
    runs = [("adam_wd10_lex_w200", "pos_none", 900), ("adam_wd10_lex_w200_vec", "ner_full_none", 3000)]
    for variant, pair, cap in runs:
        srsly.write_json(tmp_path / "ablation-patience" / f"{variant}-{pair}-s13.json", {
            "variant": variant, "pair": pair, "seed": 13, "max_steps": None, "max_seconds": cap,
            "dev_score": 0.5, "stop": "patience",
        })
    table = ablation_table(tmp_path, patience=True)
    assert "or the cap its command below gives (900 or 3000 s) of updates" in table
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10_lex_w200 --pairs pos_none`" in table
    assert "`python -m spacy_xfer ablate --max-seconds 3000 --variants adam_wd10_lex_w200_vec --pairs ner_full_none --vectors PATH`" in table


def write_runs(folder, runs):
    folder.mkdir(exist_ok=True)
    for variant, pair, seed, budget in runs:
        patience = folder.name == "ablation-patience"
        srsly.write_json(folder / f"{variant}-{pair}-s{seed}.json", {
            "variant": variant, "pair": pair, "seed": seed, "dev_score": 0.5, "stop": "patience",
            "max_steps": None if patience else budget, "max_seconds": budget if patience else None,
        })


def test_full_data_runs_alone_get_their_table_and_a_command_that_reruns_them(tmp_path):
    write_runs(tmp_path / "ablation", [("adam_wd10_lex_w200_vec", "ner_full_none", 13, 3000)])
    table = ablation_table(tmp_path)
    spec = load_ablation()
    assert table.count("| variant |") == 1 and "| conll03 (1.0, no transfer) | conll00 (1.0, no transfer) | mean |" in table
    assert not any(f"*{title}:*" in table for title in spec["tables"])
    assert "after 3000 steps" in table
    assert ("`python -m spacy_xfer ablate --max-steps 3000 --variants adam_wd10_lex_w200_vec --pairs ner_full_none "
            "--vectors PATH`, then") in table


def test_a_seed_and_budget_gets_one_command_per_set_of_pairs(tmp_path):
    """No command asks for runs the table does not hold (a recipe variant on a full-data
    target, say)."""
    write_runs(tmp_path / "ablation-patience", [
        ("adam_wd10_lex", "pos", 13, 900), ("adam_wd10_lex", "ner", 13, 900), ("adam_wd10_lex_w200", "pos", 13, 900),
        ("adam_wd10_lex_w200", "ner", 13, 900), ("adam_wd10_lex_w200_vec", "ner_full_none", 13, 900),
    ])
    table = ablation_table(tmp_path, patience=True)
    commands = table.split("Regenerate: ")[1]
    assert commands.count("`python -m spacy_xfer ablate") == 2
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10_lex,adam_wd10_lex_w200 --pairs pos,ner`" in commands
    assert "`python -m spacy_xfer ablate --max-seconds 900 --variants adam_wd10_lex_w200_vec --pairs ner_full_none --vectors PATH`" in commands


def test_runs_of_one_variant_and_pair_under_two_caps_are_not_averaged(tmp_path):
    write_runs(tmp_path / "ablation-patience", [
        ("adam_wd10_lex", "pos", 13, 900), ("adam_wd10_lex", "pos", 14, 3000), ("adam_wd10_lex", "pos", 15, 3000),
    ])
    table = ablation_table(tmp_path, patience=True)
    heading = ablation.pair_heading(load_ablation()["pairs"]["pos"])
    assert f"| adam_wd10_lex | {heading}, 3000 s | - | 50.00 | 50.00 | 50.00 (n=2) |" in table
    assert f"| adam_wd10_lex | {heading}, 900 s |" not in table  # one run at the first seed: the main table's
    assert "or 900 s of updates" in table  # the caption speaks of the first seed's runs
    assert "`python -m spacy_xfer ablate --max-seconds 3000 --variants adam_wd10_lex --pairs pos --seed 14`" in table


def test_a_transfer_only_variant_has_no_runs_on_pairs_without_a_source(tmp_path, monkeypatch):
    """The tasks' sampling weights mean nothing to a config without a source: a run there
    would repeat the variant it extends."""
    spec = load_ablation()
    assert spec["variants"]["adam_wd10_lex_w200_tw1"]["transfer_only"]
    assert "xfer.target_weight" in spec["variants"]["adam_wd10_lex_w200_tw1"]["set"]
    trained, echoed = [], []
    monkeypatch.setattr(ablation, "is_prepared", lambda name, seed, grid: True)
    monkeypatch.setattr(ablation, "execute", lambda run, *args: trained.append(run.name) or {"wall_seconds": 1.0, "dev_score": 0.5})
    grid = Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results")
    ablation.run_ablation(["adam_wd10_lex_w200_tw1", "adam_wd10_lex_w200"], ["pos", "pos_none"], 13, grid, echo=echoed.append)
    assert sorted(trained) == ["adam_wd10_lex_w200-pos-s13", "adam_wd10_lex_w200-pos_none-s13", "adam_wd10_lex_w200_tw1-pos-s13"]
    assert any("left out adam_wd10_lex_w200_tw1-pos_none-s13" in line for line in echoed)


def test_a_transfer_only_variants_line_counts_its_parents_runs_on_pairs_without_a_source(tmp_path):
    """Its setting is not read there, so the run of the variant it extends stands for it,
    shown in parentheses, and the line gets a mean like every other."""
    spec = load_ablation()
    pairs = next(iter(spec["tables"].values()))
    (tmp_path / "ablation").mkdir()
    for i, pair in enumerate(pairs):
        srsly.write_json(tmp_path / "ablation" / f"adam_wd10_lex_w200-{pair}-s13.json",
                         {"variant": "adam_wd10_lex_w200", "pair": pair, "seed": 13, "max_steps": 1500, "dev_score": 0.5 + i / 100})
        if spec["pairs"][pair]["source"]:
            srsly.write_json(tmp_path / "ablation" / f"adam_wd10_lex_w200_tw1-{pair}-s13.json",
                             {"variant": "adam_wd10_lex_w200_tw1", "pair": pair, "seed": 13, "max_steps": 1500, "dev_score": 0.6})
    table = ablation_table(tmp_path)
    line = next(line for line in table.splitlines() if line.startswith(f"| {spec['variants']['adam_wd10_lex_w200_tw1']['description']}"))
    cells = [cell.strip() for cell in line.strip("|").split("|")[1:]]
    want = [("60.00" if spec["pairs"][pair]["source"] else f"({50 + i:.2f})") for i, pair in enumerate(pairs)]
    scores = [60.0 if spec["pairs"][pair]["source"] else 50.0 + i for i, pair in enumerate(pairs)]
    assert cells == want + [f"{sum(scores) / len(scores):.2f}"]
    assert any(not spec["pairs"][pair]["source"] for pair in pairs)
