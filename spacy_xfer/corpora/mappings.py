"""Label mapping tables (data in `mappings/*.json`) that put one tagset onto another.

A table maps the source labels onto the target labels for T-A transfer, where source and
target share the CRF. Its JSON fields: `name`, `description`, `source`, `target`,
`alternatives` (a separator such as `|`: an ambiguous label `A|B` keeps `A`; or null),
`renames` (label -> target label; labels not listed stay as they are) and `own_labels`
(source labels with no counterpart in the target set, kept as labels of their own).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import srsly

from ..errors import Errors

MAPPINGS_DIR = Path(__file__).parent / "mappings"
NO_MAPPING = "none"


@dataclass(frozen=True)
class LabelMap:
    """A label mapping table: call it on a label to get the target label."""

    name: str
    renames: Dict[str, str] = field(default_factory=dict)
    alternatives: Optional[str] = None
    own_labels: Tuple[str, ...] = ()
    description: str = ""

    def __call__(self, label: str) -> str:
        if self.alternatives:
            label = label.split(self.alternatives, 1)[0]
        return self.renames.get(label, label)

    @classmethod
    def from_json(cls, path: Path) -> "LabelMap":
        """Read a table from a JSON file in the format described in this module.

        RAISES (ValueError): E082 for JSON that is not such a table.
        """
        try:
            data = srsly.read_json(path)
        except ValueError as e:  # JSON that does not parse, or is not UTF-8
            raise ValueError(Errors.E082.format(path=path, problem=f"cannot read it: {e}")) from e
        problem = _table_problem(data)
        if problem is not None:
            raise ValueError(Errors.E082.format(path=path, problem=problem))
        return cls(
            name=str(data.get("name", path.stem)),
            renames=dict(data.get("renames", {})),
            alternatives=data.get("alternatives"),
            own_labels=tuple(data.get("own_labels", ())),
            description=str(data.get("description", "")),
        )


def _is_label(value: object) -> bool:
    return isinstance(value, str) and bool(value) and not any(char.isspace() for char in value)


def _table_problem(data: object) -> Optional[str]:
    """What makes `data` not a mapping table, or None."""
    if not isinstance(data, dict):
        return f"found {type(data).__name__}"
    renames = data.get("renames", {})
    if not isinstance(renames, dict):
        return f"'renames' is {type(renames).__name__}"
    bad = next(((key, value) for key, value in renames.items() if not (_is_label(key) and _is_label(value))), None)
    if bad is not None:
        return f"'renames' maps {bad[0]!r} to {bad[1]!r}"
    alternatives = data.get("alternatives")
    if alternatives is not None and not (isinstance(alternatives, str) and alternatives):
        return f"'alternatives' is {alternatives!r}"
    own_labels = data.get("own_labels", [])
    if not isinstance(own_labels, list) or not all(_is_label(label) for label in own_labels):
        return f"'own_labels' is {own_labels!r}"[:120]
    return None


def mapping_names() -> List[str]:
    """RETURNS (List[str]): The names of the tables shipped with the package."""
    return sorted(path.stem for path in MAPPINGS_DIR.glob("*.json"))


def load_label_map(name_or_path: Union[str, Path]) -> Optional[LabelMap]:
    """Load a shipped table by name (e.g. `genia-ptb`) or a table from a JSON file.

    name_or_path (Union[str, Path]): A table name, a path to a JSON table, or `none`.
    RETURNS (Optional[LabelMap]): The table, or None for `none`.
    """
    if str(name_or_path) == NO_MAPPING:
        return None
    shipped = MAPPINGS_DIR / f"{name_or_path}.json"
    path = shipped if shipped.is_file() else Path(name_or_path)
    if not path.is_file():
        choices = f"{', '.join(mapping_names() + [NO_MAPPING])}, or the path of a JSON table"
        raise ValueError(Errors.E039.format(kind="label mapping", value=str(name_or_path), choices=choices))
    return LabelMap.from_json(path)
