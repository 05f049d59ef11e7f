"""Loading a saved component so that a missing or corrupt part fails at load.

spaCy's `TrainablePipe.from_disk` skips a missing `cfg` (an `xfer_tagger` then loads
without its labels and fails at its first doc) and reports a corrupt `model` without
naming the file. `CheckedLoad` loads each part itself: a missing part raises E014 and
one that cannot be read, or does not fit the other parts, raises E015, both naming the
file (or, from bytes, the field). `load_trained` is `spacy.load` that names a training
output folder given in place of the pipeline inside it.
"""

import copy
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import spacy
import srsly
from spacy.language import Language
from spacy.util import get_package_path, is_package

from ..errors import Errors

PARTS = ("cfg", "model")


def load_trained(model: Union[str, Path], **kwargs: Any) -> Language:
    """`spacy.load(model, **kwargs)`.

    RAISES (ValueError): E102 if `model` is a training output folder (no config.cfg,
        a model-best inside), instead of spaCy's "Could not read meta.json".
    """
    path = Path(model)
    if path.is_dir() and not (path / "config.cfg").exists() and (path / "model-best" / "config.cfg").exists():
        raise ValueError(Errors.E102.format(path=path))
    return spacy.load(model, **kwargs)


def model_folder(model: Union[str, Path]) -> Optional[Path]:
    """The folder of a pipeline given as a path or as an installed package's name (the
    package's folder); None for neither."""
    if Path(model).exists():
        return Path(model)
    if is_package(str(model)):
        return get_package_path(str(model))
    return None


def files_under(root: Path) -> List[Path]:
    """Every file under `root`, following symbolic links to folders (which `Path.rglob`
    does not enter on Python 3.11) but each real folder once, so a link back up ends."""
    seen = set()
    files = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders[:] = []
            continue
        seen.add(real)
        files.extend(Path(folder, name) for name in names)
    return [file for file in files if file.is_file()]


def model_files(model: Union[str, Path]) -> List[Path]:
    """The files `spacy.load` reads of a pipeline: for a folder, its `config.cfg`,
    `meta.json` and `tokenizer` and every file of its subfolders (the vocab and the
    components; other files beside them, e.g. metrics, are not read); for an installed
    package, every file of the package; none for neither.
    """
    folder = model_folder(model)
    if folder is None or not folder.is_dir():
        return []
    if not Path(model).exists():
        return files_under(folder)
    top = [folder / name for name in ("config.cfg", "meta.json", "tokenizer")]
    below = [file for sub in folder.iterdir() if sub.is_dir() for file in files_under(sub)]
    return [file for file in top if file.exists()] + below


class CheckedLoad:
    """Mixin for a `TrainablePipe` with `cfg` and `model` parts."""

    name: str
    cfg: Dict[str, Any]
    model: Any
    vocab: Any
    has_state = False  # whether the component was initialized or loaded: `_apply` keeps it on a failed load

    def check_loaded(self) -> Optional[str]:
        """What is inconsistent between the loaded `cfg` and `model`, or None."""
        return None

    def cfg_loaded(self) -> None:
        """Set what the component derives from `cfg` anew from the loaded one."""

    def load_model_bytes(self, bytes_data: bytes) -> None:
        """Load the model's weights (a component whose saved layout changed converts
        the old layout here)."""
        self.model.from_bytes(bytes_data)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> Any:
        """Load from a directory; E014 if `cfg` or `model` is missing, E015 if one
        cannot be read or they do not fit together (both name the file)."""
        path = Path(path)
        exclude = set(exclude)
        if "vocab" not in exclude and (path / "vocab").exists():
            self.vocab.from_disk(path / "vocab", exclude=exclude)
        readers = {"cfg": lambda p: srsly.read_json(p), "model": lambda p: p.read_bytes()}
        parts = {}
        for part in PARTS:
            if part in exclude:
                continue
            file = path / part
            if not file.is_file():
                raise ValueError(Errors.E014.format(name=self.name, file=file))
            parts[part] = self._load_part(str(file), lambda: readers[part](file))
        self._apply(parts, lambda part: str(path / part))
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> Any:
        """Load from `to_bytes` output; E014/E015 name the missing or bad field."""
        exclude = set(exclude)
        data = self._load_part("the bytes data", lambda: srsly.msgpack_loads(bytes_data))
        if not isinstance(data, dict):
            raise ValueError(Errors.E015.format(name=self.name, file="the bytes data", error="not a mapping"))
        if "vocab" not in exclude and "vocab" in data:
            self.vocab.from_bytes(data["vocab"], exclude=exclude)
        parts = {}
        for part in PARTS:
            if part in exclude:
                continue
            if part not in data:
                raise ValueError(Errors.E014.format(name=self.name, file=f"field {part!r} of the bytes data"))
            raw = data[part]
            where = f"field {part!r} of the bytes data"
            parts[part] = self._load_part(where, lambda: srsly.json_loads(raw)) if part == "cfg" else raw
        self._apply(parts, lambda part: f"field {part!r} of the bytes data")
        return self

    def _load_part(self, where: str, load: Callable[[], Any]) -> Any:
        try:
            return load()
        except Exception as err:  # any parse failure, re-raised naming the file
            raise ValueError(Errors.E015.format(name=self.name, file=where, error=err)) from err

    def _apply(self, parts: Dict[str, Any], where: Callable[[str], str]) -> None:
        """Load the parts, all or nothing for a component initialized or loaded before
        (`has_state`): when one fails (E015), its `cfg` and weights are put back as
        they were, so it keeps predicting as it did, not with half of the new weights
        and the new labels (thinc's `from_bytes` loads node by node). A component with
        no state yet (as `spacy.load` builds it) is left unusable by a failed load, as
        spaCy's own components are: build it again."""
        backup = (copy.deepcopy(self.cfg), self.model.to_bytes()) if self.has_state else None
        try:
            if "cfg" in parts:
                if not isinstance(parts["cfg"], dict):
                    raise ValueError(Errors.E015.format(name=self.name, file=where("cfg"), error="not a JSON object"))
                self.cfg.update(parts["cfg"])
                self.cfg_loaded()
            if "model" in parts:
                self._load_part(where("model"), lambda: self.load_model_bytes(parts["model"]))
            problem = self.check_loaded()
            if problem is not None:
                raise ValueError(Errors.E015.format(name=self.name, file=where("cfg"), error=problem))
        except Exception:
            if backup is not None:
                self.cfg.clear()
                self.cfg.update(backup[0])
                self.cfg_loaded()
                self.model.from_bytes(backup[1])
            raise
        self.has_state = True
