"""Every entry point in pyproject.toml is installed, loads, and is what spaCy's registry
serves under its name: the route by which `spacy.load` and `spacy train` find the
package's functions in a fresh interpreter."""

import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest
import spacy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
ENTRY_POINTS = PYPROJECT["project"]["entry-points"]
# entry point group -> the spaCy/Thinc registry that reads it
REGISTRIES = {
    "spacy_factories": "factories",
    "spacy_architectures": "architectures",
    "spacy_readers": "readers",
    "spacy_batchers": "batchers",
    "thinc_optimizers": "optimizers",
    "spacy_scorers": "scorers",
    "spacy_callbacks": "callbacks",
}
INSTALLED = {(ep.group, ep.name): ep for ep in distribution(PYPROJECT["project"]["name"]).entry_points}


def test_every_group_is_checked():
    assert set(ENTRY_POINTS) == set(REGISTRIES)


def test_the_installed_entry_points_are_the_declared_ones():
    # a stale install (pyproject.toml changed since `pip install -e .`) fails here
    declared = {(group, name): value for group, names in ENTRY_POINTS.items() for name, value in names.items()}
    installed = {key: ep.value for key, ep in INSTALLED.items() if key[0] in REGISTRIES}
    assert installed == declared


@pytest.mark.parametrize("group,name", [(group, name) for group, names in ENTRY_POINTS.items() for name in names])
def test_each_entry_point_loads_what_the_registry_serves(group, name):
    function = INSTALLED[group, name].load()
    assert callable(function)
    assert getattr(spacy.registry, REGISTRIES[group]).get(name) is function
