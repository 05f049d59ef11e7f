"""Which static vectors a run uses, and the word-embedding width they bring.

`--vectors` names a spaCy pipeline (a folder, e.g. en_core_web_md's or the output of
`spacy init vectors`, or an installed package's name), as `[paths] vectors` does.
Its identity ("en_core_web_md-3.7.1") goes into results files instead of the path, so
that a result is the same setting on any machine; its width becomes the word
embedding's width: the recipe ablation measured the vectors at their own width (300)
above the vectors projected to the paper's 50 dims (README, "Recipe ablation").
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator

import srsly
from spacy.util import get_package_path, is_package

from ..errors import Errors

# the encoders whose word embedding takes rows from the vectors (`use_vectors`)
WORD_ENCODERS = ("spacy_xfer.WordEncoder.", "spacy_xfer.CharWordEncoder.")


@dataclass(frozen=True)
class VectorsInfo:
    """name (str): "{lang}_{name}-{version}" of the pipeline the vectors come from.
    rows (int), width (int): the vectors table's shape."""

    name: str
    rows: int
    width: int


def vectors_info(location: str) -> VectorsInfo:
    """The identity and shape of a pipeline's vectors, from its meta.json (spaCy
    writes the vectors' width and rows there when it saves a pipeline).

    RAISES (ValueError): E062 if `location` is neither a folder nor an installed
        pipeline package, has no meta.json, or its meta names no vectors.
    """
    path = Path(location)
    if not path.is_dir():
        if not is_package(location):
            problem = "not a folder or an installed pipeline package"
            raise ValueError(Errors.E062.format(location=location, problem=problem, expected="a spaCy pipeline with vectors"))
        path = Path(get_package_path(location))
    meta_path = path / "meta.json"
    if not meta_path.exists():
        expected = "a spaCy pipeline folder (e.g. the output of `spacy init vectors`)"
        raise ValueError(Errors.E062.format(location=location, problem=f"{meta_path} not found", expected=expected))
    meta = srsly.read_json(meta_path)
    vectors = meta.get("vectors") or {}
    if not vectors.get("width"):
        problem = f"'vectors' in {meta_path} gives no width"
        raise ValueError(Errors.E062.format(location=location, problem=problem, expected="a pipeline with static vectors"))
    return VectorsInfo(f"{meta.get('lang', 'xx')}_{meta.get('name', path.name)}-{meta.get('version', '0')}", int(vectors.get("vectors", 0)), int(vectors["width"]))


def word_encoder_paths(config: Dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted path of every word encoder in a config that uses the vectors."""
    for key, value in config.items():
        if isinstance(value, dict):
            path = f"{prefix}{key}"
            arch = value.get("@architectures", "")
            if arch.startswith(WORD_ENCODERS) and value.get("use_vectors", True):
                yield path
            yield from word_encoder_paths(value, f"{path}.")


def vectors_width_overrides(config: Dict[str, Any], width: int) -> Dict[str, int]:
    """`{"components.X.model....width": width}` for every word encoder of a config that
    takes rows from the vectors, so that they enter at their own width."""
    return {f"{path}.width": width for path in word_encoder_paths(config)}
