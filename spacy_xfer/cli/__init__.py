"""The `spacy-xfer` command line (also `python -m spacy_xfer`)."""

from . import active_learning, annotate, compare, configs, corpora, experiment, grid  # noqa: F401  (register their commands)
from ._util import app


def main() -> None:
    """Run the `spacy-xfer` command line."""
    app()
