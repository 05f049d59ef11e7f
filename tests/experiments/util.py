"""Tiny corpora of one's own and the command line, for the experiment tests."""

from pathlib import Path
from typing import Any, List

from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner, Result

from spacy_xfer.cli import app

CONFIGS = Path(__file__).parents[2] / "configs"

# WNUT-style NER (word<TAB>tag): 12 sentences, the i-th names person Pi in Li
WNUT = "".join(f"P{i}\tB-person\nvisits\tO\nL{i}\tB-location\n.\tO\n\n" for i in range(12))

# CoNLL-U: UPOS in field 4, XPOS (PTB) in field 5
CONLLU = """\
# sent_id = s1
1\tThey\tthey\tPRON\tPRP\t_\t2\tnsubj\t_\t_
2\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\t_

# sent_id = s2
1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_
2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_

"""

# the settings `prepare` takes on the fly for the WNUT files
WNUT_OPTIONS = ("--format", "wnut", "--lang", "nl", "--target", "ents")


def run(*args: Any) -> Result:
    """Run the `spacy-xfer` command line (usage errors on one line); exceptions are kept in
    the result."""
    return CliRunner().invoke(app, [str(arg) for arg in args], env={"COLUMNS": "500"})


def words_of(path: Path) -> List[List[str]]:
    """The words of each Doc in a DocBin."""
    return [[t.text for t in doc] for doc in DocBin().from_disk(path).get_docs(Vocab())]


def failure(result: Result) -> str:
    """What a failed command said: its output and the exception it raised, if any."""
    assert result.exit_code != 0, result.output
    return f"{result.output} {result.exception or ''}"
