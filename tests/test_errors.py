"""The coded errors of spacy_xfer/errors.py: each code defined once, under its own name, and
raised somewhere in the package, so that searching for a code finds where it comes from."""

import ast
import re
import string
from collections import Counter
from pathlib import Path

import pytest

import spacy_xfer
from spacy_xfer.errors import Errors

PACKAGE = Path(spacy_xfer.__file__).parent
ERRORS_PY = PACKAGE / "errors.py"


def defined_codes() -> list:
    """The names assigned in class Errors, in source order (a repeated name would
    silently replace the first in the class, so it is read from the source)."""
    tree = ast.parse(ERRORS_PY.read_text(encoding="utf8"))
    (errors,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Errors"]
    return [target.id for node in errors.body if isinstance(node, ast.Assign) for target in node.targets]


def package_source() -> str:
    return "\n".join(path.read_text(encoding="utf8") for path in sorted(PACKAGE.rglob("*.py")) if path != ERRORS_PY)


def test_every_code_is_defined_once_and_named_as_its_message_says():
    codes = defined_codes()
    assert codes, "no codes found in errors.py"
    assert [code for code, n in Counter(codes).items() if n > 1] == []
    for code in codes:
        assert re.fullmatch(r"E\d{3}", code), code
        message = getattr(Errors, code)
        assert re.findall(r"\[E\d{3}\]", message) == [f"[{code}]"], (code, message)


def test_every_code_is_raised_somewhere_in_the_package():
    source = package_source()
    unused = [code for code in defined_codes() if not re.search(rf"\bErrors\.{code}\b", source)]
    assert unused == []


@pytest.mark.parametrize("code", defined_codes())
def test_message_formats_with_named_fields(code):
    # every placeholder is named, so a call site that forgets one fails with KeyError
    fields = [name for _, name, _, _ in string.Formatter().parse(getattr(Errors, code)) if name is not None]
    assert all(fields), (code, fields)


def literal_raises() -> list:
    """`FILE:LINE` of each raise in the package whose message is written on the spot (a
    string or f-string) instead of taken from Errors; typer's BadParameter, typer's
    convention for a bad command-line option, is left out."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
                continue
            message = node.exc.args[0]
            written = isinstance(message, ast.JoinedStr) or (isinstance(message, ast.Constant) and isinstance(message.value, str))
            if written and not ast.unparse(node.exc.func).endswith("BadParameter"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_every_error_message_of_the_package_is_coded():
    assert literal_raises() == []
