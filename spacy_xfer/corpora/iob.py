"""Check chunk and entity labels against their declared scheme (IOB1 or IOB2).

IOB1 (the original CoNLL 2003 scheme): chunks start with `I-X`; `B-X` marks the first
token of a chunk that directly follows another chunk of type X. A `B-X` elsewhere is read
as a chunk start, exactly as `conlleval` reads it, so it is accepted.
IOB2: every chunk starts with `B-X`; an `I-X` must continue a chunk of type X. The lenient
repair of a stray `I-X` is `B-X`, which gives the chunks `conlleval` reads from the input.
BIOES/BILOU labels (`S-X`, `E-X`, `U-X`, `L-X`) are errors too; the lenient repair reads
them as the IOB labels of the same chunks, so no chunk is lost.
"""

from typing import NamedTuple, Optional

from ..errors import Errors
from ..tags import OUTSIDE, split_tag

IOB_SCHEMES = ("IOB1", "IOB2")
CHUNK_PREFIXES = ("B", "I")
SINGLE_PREFIXES = ("S", "U")  # BIOES, BILOU
LAST_PREFIXES = ("E", "L")


class LabelProblem(NamedTuple):
    problem: str
    expected: str
    repair: str


def check_iob_label(label: str, prev: str, scheme: str) -> Optional[LabelProblem]:
    """Check one label given the (checked) label before it in the sentence.

    label (str): The label, e.g. `B-PER`.
    prev (str): The label of the previous token, `O` at the start of a sentence.
    scheme (str): IOB1 or IOB2.
    RETURNS (Optional[LabelProblem]): None if the label is valid, else what is wrong, what
        was expected and the label to use instead.
    """
    prefix, kind = split_tag(label)
    if label != OUTSIDE and prefix in SINGLE_PREFIXES + LAST_PREFIXES and kind:
        # BIOES / BILOU: the same chunks in IOB terms (a last token continues, a single
        # token opens); under IOB2 a continuation that continues nothing opens instead
        prev_prefix, prev_kind = split_tag(prev)
        continues = prev_prefix in CHUNK_PREFIXES and prev_kind == kind
        opens = "B" if scheme == "IOB2" or continues else "I"
        repair = f"I-{kind}" if prefix in LAST_PREFIXES and continues else f"{opens}-{kind}"
        return LabelProblem(
            f"label {label!r} is a BIOES/BILOU label, not in the {scheme} scheme",
            f"'O' or 'B-TYPE' or 'I-TYPE' (convert the file to {scheme}; --lenient reads {label!r} here as {repair!r})",
            repair,
        )
    if label != OUTSIDE and (prefix not in CHUNK_PREFIXES or not kind):
        return LabelProblem(
            f"label {label!r} is not in the {scheme} scheme",
            "'O' or 'B-TYPE' or 'I-TYPE'",
            OUTSIDE,
        )
    if scheme == "IOB2" and prefix == "I":
        prev_prefix, prev_kind = split_tag(prev)
        if prev_prefix not in CHUNK_PREFIXES or prev_kind != kind:
            return LabelProblem(
                f"{label!r} after {prev!r} does not continue a {kind!r} chunk",
                f"'B-{kind}' to open a chunk under IOB2",
                f"B-{kind}",
            )
    return None


def parse_scheme(name: str) -> str:
    """Normalise a scheme name (`iob1` -> `IOB1`), raising ValueError if unsupported."""
    scheme = name.upper()
    if scheme not in IOB_SCHEMES:
        raise ValueError(Errors.E039.format(kind="tag scheme", value=name, choices=", ".join(IOB_SCHEMES)))
    return scheme
