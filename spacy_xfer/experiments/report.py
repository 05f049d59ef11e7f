"""Tables and plots from the grid's results files.

`results_table` gives a row set's Markdown table (mean ± std over seeds beside the
paper's numbers, with notes); `rewrite_readme` puts each table between its markers in the
README,

    <!-- results:table2 -->
    ...generated, rewritten by `python -m spacy_xfer report --readme README.md`...
    <!-- /results:table2 -->

and `draw_figures` plots the paper's Figure 2 (score against labelling rate) as PNGs.
"""

import io
import re
import shlex
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import srsly

from ..corpora.io import write_atomic
from ..errors import Errors
from .grid import FIRST_SEED, KINDS, MAX_SECONDS, Row, RowSet, done_under_budget

KIND_TITLES = {"transfer": "transfer", "none": "no transfer", "spacy": "spaCy built-in"}
MARKER = re.compile(r"<!-- results:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /results:(?P=name) -->", re.S)
OPENING = re.compile(r"<!-- results:([\w-]+) -->")
RESULT_KEYS = ("row", "kind", "seed", "test_score", "training")  # what every grid results file holds

Results = Dict[Tuple[str, str], List[Dict[str, Any]]]


def load_results(results_dir: Path) -> Results:
    """The results files of a folder, grouped by (row id, kind), sorted by seed; a
    missing folder holds none.

    RAISES (ValueError): E072 for a file without the keys the grid writes, naming it.
    """
    grouped: Results = defaultdict(list)
    for path in sorted(Path(results_dir).glob("*.json")):
        data = srsly.read_json(path)
        missing = [key for key in RESULT_KEYS if key not in data]
        if missing:
            raise ValueError(Errors.E072.format(path=path, missing=missing, keys=", ".join(RESULT_KEYS)))
        grouped[(data["row"], data["kind"])].append(data)
    for runs in grouped.values():
        runs.sort(key=lambda data: data["seed"])
    return dict(grouped)


def percent_scores(runs: Sequence[Dict[str, Any]]) -> List[float]:
    """The runs' test scores in %."""
    return [100 * run["test_score"] for run in runs if run["test_score"] is not None]


def mean_std(values: Sequence[float]) -> Optional[Tuple[float, Optional[float], int]]:
    """(mean, sample standard deviation or None for one value, n); None for no values."""
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), std, len(values)


def format_cell(values: Sequence[float]) -> str:
    """"75.92 ± 1.20 (n=3)", "75.92 (n=1)" or "-"."""
    stats = mean_std(values)
    if stats is None:
        return "-"
    mean, std, n = stats
    spread = f" ± {std:.2f}" if std is not None else ""
    return f"{mean:.2f}{spread} (n={n})"


def format_paper(row: Row) -> str:
    if not row.paper:
        return "-"
    return f"{row.paper['transfer']:.2f} / {row.paper['none']:.2f}"


def results_table(row_set: RowSet, results: Results, with_vectors: bool = False) -> str:
    """A row set's Markdown table with its notes: per row, mean ± std over seeds of the
    test score of each kind of run beside the paper's numbers; the runs that hit the
    time cap; the commits the results came from; how our data differs from the paper's.

    with_vectors (bool): The results are the grid's `--vectors` runs: say which vectors.
    """
    lines = [
        f"| source -> target (rate, model), metric | {' | '.join(KIND_TITLES[k] for k in KINDS)} | paper (transfer / none) |",
        "| --- |" + " --- |" * (len(KINDS) + 1),
    ]
    runs_of_set = []
    for row in row_set.rows:
        cells = []
        for kind in KINDS:
            runs = results.get((row.id, kind), [])
            runs_of_set.extend(runs)
            older = " (older config)" if any(run.get("stale") for run in runs) else ""
            cells.append(format_cell(percent_scores(runs)) + older)
        lines.append(f"| {row.title}, {row.metric} | {' | '.join(cells)} | {format_paper(row)} |")
    lines.append("")
    commands = " and ".join(f"`{command}`" for command in grid_commands(row_set, results, with_vectors))
    # the config settings of `grid --set` runs, kept in a results folder of their own, are
    # not in the README
    if any(run.get("settings", {}).get("overrides") for run in runs_of_set):
        report = f"`python -m spacy_xfer report --results RESULTS --rows {row_set.name}` (RESULTS: this table's folder)"
    else:
        report = "`python -m spacy_xfer report --readme README.md`"
    regenerate = f"{commands}, then {report}"
    lines.append(
        f"Test scores (%) of the model selected on dev, scored once; mean ± sample standard "
        f"deviation over n seeds (the seed also draws the split of corpora without a standard "
        f"one). The paper reports its best test score seen during training, with dev merged "
        f"into train. Regenerate: {regenerate}."
    )
    if with_vectors:
        names = sorted({str(run["settings"].get("vectors")) for run in runs_of_set})
        lines.append(
            f"Vectors ({', '.join(names) or 'none yet'}; PATH is their pipeline folder) in every kind of "
            f"run: our word embeddings start from them at their width, spaCy's built-in adds them as "
            f"static vectors (`include_static_vectors`)."
        )
    lines.append("")
    if not runs_of_set:
        lines.append("No runs yet.")
    else:
        capped = [run for run in runs_of_set if run["training"].get("hit_cap")]
        lines.append(f"Runs that hit the time cap: {run_names(capped) if capped else 'none'}.")
        order = order_line(row_set, results)
        if order:
            lines.append(order)
        stale = [run for run in runs_of_set if run.get("stale")]
        if stale:
            lines.append(
                f"(older config): runs trained with a config or schedule rule other than today's (`grid --rerun-stale` "
                f"reruns them): {run_names(stale)}."
            )
        lines.append(commits_line(runs_of_set) + " " + machines_line(runs_of_set))
    lines.append("")
    lines.append("Where our data differs from the paper's:")
    lines.extend(f"- {row.title}: {row.data}." for row in row_set.rows)
    lines.extend(f"- Left out: {reason}." for reason in row_set.skipped)
    return "\n".join(lines) + "\n"


def grid_commands(row_set: RowSet, results: Results, with_vectors: bool = False) -> List[str]:
    """The `grid` commands that rerun a row set's runs as its table has them: the set (or
    the rows that have the runs), the seeds and kinds (`--only`) each row has, one
    command for the rows and kinds that share seeds; the budget (`--max-seconds`) under
    which each of its runs counts as done (the largest one needs; commands split by
    budget where no one budget serves them all, see `grid.done_under_budget`), the vectors
    (PATH) and the config settings (`--set`) they ran with. All of a set's rows and
    kinds with seeds 13-15 and the default budget:
    `python -m spacy_xfer grid --rows table2 --seeds 3`."""
    runs = {(run["row"], run["kind"], run["seed"]): run for row in row_set.rows for kind in KINDS for run in results.get((row.id, kind), [])}
    flags = ["--vectors PATH"] if with_vectors else []
    if not runs:
        return [" ".join(["python -m spacy_xfer grid", f"--rows {row_set.name}", "--seeds 3", *flags])]
    commands = []
    for group in run_groups(row_set, list(runs)):
        budget = max(needed_budget(runs[unit]) for unit in group)
        if all(done_under_budget(runs[unit], budget) for unit in group):
            commands.append(grid_command(row_set, group, budget, runs, flags))
            continue
        by_budget: Dict[int, List[Tuple[str, str, int]]] = defaultdict(list)
        for unit in group:
            by_budget[needed_budget(runs[unit])].append(unit)
        for each, units in by_budget.items():
            commands.extend(grid_command(row_set, part, each, runs, flags) for part in run_groups(row_set, units))
    return commands


def run_groups(row_set: RowSet, units: Sequence[Tuple[str, str, int]]) -> List[List[Tuple[str, str, int]]]:
    """Grid runs (row id, kind, seed) grouped for one command each: the rows and kinds
    that have the same seeds, in the set's row order and `KINDS`' order."""
    seeds_of: Dict[Tuple[str, str], List[int]] = defaultdict(list)
    for row_id, kind, seed in units:
        seeds_of[(row_id, kind)].append(seed)
    order = {row.id: i for i, row in enumerate(row_set.rows)}
    rows_of: Dict[Tuple[str, Tuple[int, ...]], List[str]] = defaultdict(list)
    for (row_id, kind), seeds in sorted(seeds_of.items(), key=lambda item: (KINDS.index(item[0][1]), order[item[0][0]])):
        rows_of[(kind, tuple(sorted(seeds)))].append(row_id)
    kinds_of: Dict[Tuple[Tuple[str, ...], Tuple[int, ...]], List[str]] = defaultdict(list)
    for (kind, seeds), row_ids in rows_of.items():
        kinds_of[(tuple(row_ids), seeds)].append(kind)
    return [
        [(row_id, kind, seed) for row_id in row_ids for kind in kinds for seed in seeds]
        for (row_ids, seeds), kinds in kinds_of.items()
    ]


def grid_command(
    row_set: RowSet, group: List[Tuple[str, str, int]], budget: int, runs: Dict[Tuple[str, str, int], Dict[str, Any]], flags: List[str]
) -> str:
    """The `grid` command of a group of `run_groups` under `budget`."""
    row_ids = list(dict.fromkeys(row_id for row_id, _, _ in group))
    kinds = [kind for kind in KINDS if any(unit[1] == kind for unit in group)]
    seeds = sorted({seed for _, _, seed in group})
    parts = [f"--rows {row_set.name if row_ids == [row.id for row in row_set.rows] else ','.join(row_ids)}"]
    if seeds == list(range(FIRST_SEED, FIRST_SEED + len(seeds))):
        parts.append(f"--seeds {len(seeds)}")
    else:
        parts.extend(f"--seed {seed}" for seed in seeds)
    if kinds != list(KINDS):
        parts.append(f"--only {','.join(kinds)}")
    if budget != MAX_SECONDS:
        parts.append(f"--max-seconds {budget}")
    settings = sorted({item for unit in group for item in runs[unit].get("settings", {}).get("overrides", [])})
    parts.extend([*flags, *(f"--set {shlex.quote(item)}" for item in settings)])
    return " ".join(["python -m spacy_xfer grid", *parts])


def needed_budget(run: Dict[str, Any]) -> int:
    """The smallest `--max-seconds` of the two the grid gives a run a choice of, under
    which it counts as done (`grid.done_under_budget`): the default, else the budget it
    ran with."""
    return MAX_SECONDS if done_under_budget(run, MAX_SECONDS) else run.get("settings", {}).get("max_seconds", MAX_SECONDS)


def order_line(row_set: RowSet, results: Results) -> Optional[str]:
    """Where the means of a row set's rows, as the table prints them (2 decimals), keep
    the accuracy issue's order "transfer > no transfer >= spaCy built-in", and where not,
    with the means that break it; a row without one kind of runs is checked on the kinds
    it has, in a sentence of its own that says so, and one with fewer than two is left
    out. None if no row has two.

    "Transfer > no transfer >= spaCy built-in on the means: held on ROW, ...; missed
    on ROW (no transfer 13.83 < spaCy built-in 14.04). Transfer > no transfer on the
    means of the rows without spaCy built-in runs: held on ROW."
    """
    verdicts: Dict[Tuple[str, ...], Tuple[List[str], List[str]]] = {}  # kinds -> (held, missed)
    for row in row_set.rows:
        means = {}
        for kind in KINDS:
            stats = mean_std(percent_scores(results.get((row.id, kind), [])))
            if stats is not None:
                means[kind] = round(stats[0], 2)
        if len(means) < 2:
            continue
        kinds = tuple(means)  # in KINDS' order: transfer, none, spacy
        broken = [
            f"{KIND_TITLES[better]} {means[better]:.2f} {'<' if means[better] < means[worse] else '='} "
            f"{KIND_TITLES[worse]} {means[worse]:.2f}"
            for better, worse in zip(kinds, kinds[1:])
            if means[better] < means[worse] or (means[better] == means[worse] and better == "transfer")
        ]
        held, missed = verdicts.setdefault(kinds, ([], []))
        (missed if broken else held).append(f"{row.title} ({'; '.join(broken)})" if broken else row.title)
    sentences = []
    for kinds, (held, missed) in sorted(verdicts.items(), key=lambda item: -len(item[0])):
        order = KIND_TITLES[kinds[0]] + "".join(
            f" {'>' if better == 'transfer' else '>='} {KIND_TITLES[worse]}" for better, worse in zip(kinds, kinds[1:])
        )
        absent = " or ".join(KIND_TITLES[kind] for kind in KINDS if kind not in kinds)
        scope = f" of the rows without {absent} runs" if absent else ""
        parts = ([f"held on {', '.join(held)}"] if held else []) + ([f"missed on {', '.join(missed)}"] if missed else [])
        sentences.append(f"{order[0].upper()}{order[1:]} on the means{scope}: {'; '.join(parts)}.")
    return " ".join(sentences) or None


def run_names(runs: Sequence[Dict[str, Any]]) -> str:
    """Grid runs named by row, kind and seeds, in that order:
    "ptb-genia-t_a-0.001 (none s13, s14; transfer s15), ptb-conll00-t_b-0.01 (spacy s13)"
    (a run's file is RESULTS/<row>-<kind>-s<seed>.json)."""
    seeds: Dict[str, Dict[str, List[int]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        seeds[run["row"]][run["kind"]].append(run["seed"])
    return ", ".join(
        f"{row} ({'; '.join(kind + ' ' + ', '.join(f's{seed}' for seed in sorted(by_kind[kind])) for kind in sorted(by_kind))})"
        for row, by_kind in sorted(seeds.items())
    )


def commits_line(runs: Sequence[Dict[str, Any]]) -> str:
    """"Commits: 0123456789 (4 runs), ... ." from the runs' `git` entries (see
    `grid.git_state`); "(dirty)" marks code with uncommitted changes."""
    gits = [run.get("git") or {} for run in runs]
    return _counted("Commits", [(git.get("commit") or "unknown")[:10] + (" (dirty)" if git.get("dirty") else "") for git in gits])


def machines_line(runs: Sequence[Dict[str, Any]]) -> str:
    """"CPUs: AMD EPYC (4 runs), ... ." from the runs' `machine` entries (see
    `grid.machine_info`): float arithmetic differs between CPUs, so one config and
    seed can train to other scores on another kind of machine."""
    return _counted("CPUs", [(run.get("machine") or {}).get("cpu") or "unknown" for run in runs])


def _counted(what: str, keys: Sequence[str]) -> str:
    return f"{what}: " + ", ".join(f"{key} ({n} run{'s' * (n != 1)})" for key, n in sorted(Counter(keys).items())) + "."


def rewrite_readme(
    text: str, sets: Dict[str, RowSet], results: Results, tables: Optional[Dict[str, str]] = None,
    *, path: Union[str, Path] = "README.md",
) -> str:
    """The README text with the table of each `<!-- results:NAME -->` block rebuilt.

    tables (Optional[Dict[str, str]]): more blocks by name, already written (e.g. the
        ablation's table).
    path (Union[str, Path]): The file the text comes from, for error messages.
    RAISES (ValueError): E073 for a block naming an unknown set, or an opening marker
        without its closing one, naming the file and line.
    """
    tables = tables or {}
    closed = {match.start() for match in MARKER.finditer(text)}
    for match in OPENING.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        name = match.group(1)
        if match.start() not in closed:
            problem, expected = f"{match.group(0)} has no closing marker", f"<!-- /results:{name} --> after it"
            raise ValueError(Errors.E073.format(path=path, line=line, problem=problem, expected=expected))
        if name not in sets and name not in tables:
            problem, expected = f"unknown row set {name!r}", f"one of {sorted(sets) + sorted(tables)}"
            raise ValueError(Errors.E073.format(path=path, line=line, problem=problem, expected=expected))

    def table(match: "re.Match[str]") -> str:
        name = match.group("name")
        body = tables[name] if name in tables else results_table(sets[name], results)
        return f"<!-- results:{name} -->\n{body}<!-- /results:{name} -->"

    return MARKER.sub(table, text)


def pair_series(rows: Sequence[Row], results: Results, kind: str) -> List[Tuple[float, List[float]]]:
    """(rate, test scores in %) of one kind of run over rows of one pair, by rate;
    rates without results left out."""
    series = [(row.rate, percent_scores(results.get((row.id, kind), []))) for row in rows]
    return sorted((rate, scores) for rate, scores in series if scores)


def pyplot() -> Any:
    """matplotlib's pyplot, drawing off-screen (Agg).

    RAISES (ImportError): E051 without matplotlib (`pip install spacy-xfer[plots]`).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(Errors.E051.format(feature="Plotting (matplotlib)", extra="plots")) from e
    return plt


def plot_mean_band(ax: Any, points: Sequence[Tuple[float, List[float]]], label: str) -> None:
    """A line through the mean of each x's scores and a band from their lowest to their
    highest, in the line's colour.

    points (Sequence[Tuple[float, List[float]]]): (x, scores over seeds), by x.
    """
    xs = [x for x, _ in points]
    line, = ax.plot(xs, [statistics.fmean(scores) for _, scores in points], marker="o", label=label)
    lows = [min(scores) for _, scores in points]
    highs = [max(scores) for _, scores in points]
    ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.2)


def save_png(fig: Any, path: Path) -> Path:
    """Write a figure as PNG (120 dpi) atomically and close it."""
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=120)
    write_atomic(path, image.getvalue())
    pyplot().close(fig)
    return path


def draw_figures(row_set: RowSet, results: Results, output_dir: Path) -> List[Path]:
    """Figure 2: one PNG per source -> target pair (and architecture) of the set: test
    score against labelling rate (log scale), a line through the mean over seeds and a
    band from the lowest to the highest seed, per kind of run. Pairs without results
    are left out.

    RETURNS (List[Path]): The PNG files written.
    RAISES (ImportError): E051 without matplotlib (`pip install spacy-xfer[plots]`).
    """
    plt = pyplot()
    pairs: Dict[Tuple[str, str, str], List[Row]] = defaultdict(list)
    for row in row_set.rows:
        pairs[(row.source, row.target, row.arch)].append(row)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (source, target, arch), rows in pairs.items():
        series = {kind: pair_series(rows, results, kind) for kind in KINDS}
        if not any(series.values()):
            continue
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for kind, points in series.items():
            if points:
                plot_mean_band(ax, points, KIND_TITLES[kind])
        ax.set_xscale("log")
        ax.set_xticks([row.rate for row in rows], [str(row.rate) for row in rows])
        ax.set_xlabel("labelling rate of the target")
        ax.set_ylabel(f"test {rows[0].metric} (%)")
        ax.set_title(f"{source} -> {target} ({arch.replace('_', '-').upper()}), mean and min-max over seeds", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(save_png(fig, output_dir / f"{row_set.name}-{source}-{target}-{arch}.png"))
    return written
