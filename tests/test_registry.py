"""Every entry point in pyproject.toml resolves through spaCy's registries."""

import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
ENTRY_POINTS = PYPROJECT["project"]["entry-points"]
REGISTRIES = {
    "spacy_architectures": "architectures",
    "spacy_readers": "readers",
    "spacy_batchers": "batchers",
    "thinc_optimizers": "optimizers",
    "spacy_scorers": "scorers",
}


@pytest.mark.parametrize(
    "group,name",
    [(group, name) for group in REGISTRIES for name in ENTRY_POINTS.get(group, {})],
)
def test_registered_functions_resolve(group, name):
    assert getattr(spacy.registry, REGISTRIES[group]).get(name) is not None


@pytest.mark.parametrize("name", list(ENTRY_POINTS["spacy_factories"]))
def test_factories_resolve(name):
    assert Language.has_factory(name) or spacy.blank("en").add_pipe(name) is not None


def test_every_group_is_declared():
    assert set(REGISTRIES) | {"spacy_factories"} <= set(ENTRY_POINTS)
