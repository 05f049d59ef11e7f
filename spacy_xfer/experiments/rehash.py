"""Carry results files over a change of how the grid hashes configs.

Until the configs were rendered from one template, `settings.config_sha256` of a
results file hashed the config file's text, not interpolated; it now hashes the
interpolated config (`grid.config_sha256`), and the shipped configs changed in form only
(listener widths interpolated, the encoders sized by output width: `CharEncoder.v2`,
`WordEncoder.v2`, `CharWordEncoder.v2`, each the v1 model of half the width). Every
results file written before then looks stale to `grid` although its run is the one the
grid would run now. `rehash_results` rewrites such a file's hash only after checking that:

1. the config file at the commit that wrote the results (`git show COMMIT:configs/...`;
   for spaCy's baseline, `baseline_config` as it is now) hashes, the old way, to the
   file's `config_sha256`: it is the config that ran;
2. the run's own config stored in the file (`config`: the config that ran, with the run's
   paths, seed, schedule and logger) equals, interpolated, the current config with the
   same run settings applied (the settings where the stored config differs from the
   config of step 1), with v1 encoder blocks written as their v2 equivalents;

    python -m spacy_xfer rehash-results --results results --dry-run
    python -m spacy_xfer rehash-results --results results
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import srsly
from thinc.api import Config

from .steps import write_json
from .grid import Grid, Run, config_path, git_output, hashed_config, load_rows, run_config, run_settings

Leaves = Dict[Tuple[str, ...], Any]

# v1 encoder argument sized by units per direction -> its v2 argument, the output width
V2_OF_V1 = {
    "spacy_xfer.CharEncoder.v1": ("spacy_xfer.CharEncoder.v2", {"hidden": "output_width"}),
    "spacy_xfer.WordEncoder.v1": ("spacy_xfer.WordEncoder.v2", {"hidden": "output_width"}),
    "spacy_xfer.CharWordEncoder.v1": (
        "spacy_xfer.CharWordEncoder.v2",
        {"char_hidden": "char_output_width", "hidden": "output_width"},
    ),
}


def old_config_sha256(config: Config) -> str:
    """How the grid hashed a config before: its text, not interpolated."""
    return hashlib.sha256(config.to_str().encode("utf8")).hexdigest()


def upgrade_encoders(config: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of a config (as nested dicts) with every v1 encoder block written as its
    v2 block: the same model, its GRUs sized by output width (2 x units per direction)."""
    out = {key: upgrade_encoders(value) if isinstance(value, dict) else value for key, value in config.items()}
    if out.get("@architectures") in V2_OF_V1:
        name, renamed = V2_OF_V1[out["@architectures"]]
        out["@architectures"] = name
        for old, new in renamed.items():
            if old in out:
                out[new] = 2 * out.pop(old)
    return out


def leaves(config: Dict[str, Any], prefix: Tuple[str, ...] = ()) -> Leaves:
    """Every value of a nested dict by its path of keys."""
    out: Leaves = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            out.update(leaves(value, prefix + (key,)))
        else:
            out[prefix + (key,)] = value
    return out


def with_changes(config: Config, ran: Config, base: Config) -> Config:
    """`config` with the changes that turn `base` into `ran` (the run's overrides and
    spaCy's filled-in defaults) made to it."""
    base_leaves, ran_leaves = leaves(base), leaves(ran)
    out = leaves(config)
    for path in base_leaves.keys() - ran_leaves.keys():
        out.pop(path, None)
    out.update({path: value for path, value in ran_leaves.items() if base_leaves.get(path, ...) != value})
    nested: Dict[str, Any] = {}
    for path, value in out.items():
        section = nested
        for key in path[:-1]:
            section = section.setdefault(key, {})
        section[path[-1]] = value
    return Config(nested)


def resolved_differences(a: Config, b: Config) -> List[str]:
    """The settings where two configs differ in the form the grid hashes
    (`hashed_config`) with their encoders written as v2 blocks, as "path: a -> b"."""
    left, right = (leaves(upgrade_encoders(hashed_config(config))) for config in (a, b))
    return [
        f"{'.'.join(path)}: {left.get(path, '(none)')!r} -> {right.get(path, '(none)')!r}"
        for path in sorted(left.keys() | right.keys())
        if left.get(path, ...) != right.get(path, ...)
    ]


@dataclass
class RehashSummary:
    """What `rehash_results` did, file names per outcome; `refused` with the reason."""

    current: List[str] = field(default_factory=list)
    rehashed: List[str] = field(default_factory=list)
    refused: Dict[str, str] = field(default_factory=dict)


def check_rehash(data: Dict[str, Any], grid: Grid, repo: Path) -> Tuple[Optional[str], Optional[str]]:
    """(the hash the grid computes now, None) if a results file's run ran the config the
    grid would run now (checks 1 and 2 of the module's docstring), else (None, why not).
    Only the config is checked: a file whose budget or vectors differ from the grid's
    stays stale for `grid` after its hash is rewritten.

    data (Dict[str, Any]): A results file of `grid.run_one`.
    grid (Grid): The grid, for its configs folder.
    repo (Path): The git checkout whose history has the results' commit.
    """
    rows, _ = load_rows()
    if data.get("row") not in rows:
        return None, f"row {data.get('row')!r} is not in rows.json"
    run = Run(rows[data["row"]], data["kind"], data["seed"])
    old, new = data["settings"], run_settings(run, grid)
    if old.get("config") != new["config"]:
        return None, f"it ran config {old.get('config')!r}, the grid runs {new['config']!r} now"
    if old["config_sha256"] == new["config_sha256"]:
        return new["config_sha256"], None
    if config_path(run, grid) is None:
        base = run_config(run, grid)
    else:
        commit = (data.get("git") or {}).get("commit")
        where = Path(old["config"])
        where = where.resolve().relative_to(repo.resolve()) if where.is_absolute() else where
        text = git_output(repo, "show", f"{commit}:{where.as_posix()}") if commit else None
        if text is None:
            return None, f"git has no {where} at the results' commit {commit!r}"
        base = Config().from_str(text, interpolate=False)
    if old_config_sha256(base) != old["config_sha256"]:
        return None, f"{old['config']} at the results' commit is not the config that ran (its old hash differs)"
    ran = Config(data["config"])
    differences = resolved_differences(ran, with_changes(run_config(run, grid), ran, base))
    if differences:
        return None, f"the config it ran resolves differently now: {'; '.join(differences[:5])}"
    return new["config_sha256"], None


def rehash_results(
    results_dir: Path, grid: Grid, repo: Path, *, dry_run: bool = False, echo: Callable[[str], None] = print
) -> RehashSummary:
    """Give every results file in `results_dir` (the grid's, not `ablation/`) the hash
    the grid computes now, where `check_rehash` shows its run is the one the grid would
    run now; files already current are left alone, files that fail a check too, with
    the reason. Files are rewritten atomically (not with `dry_run`).
    """
    summary = RehashSummary()
    for path in sorted(Path(results_dir).glob("*.json")):
        data = srsly.read_json(path)
        new_hash, why = check_rehash(data, grid, repo)
        if why is not None:
            summary.refused[path.name] = why
            echo(f"{path.name}: NOT rehashed: {why}")
        elif new_hash == data["settings"]["config_sha256"]:
            summary.current.append(path.name)
        else:
            summary.rehashed.append(path.name)
            echo(f"{path.name}: {'would rehash' if dry_run else 'rehashed'} (the config it ran resolves as the current one)")
            if not dry_run:
                data["settings"]["config_sha256"] = new_hash
                write_json(path, data)
    return summary
