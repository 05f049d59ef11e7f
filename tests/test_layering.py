"""Dependencies point one way: cli -> experiments -> pipeline -> models, and corpora ->
tags. Loading a saved pipeline imports none of the training, corpus or experiment code."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import spacy_xfer

from .test_golden import build_nlp
from .util import NER_DATA, TAG_DATA, examples_for

PACKAGE = Path(spacy_xfer.__file__).parent
# package -> the packages of spacy_xfer it must not import
FORBIDDEN = {
    "models": {"corpora", "training", "experiments", "pipeline", "cli", "annotate"},
    "pipeline": {"corpora", "training", "experiments", "cli", "annotate"},
    "corpora": {"training", "experiments", "pipeline", "models", "cli", "annotate"},
    "training": {"corpora", "experiments", "pipeline", "models", "cli", "annotate"},
}
OFF_LOAD_PATH = ("spacy_xfer.corpora", "spacy_xfer.training", "spacy_xfer.experiments", "spacy_xfer.cli")


def imported_packages(path: Path) -> set:
    """The subpackages of spacy_xfer that a module imports (relative or absolute)."""
    module_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module_parts[: len(module_parts) - node.level])
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            names = [name] + [f"{name}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n.split(".")[1] for n in names if n.startswith("spacy_xfer.") and n.count(".") >= 1)
    return found


def test_no_module_imports_a_layer_above_or_beside_it():
    wrong = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for imported in sorted(imported_packages(path) & forbidden):
                wrong.append(f"{path.relative_to(PACKAGE)} imports spacy_xfer.{imported}")
    assert not wrong, "\n".join(wrong)


def test_loading_a_saved_pipeline_imports_no_training_or_corpus_code(tmp_path):
    nlp = build_nlp(tmp_path)
    nlp.initialize(lambda: examples_for(nlp, TAG_DATA, "tag") + examples_for(nlp, NER_DATA, "ents"))
    nlp.to_disk(tmp_path / "pipeline")
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipeline')!r})\n"
        "nlp('Anna lives in Paris')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('spacy_xfer'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "spacy_xfer.models.layers.gazetteer_features" in modules
    assert [m for m in modules if m.startswith(OFF_LOAD_PATH)] == []
