"""Our pipeline as an older checkout of this repository builds it, timed the way
bench/peers.py times today's: peers.py's `--baseline-root ROOT --baseline-python PY`
runs this file (today's copy) under PY, one phase per process.

What is timed comes from ROOT: its `spacy_xfer` (code and registered names) and its
`configs/single.cfg` (with peers.py's `--baseline-set` overrides). How it is timed comes
from today's bench/: the data, the run sizes, the timing loop (this file's folder is
loaded as the `bench` package; ROOT's own bench/ is not used). PY's environment must
have ROOT's dependencies and entry points (`pip install -e ROOT`: one environment per
commit, since spaCy loads every factory entry point an environment declares); the worker
stops with an error if `spacy_xfer` comes from anywhere but ROOT, so a column is never
labelled with a commit whose code did not run.
"""

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Optional, Sequence

BENCH = Path(__file__).resolve().parent


def load_bench() -> None:
    """Today's bench package (this file's folder) as `bench`, whatever sys.path holds."""
    spec = importlib.util.spec_from_file_location("bench", BENCH / "__init__.py", submodule_search_locations=[str(BENCH)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)


def import_checkout(root: Path) -> None:
    """Import `spacy_xfer` from the checkout at root (first on sys.path).

    RAISES (SystemExit): If it is imported from elsewhere (e.g. an older copy was
        already imported).
    """
    sys.path.insert(0, str(root))
    import spacy_xfer

    check_loaded_from(root, [spacy_xfer.__name__])


def check_loaded_from(root: Path, names: Sequence[str]) -> None:
    """RAISES (SystemExit): If one of the modules `names` (those with a file) was not
    loaded from root."""
    for name in names:
        file = getattr(sys.modules[name], "__file__", None)
        where = Path(file).resolve() if file else root / name
        if root not in where.parents:
            raise SystemExit(f"{name} was imported from {where}, not from {root}: run this worker with the Python "
                             f"of an environment where {root} is installed (pip install -e {root})")


def main(argv: Optional[Sequence[str]] = None) -> None:
    load_bench()
    from bench.isolation import emit
    from bench.options import add_shared_options, config_overrides, parse

    parser = argparse.ArgumentParser(description="Time one phase of our pipeline at an older checkout.")
    parser.add_argument("--root", required=True, help="the checkout whose spacy_xfer and configs/ are timed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override")
    add_shared_options(parser, threads=1, data_help="as bench/peers.py's --data")
    args = parse(parser, argv)
    root = Path(args.root).resolve()
    import_checkout(root)
    from bench.peers import OURS, run_phase
    from bench.pipelines import CONFIG_IN_REPO

    _, phase, batch_size = args._worker.split(":")
    try:
        result = run_phase(args, OURS, phase, int(batch_size), config_path=root / CONFIG_IN_REPO,
                           overrides=config_overrides(args.set))
    except ModuleNotFoundError as e:  # spaCy loads every factory entry point of the environment
        if not (e.name or "").startswith("spacy_xfer."):
            raise
        raise SystemExit(f"{e.name} is not in {root}, but an entry point of {sys.prefix} names it: that environment "
                         f"has another commit installed; give {root} an environment of its own (pip install -e {root})") from e
    check_loaded_from(root, [name for name in sys.modules if name.split(".")[0] == "spacy_xfer"])
    emit({**result, "code": str(root)})


if __name__ == "__main__":
    main()
