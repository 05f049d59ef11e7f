"""Tag schemes: conlleval's chunk reading of IOB-style tags, and allowed transitions.

`chunks_from_tags` reads a tag sequence exactly as the CoNLL `conlleval` script does
(including its IOB1 quirks: `I-X` after `O` or after another type opens a chunk), so that
spans built from it and scored as exact matches give conlleval's precision, recall and F1.
"""

from typing import List, Optional, Sequence, Set, Tuple

import numpy

from .errors import Errors

OUTSIDE = "O"
SCHEMES = ("IOB1", "IOB2", "BIOES", "BILUO")

Chunk = Tuple[int, int, str]  # (start, end exclusive, type)


def split_tag(tag: str) -> Tuple[str, str]:
    """Split `B-PER` into (`B`, `PER`) as conlleval does; `O` gives (`O`, ``)."""
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def _chunk_ends(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    if (prev, tag) in {
        ("B", "B"),
        ("B", "O"),
        ("I", "B"),
        ("I", "O"),
        ("E", "E"),
        ("E", "I"),
        ("E", "O"),
    }:
        return True
    if prev not in (OUTSIDE, ".") and prev_type != kind:
        return True
    return prev in ("[", "]")


def _chunk_starts(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    if (prev, tag) in {
        ("B", "B"),
        ("I", "B"),
        ("O", "B"),
        ("O", "I"),
        ("E", "E"),
        ("E", "I"),
        ("O", "E"),
    }:
        return True
    if tag not in (OUTSIDE, ".") and prev_type != kind:
        return True
    return tag in ("[", "]")


def chunks_from_tags(tags: Sequence[str]) -> List[Chunk]:
    """Read chunks from IOB1/IOB2/IOE tags the way `conlleval` does.

    tags (Sequence[str]): one tag per token, e.g. `I-PER`, `B-LOC`, `O`.
    RETURNS (List[Chunk]): (start, end exclusive, type) per chunk, in order.
    """
    chunks: List[Chunk] = []
    prev, prev_type = OUTSIDE, ""
    start: Optional[int] = None
    for i, full_tag in enumerate(list(tags) + [OUTSIDE]):
        tag, kind = split_tag(full_tag)
        if start is not None and _chunk_ends(prev, tag, prev_type, kind):
            chunks.append((start, i, prev_type))
            start = None
        if i < len(tags) and _chunk_starts(prev, tag, prev_type, kind):
            start = i
        prev, prev_type = tag, kind
    return chunks


def chunks_from_biluo(tags: Sequence[str]) -> List[Chunk]:
    """Read chunks from BILUO or BIOES tags (U=S, L=E); a chunk that is not closed
    properly is closed where the next chunk or an `O` begins."""
    chunks: List[Chunk] = []
    start: Optional[int] = None
    kind = ""
    for i, full_tag in enumerate(tags):
        tag, this_kind = split_tag(full_tag)
        if start is not None and (tag in ("B", "U", "S", OUTSIDE) or this_kind != kind):
            chunks.append((start, i, kind))
            start = None
        if tag in ("U", "S"):
            chunks.append((i, i + 1, this_kind))
        elif tag in ("B", "I") or (tag in ("L", "E") and start is None):
            if start is None:
                start, kind = i, this_kind
        if tag in ("L", "E") and start is not None:
            chunks.append((start, i + 1, kind))
            start = None
    if start is not None:
        chunks.append((start, len(tags), kind))
    return chunks


def chunks_to_tags(chunks: Sequence[Chunk], length: int, scheme: str = "IOB2") -> List[str]:
    """Write non-overlapping chunks as tags in IOB2, IOB1, BIOES or BILUO."""
    tags = [OUTSIDE] * length
    ends = {end: kind for _, end, kind in chunks}
    for start, end, kind in sorted(chunks):
        if any(tag != OUTSIDE for tag in tags[start:end]):
            raise ValueError(Errors.E045.format(start=start, end=end, chunks=list(chunks)))
        single, first, last = {
            "IOB2": ("B", "B", "I"),
            "IOB1": ("I", "I", "I"),
            "BIOES": ("S", "B", "E"),
            "BILUO": ("U", "B", "L"),
        }[scheme]
        if scheme == "IOB1" and ends.get(start) == kind:
            single = first = "B"
        if end - start == 1:
            tags[start] = f"{single}-{kind}"
            continue
        tags[start] = f"{first}-{kind}"
        for i in range(start + 1, end - 1):
            tags[i] = f"I-{kind}"
        tags[end - 1] = f"{last}-{kind}"
    return tags


def _may_follow(scheme: str, prev: Tuple[str, str], cur: Tuple[str, str]) -> bool:
    """Whether tag `cur` may follow tag `prev` (both split) under a scheme; a
    sentence boundary is given as ("O", "")."""
    (p_prev, k_prev), (p_cur, k_cur) = prev, cur
    if scheme == "IOB1":  # B-X only separates two adjacent chunks of type X
        return p_cur != "B" or (p_prev in "BI" and p_prev != OUTSIDE and k_prev == k_cur)
    if scheme == "IOB2":  # I-X only continues a chunk of type X
        return p_cur != "I" or (p_prev in ("B", "I") and k_prev == k_cur)
    is_open = p_prev in ("B", "I")
    continues = p_cur in ("I", "E", "L")
    return continues == is_open and (not continues or k_prev == k_cur)


def allowed_transitions(
    labels: Sequence[str], scheme: str
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Which label may follow which under a tag scheme.

    labels (Sequence[str]): the label set, e.g. `B-PER`, `I-PER`, `O`.
    scheme (str): one of IOB1, IOB2, BIOES, BILUO.
    RETURNS (Tuple[ndarray, ndarray, ndarray]): bool arrays `transitions[i, j]`
        (label j may follow label i), `start[j]` (may open a sentence) and
        `end[i]` (may close a sentence).
    """
    if scheme not in SCHEMES:
        raise ValueError(Errors.E039.format(kind="tag scheme", value=scheme, choices=", ".join(SCHEMES)))
    prefixes = {"IOB1": "BIO", "IOB2": "BIO", "BIOES": "BIOES", "BILUO": "BILUO"}[scheme]
    parts = [split_tag(label) for label in labels]
    for label, (prefix, kind) in zip(labels, parts):
        if len(prefix) != 1 or prefix not in prefixes or (prefix == OUTSIDE) != (kind == ""):
            raise ValueError(Errors.E046.format(label=label, scheme=scheme, prefixes=list(prefixes.replace(OUTSIDE, ""))))
    boundary = (OUTSIDE, "")
    trans = numpy.array([[_may_follow(scheme, a, b) for b in parts] for a in parts], dtype=bool)
    start = numpy.array([_may_follow(scheme, boundary, b) for b in parts], dtype=bool)
    end = numpy.array([_may_follow(scheme, a, boundary) for a in parts], dtype=bool)
    return trans.reshape((len(parts), len(parts))), start, end


def labels_after(labels: numpy.ndarray, transitions: numpy.ndarray, steps: int = 1) -> numpy.ndarray:
    """The labels the constraints (`allowed_transitions`) allow `steps` tokens on when
    the current token may take `labels`: a (n_labels,) bool mask from one (`labels`
    itself for 0 steps)."""
    for _ in range(steps):
        labels = transitions[labels.astype(bool)].any(axis=0)
    return labels


def lengths_without_a_sequence(transitions: numpy.ndarray, start: numpy.ndarray, end: numpy.ndarray) -> List[int]:
    """The sentence lengths for which the constraints (`allowed_transitions`) allow no
    label sequence: e.g. 1 for BILUO labels without `O` or any `U-`. The labels a
    sequence can end at length n are those reachable from `start` in n - 1
    transitions; that set follows from the one before, so the lengths repeat once a
    set does, and the search stops there.

    RETURNS (List[int]): the lengths without a sequence below the first repeat;
        empty if every length has one (longer lengths repeat the shorter ones).
    """
    reachable = start.astype(bool)
    seen: Set[bytes] = set()
    lengths: List[int] = []
    n = 1
    while reachable.tobytes() not in seen:
        seen.add(reachable.tobytes())
        if not (reachable & end).any():
            lengths.append(n)
        reachable = labels_after(reachable, transitions)
        n += 1
    return lengths
