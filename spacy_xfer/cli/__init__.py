"""The `spacy-xfer` command line (also `python -m spacy_xfer`)."""

from . import corpora  # noqa: F401  (registers convert, split, export)
from ._util import app


def main() -> None:
    """Run the `spacy-xfer` command line."""
    app()
