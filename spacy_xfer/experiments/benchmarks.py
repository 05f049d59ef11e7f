"""The paper's benchmarks as named corpora: the built-in ones (`benchmarks.json`, paths
relative to a corpora folder) and user benchmark files in the same schema (paths
absolute or relative to that file); `check_benchmark` says what an entry holds. `prepare`
writes the definition it used to `NAME/benchmark.json` beside the DocBins, and `train` and
`evaluate` read it from there, so a user corpus needs naming only once.
"""

import codecs
import json
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Tuple, Union

from spacy.util import get_lang_class

from ..corpora import CHUNKS_KEY, FORMATS, SPLIT_ORDERS
from ..corpora.mappings import NO_MAPPING, mapping_names
from ..corpora.readers import CONLLU_TAG_FIELDS
from ..corpora.textfile import encoding_problem
from ..errors import Errors
from ..training.task_sampler import is_number

Benchmark = Dict[str, Any]
BUILT_IN_FILE = Path(__file__).parent / "benchmarks.json"
DEFINITION_FILE = "benchmark.json"
ROLES = ("source", "target")
PARTS = ("all", "train", "dev", "test")
# a benchmark's target -> the layer of the converted corpus that holds its gold
TARGET_LAYERS = {"tag": "tag", "ents": "ner", f"spans:{CHUNKS_KEY}": "chunk"}
# settings -> the JSON types they take; format, lang, target and files are required
SETTINGS = {
    "description": str,
    "format": str,
    "lang": str,
    "target": str,
    "files": dict,
    "split": list,
    "split_order": str,
    "dev_from_train": (int, float),
    "conllu_tag": str,
    "columns": str,
    "label_map": str,
    "encoding": str,
    "lenient": bool,
    "t_a_label_maps": dict,
    "merge": list,
}
REQUIRED = ("format", "lang", "target", "files")
# the settings of a benchmark made of other benchmarks' prepared parts (lang and target
# are its members', filled in by `get_benchmark`)
MERGE_SETTINGS = ("description", "merge", "lang", "target", "t_a_label_maps")
READ_OPTIONS = ("columns", "conllu_tag", "label_map", "encoding")


def check_benchmark(name: str, bench: Any, where: str) -> None:
    """Check a benchmark definition against the schema of `benchmarks.json`.

    Settings: `format` (a corpus format), `lang` (a spaCy language code), `target` (the
    head's target: `tag` for POS, `ents` for NER, `spans:chunks` for chunking), `files`
    (`train`, `test` and `dev` paths, or `all` with `split`: train/dev/test ratios; a
    path may be a list of candidates, the first that exists is read), optional
    `dev_from_train` (instead of `dev`: this share of train becomes dev), `split_order`
    (`random`, seeded, or `file`: in file order, dev the last share of train),
    `conllu_tag` (`upos` or `xpos`, conllu only), `columns` (the spec of the `columns`
    format), `label_map`, `encoding`, `lenient`, `description` and `t_a_label_maps`
    (source benchmark -> {source label: target label} for T-A). Or `merge`: the names of
    two or more benchmarks of one language and target, whose prepared train, dev and
    test parts are concatenated (e.g. two corpora of one tag set as one larger source),
    with optional `description`, `t_a_label_maps`, and `lang` and `target` (the members',
    filled in by `get_benchmark`).

    name (str): The benchmark's name.
    bench (Any): Its definition, as read from JSON.
    where (str): Where the definition comes from, for the error message.
    RAISES (ValueError): `WHERE: [E055] benchmark NAME: what is wrong: expected what`.
    """

    def fail(message: str) -> NoReturn:
        raise ValueError(Errors.E055.format(where=where, name=name, problem=message))

    if not isinstance(bench, dict):
        fail(f"expected an object of settings, got {bench!r}")
    unknown = sorted(set(bench) - set(SETTINGS))
    if unknown:
        fail(f"unknown setting(s) {unknown}: expected some of {list(SETTINGS)}")
    for key, value in bench.items():
        if not isinstance(value, SETTINGS[key]) or (isinstance(value, bool) and SETTINGS[key] != bool):
            fail(f"{key} is {value!r}: expected a JSON {_json_type(SETTINGS[key])}")
    if "merge" in bench:
        _check_merge(bench, fail)
    else:
        _check_read_settings(bench, fail)
    if "lang" in bench:
        try:
            get_lang_class(bench["lang"])
        except ImportError:
            fail(f"unknown language code {bench['lang']!r}: expected a spaCy language code such as 'en', 'nl' or 'xx'")
    if "target" in bench and bench["target"] not in TARGET_LAYERS:
        fail(
            f"target {bench['target']!r}: expected one of {list(TARGET_LAYERS)} (the converters "
            f"write POS tags to Token.tag_, entities to Doc.ents, chunks to Doc.spans[{CHUNKS_KEY!r}])"
        )
    for source, label_map in bench.get("t_a_label_maps", {}).items():
        if not isinstance(label_map, dict) or not all(isinstance(v, str) for v in label_map.values()):
            fail(f"t_a_label_maps[{source!r}]: expected an object of source label -> target label")


def _check_merge(bench: Benchmark, fail: Callable[[str], NoReturn]) -> None:
    others = sorted(set(bench) - set(MERGE_SETTINGS))
    if others:
        fail(f"merge makes a benchmark of other benchmarks' prepared parts, so {others} belong to those: expected only {list(MERGE_SETTINGS)} with merge")
    names = bench["merge"]
    if len(names) < 2 or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        fail(f"merge is {names!r}: expected two or more different benchmark names")


def _check_read_settings(bench: Benchmark, fail: Callable[[str], NoReturn]) -> None:
    """The settings of a benchmark read from corpus files."""
    missing = [key for key in REQUIRED if key not in bench]
    if missing:
        fail(f"missing setting(s) {missing}: {list(REQUIRED)} are required (or merge, of other benchmarks)")
    if bench["format"] not in FORMATS:
        fail(f"unknown format {bench['format']!r}: expected one of {list(FORMATS)}")
    _check_files(bench, fail)
    if bench.get("split_order", "random") not in SPLIT_ORDERS:
        fail(f"split_order {bench['split_order']!r}: expected one of {list(SPLIT_ORDERS)}")
    if "conllu_tag" in bench and bench["conllu_tag"] not in CONLLU_TAG_FIELDS:
        fail(f"conllu_tag {bench['conllu_tag']!r}: expected one of {list(CONLLU_TAG_FIELDS)}")
    if "conllu_tag" in bench and bench["format"] != "conllu":
        fail(f"conllu_tag is for the 'conllu' format only, not {bench['format']!r}")
    if "split_order" in bench and "all" not in bench["files"] and "dev_from_train" not in bench:
        fail("split_order says how a split is drawn: expected it with dev_from_train or an 'all' file")
    expected = encoding_problem(bench.get("encoding", "utf-8"))
    if expected is not None:
        fail(f"encoding {bench['encoding']!r}: expected {expected}")
    if ("columns" in bench) != (bench["format"] == "columns"):
        fail("the 'columns' format needs a 'columns' spec (e.g. 'word,tag,ner:iob2'), and only it takes one")


def _json_type(types: Any) -> str:
    names = {str: "string", dict: "object", list: "array", bool: "boolean", type(None): "null"}
    return names.get(types, "number")


def _check_files(bench: Benchmark, fail: Callable[[str], NoReturn]) -> None:
    files = bench["files"]
    unknown = sorted(set(files) - set(PARTS))
    if unknown or not files:
        fail(f"files has parts {sorted(files)}: expected train, dev and test, or all")
    for part, paths in files.items():
        candidates = [paths] if isinstance(paths, str) else paths
        if not isinstance(candidates, list) or not candidates or not all(isinstance(p, str) for p in candidates):
            fail(f"files.{part} is {paths!r}: expected a path, or a list of candidate paths")
    if "all" in files:
        ratios = bench.get("split")
        if set(files) != {"all"} or not isinstance(ratios, list) or len(ratios) != 3:
            fail("files.all (one corpus to split) goes alone, with split: [train, dev, test] ratios")
        numbers = all(is_number(r) and r >= 0 for r in ratios)
        if not numbers or not math.isclose(sum(ratios), 1.0):
            fail(f"split {ratios}: expected three non-negative ratios summing to 1")
        return
    if "split" in bench:
        fail("split is for files.all only: expected train, dev and test files, or all with split")
    if "train" not in files or "test" not in files:
        fail(f"files has parts {sorted(files)}: expected train and test (and dev, or dev_from_train)")
    share = bench.get("dev_from_train")
    if ("dev" in files) == (share is not None):
        fail("expected files.dev or dev_from_train (a share of train), one of them")
    if share is not None and not 0 < share < 1:
        fail(f"dev_from_train {share}: expected a share of train in (0, 1)")


def read_benchmarks(path: Union[str, Path], *, relative_to_file: bool = True) -> Dict[str, Benchmark]:
    """Read and check a benchmarks file (the schema of `benchmarks.json`).

    path (Union[str, Path]): The JSON file: {NAME: {settings}}.
    relative_to_file (bool): Make relative file paths absolute, relative to the JSON
        file's folder (False keeps them relative, for a corpora folder to resolve).
    RETURNS (Dict[str, Benchmark]): The benchmarks by name.
    RAISES (ValueError): On bytes that are not UTF-8 or JSON that does not parse (E056;
        a UTF-8 byte-order mark is read), no object (E057), a name given twice in one
        object (E084), or an entry that breaks the schema (E055). With
        `relative_to_file`, a `label_map` that is no shipped table's name is a path
        relative to the file too.
    """
    path = Path(path)
    raw = path.read_bytes()
    raw = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw  # as Windows editors save
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        problem = f"byte {raw[e.start:e.start + 1]!r} is not UTF-8"
        raise ValueError(Errors.E056.format(path=path, line=raw.count(b"\n", 0, e.start) + 1, problem=problem)) from e
    try:
        data = json.loads(text, object_pairs_hook=lambda pairs: _unique_keys(pairs, path))
    except json.JSONDecodeError as e:
        raise ValueError(Errors.E056.format(path=path, line=e.lineno, problem=e.msg)) from e
    if not isinstance(data, dict):
        raise ValueError(Errors.E057.format(path=path, found=_json_type(type(data))))
    for name, bench in data.items():
        check_benchmark(name, bench, str(path))
        if relative_to_file and "files" in bench:
            bench["files"] = {part: _resolve(path.parent, paths) for part, paths in bench["files"].items()}
            if bench.get("label_map", NO_MAPPING) not in [*mapping_names(), NO_MAPPING]:
                bench["label_map"] = _resolve(path.parent, bench["label_map"])
    return data


def _unique_keys(pairs: List[Tuple[str, Any]], path: Path) -> Dict[str, Any]:
    """A JSON object's pairs as a dict. RAISES (ValueError): E084 for a key given twice
    (JSON parsers keep the last silently)."""
    seen: Dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(Errors.E084.format(path=path, key=key))
        seen[key] = value
    return seen


def _resolve(folder: Path, paths: Union[str, List[str]]) -> Union[str, List[str]]:
    if isinstance(paths, str):
        return str((folder / paths).resolve())
    return [str((folder / p).resolve()) for p in paths]


BENCHMARKS: Dict[str, Benchmark] = read_benchmarks(BUILT_IN_FILE, relative_to_file=False)


def load_benchmarks(*paths: Union[str, Path]) -> Dict[str, Benchmark]:
    """The built-in benchmarks, with those of user benchmarks files merged over them
    (an entry replaces the built-in one of its name; a merge's members may come from any
    of the files).

    RAISES (ValueError): as `read_benchmarks`; E115 for a name that two of the files
        define; `PATH: [E114] ...` for a merge in a file that `get_benchmark` refuses.
    """
    benchmarks = dict(BENCHMARKS)
    defined_in: Dict[str, Path] = {}
    for path in dict.fromkeys(Path(p).resolve() for p in paths):  # a file given twice is read once
        own = read_benchmarks(path)
        for name in own:
            if name in defined_in:
                raise ValueError(Errors.E115.format(name=name, first=defined_in[name], second=path))
            defined_in[name] = path
        benchmarks.update(own)
    for name, path in defined_in.items():
        _resolve_merge(name, benchmarks, where=f"{path}: ", defined_in=defined_in)
    return benchmarks


def get_benchmark(name: str, benchmarks: Optional[Mapping[str, Benchmark]] = None) -> Benchmark:
    """A benchmark's entry in `benchmarks` (default: the built-in ones); a `merge` entry
    with its members' `lang` and `target` filled in.

    RAISES (ValueError): E039 for a name `benchmarks` does not hold, listing them; E114
        for a merge of a name it does not hold, of another merge, or of members whose
        `lang` or `target` differ (from each other or from the merge's own).
    """
    benchmarks = BENCHMARKS if benchmarks is None else benchmarks
    if name not in benchmarks:
        choices = f"{sorted(benchmarks)}, or a benchmark of your own: see `prepare --help` (--benchmarks FILE, or --format/--train/--dev/--test)"
        raise ValueError(Errors.E039.format(kind="benchmark", value=name, choices=choices))
    return _resolve_merge(name, benchmarks)


def _resolve_merge(
    name: str, benchmarks: Mapping[str, Benchmark], where: str = "", defined_in: Mapping[str, Path] = {}
) -> Benchmark:
    """`benchmarks[name]`; a merge with its members' `lang` and `target` filled in.
    RAISES (ValueError): `WHERE[E114] ...` as `get_benchmark` says, naming the file of
        each member defined (`defined_in`) in another file than the merge."""
    bench = benchmarks[name]
    if "merge" not in bench:
        return bench
    members = bench["merge"]

    def fail(problem: str, expected: str) -> NoReturn:
        raise ValueError(Errors.E114.format(where=where, name=name, members=members, problem=problem, expected=expected))

    for member in members:
        if member not in benchmarks:
            known = sorted(n for n, b in benchmarks.items() if "merge" not in b)
            fail(f"{member!r} is no benchmark", f"benchmarks built in or defined in a --benchmarks file (not merges): {known}")
        if "merge" in benchmarks[member]:
            fail(f"{member!r} is a merge itself", "benchmarks read from corpus files")
    settings = {}
    for key in ("lang", "target"):
        values = {member: benchmarks[member][key] for member in members}
        found = sorted(set(values.values()))
        if len(found) > 1 or bench.get(key, found[0]) != found[0]:
            own = f" and {bench[key]!r} of its own" if key in bench else ""
            elsewhere = [m for m in members if m in defined_in and defined_in[m] != defined_in.get(name)]
            files = ", ".join(f"{member!r} from {defined_in[member]}" for member in elsewhere)
            fail(f"its members have {key} {values}{own}" + (f" ({files})" if files else ""),
                 f"one {key}: a merge concatenates corpora of one language and task")
        settings[key] = found[0]
    return {**bench, **settings}


def prepared_benchmark(name: str, corpus_dir: Path) -> Benchmark:
    """The definition a prepared benchmark was converted from: `corpus_dir/NAME/
    benchmark.json` as `prepare` wrote it, else (a folder prepared without it) the
    built-in benchmark of that name.

    RAISES (ValueError): E058 for a name neither prepared with its definition nor built
        in; E059 for a definition file of another benchmark; E114 for a merge there
        that `get_benchmark` refuses.
    """
    path = Path(corpus_dir) / name / DEFINITION_FILE
    if not path.exists():
        if name in BENCHMARKS:
            return get_benchmark(name)
        raise ValueError(Errors.E058.format(name=name, path=path, built_in=", ".join(sorted(BENCHMARKS))))
    prepared = read_benchmarks(path, relative_to_file=False)
    if name not in prepared:
        raise ValueError(Errors.E059.format(path=path, name=name, found=sorted(prepared)))
    return get_benchmark(name, prepared)  # a merge's members are in the file too


def find_file(name: str, part: str, corpora_dir: Optional[Path], paths: Union[str, List[str]]) -> Path:
    """The first of a benchmark part's candidate paths that exists (relative ones under
    corpora_dir).

    RAISES (ValueError): E060 for relative paths without a `corpora_dir`.
    RAISES (FileNotFoundError): E061 if none of the candidates exists, naming them.
    """
    candidates = [Path(path) for path in ([paths] if isinstance(paths, str) else paths)]
    relative = not all(path.is_absolute() for path in candidates)
    if corpora_dir is None and relative:
        raise ValueError(Errors.E060.format(name=name, part=part, paths=", ".join(map(str, candidates))))
    candidates = [Path(corpora_dir or "") / path for path in candidates]
    for path in candidates:
        if path.exists():
            return path
    expected = ": expected the folder layout of ../shared/corpora under CORPORA_DIR" if relative else ""
    raise FileNotFoundError(Errors.E061.format(name=name, part=part, paths=", ".join(map(str, candidates)), expected=expected))
