"""Malformed corpus lines: stop at the first one, or (lenient) repair or skip and count;
and inputs that hold nothing to convert."""

from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Literal, Set, Tuple, Union

from ..errors import Errors

Action = Literal["repaired", "skipped"]
N_EXAMPLES = 5


class CorpusFormatError(ValueError):
    """A line of a corpus file does not have the format that was declared for it.

    The message reads `FILE:LINE: [E053] what was wrong; expected WHAT`.
    """

    def __init__(self, path: Union[str, Path], line: int, problem: str, expected: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        self.expected = expected
        super().__init__(Errors.E053.format(path=self.path, line=line, problem=problem, expected=expected))


class CorpusContentError(ValueError):
    """An input (a corpus file or folder) as a whole does not hold what was asked for: no
    sentences, or no label in a layer its format reads.

    The message reads `PATH: [E054] what was wrong; expected WHAT`.
    """

    def __init__(self, path: Union[str, Path], problem: str, expected: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.expected = expected
        super().__init__(Errors.E054.format(path=self.path, problem=problem, expected=expected))


class ProblemLog:
    """Decide what happens to a malformed line, and keep count.

    Strict (the default): `report` raises a `CorpusFormatError`. Lenient: `report` records
    the line as repaired or skipped, and the reader goes on with the repair it proposed.
    Known format quirks that are handled silently are counted with `note`.
    """

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient
        self.lines: Dict[Action, Set[Tuple[str, int]]] = {"repaired": set(), "skipped": set()}
        self.examples: List[str] = []
        self.notes: Counter = Counter()
        self.skipped_sentences = 0

    def report(
        self, path: Union[str, Path], line: int, problem: str, expected: str, *, action: Action
    ) -> None:
        """Raise for a malformed line, or under `lenient` count it as repaired or skipped.

        path (Union[str, Path]): The file.
        line (int): The 1-based line number.
        problem (str): What was wrong.
        expected (str): What the format expects there.
        action (Action): What the reader does with the line when lenient.
        """
        error = CorpusFormatError(path, line, problem, expected)
        if not self.lenient:
            raise error
        self.lines[action].add((error.path, line))
        if len(self.examples) < N_EXAMPLES:
            self.examples.append(f"{error} ({action})")

    def skip_sentence(self) -> None:
        """Count a sentence left out because one of its lines was skipped (lenient)."""
        self.skipped_sentences += 1

    def note(self, quirk: str, count: int = 1) -> None:
        """Count a known quirk of a format that the reader handled as documented."""
        self.notes[quirk] += count

    @property
    def n_touched(self) -> int:
        """The number of distinct lines repaired or skipped."""
        return len(self.lines["repaired"] | self.lines["skipped"])

    def to_dict(self) -> Dict[str, Any]:
        """RETURNS (Dict[str, Any]): The counts, for the statistics file."""
        return {
            "lenient": self.lenient,
            "repaired_lines": len(self.lines["repaired"]),
            "skipped_lines": len(self.lines["skipped"]),
            "touched_lines": self.n_touched,
            "skipped_sentences": self.skipped_sentences,
            "examples": list(self.examples),
            "notes": dict(sorted(self.notes.items())),
        }
