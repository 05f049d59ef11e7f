"""Tag schemes: conlleval's chunk reading, writing chunks as tags, allowed transitions."""

import itertools
from typing import List

import numpy
import pytest
from spacy.tokens import Doc
from spacy.training import biluo_tags_to_spans, iob_to_biluo
from spacy.vocab import Vocab

from spacy_xfer.tags import (
    SCHEMES,
    allowed_transitions,
    labels_after,
    lengths_without_a_sequence,
    chunks_from_biluo,
    chunks_from_tags,
    chunks_to_tags,
    split_tag,
)

# ---------------------------------------------------------------------------
# 6. chunks_from_tags == conlleval's reading
#
# conlleval (prev, cur) rules, with a virtual "O" before and after the sentence:
#   endOfChunk:   (B,B) (B,O) (I,B) (I,O) (E,E) (E,I) (E,O); or prev not in {O, .} and
#                 prevType != type; or prev in { [, ] }
#   startOfChunk: (B,B) (I,B) (O,B) (O,I) (E,E) (E,I) (O,E); or cur not in {O, .} and
#                 prevType != type; or cur in { [, ] }
# A chunk spans from a start to the next end. Expected values below are derived by hand.

CONLLEVAL_CASES = [
    # empty sentence, all-outside sentence: no chunks
    ([], []),
    (["O", "O"], []),
    # IOB1: I I B: (I,I) same type neither ends nor starts; (I,B) ends at 2 and starts at 2;
    # (B,O) at the sentence end ends it -> two PER chunks.
    (["I-PER", "I-PER", "B-PER"], [(0, 2, "PER"), (2, 3, "PER")]),
    # (O,I) starts a chunk; it is closed by the virtual O at the end ((I,O)).
    (["O", "I-LOC"], [(1, 2, "LOC")]),
    # (B,I) with a type change: prevType != type ends PER and starts LOC.
    (["B-PER", "I-LOC"], [(0, 1, "PER"), (1, 2, "LOC")]),
    # IOB1 I-X I-Y: type change again splits.
    (["I-PER", "I-LOC", "I-LOC"], [(0, 1, "PER"), (1, 3, "LOC")]),
    # (I,I) same type: one chunk; the sentence start acts as O, so (O,I) opens it.
    (["I-ORG", "I-ORG"], [(0, 2, "ORG")]),
    # IOB2: (B,I) continues, (I,O) ends, (O,B) starts, the end of the sentence closes Y.
    (["B-X", "I-X", "O", "B-Y"], [(0, 2, "X"), (3, 4, "Y")]),
    # a chunk running to the very end of the sentence
    (["O", "O", "B-MISC", "I-MISC"], [(2, 4, "MISC")]),
    (["O", "I-MISC"], [(1, 2, "MISC")]),
    # (B,B) same type: end and start -> two one-token chunks.
    (["B-X", "B-X"], [(0, 1, "X"), (1, 2, "X")]),
    # B-X O I-X: (B,O) ends, (O,I) starts a new one.
    (["B-PER", "O", "I-PER"], [(0, 1, "PER"), (2, 3, "PER")]),
    # IOE: (I,E) same type neither ends nor starts -> one chunk; (E,O) ends it.
    (["I-X", "E-X"], [(0, 2, "X")]),
    (["I-X", "E-X", "O"], [(0, 2, "X")]),
    # (E,I) ends and starts: two chunks.
    (["I-X", "E-X", "I-X", "E-X"], [(0, 2, "X"), (2, 4, "X")]),
    # (E,E) ends and starts; (O,E) starts.
    (["E-X", "E-X"], [(0, 1, "X"), (1, 2, "X")]),
    (["O", "E-X", "O"], [(1, 2, "X")]),
    # (E,B) same type is in neither rule list: conlleval keeps one chunk.
    (["E-X", "B-X"], [(0, 2, "X")]),
    # ... but with a type change, prev E is not O, so prevType != type ends X and starts Y.
    (["E-X", "B-Y"], [(0, 1, "X"), (1, 2, "Y")]),
    # conlleval has no S- rules: S-X opens by type change from O's empty type, and
    # (S,S) same type neither ends nor starts, so two S-X are read as one chunk.
    (["S-X", "S-X"], [(0, 2, "X")]),
    (["S-X", "O"], [(0, 1, "X")]),
    # bracket chunks have length 1: "[" and "]" always start, and always end after them.
    (["[-NP", "]-NP"], [(0, 1, "NP"), (1, 2, "NP")]),
    # conlleval splits at the first hyphen only (types may contain hyphens).
    (["B-GPE-LOC", "I-GPE-LOC", "I-ORG"], [(0, 2, "GPE-LOC"), (2, 3, "ORG")]),
]


@pytest.mark.parametrize("tags,expected", CONLLEVAL_CASES)
def test_chunks_from_tags_reads_like_conlleval(tags, expected):
    assert chunks_from_tags(tags) == expected


def test_split_tag():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("O") == ("O", "")
    assert split_tag("I-GPE-LOC") == ("I", "GPE-LOC")


BILUO_CASES = [
    (["B-X", "I-X", "L-X", "U-Y", "O"], [(0, 3, "X"), (3, 4, "Y")]),
    (["B-X", "I-X", "E-X", "S-Y", "O"], [(0, 3, "X"), (3, 4, "Y")]),
    (["U-X", "U-X"], [(0, 1, "X"), (1, 2, "X")]),
    # improperly closed chunks end where the next chunk or an O begins
    (["B-X", "I-X", "O"], [(0, 2, "X")]),
    (["B-X", "B-X"], [(0, 1, "X"), (1, 2, "X")]),
    (["B-X", "I-Y", "L-Y"], [(0, 1, "X"), (1, 3, "Y")]),
    (["B-X", "U-X"], [(0, 1, "X"), (1, 2, "X")]),
    (["I-X", "L-X"], [(0, 2, "X")]),
    (["L-X"], [(0, 1, "X")]),
    (["O", "B-X"], [(1, 2, "X")]),
]


@pytest.mark.parametrize("tags,expected", BILUO_CASES)
def test_chunks_from_biluo(tags, expected):
    assert chunks_from_biluo(tags) == expected


# ---------------------------------------------------------------------------
# 7. chunks_to_tags


@pytest.mark.parametrize(
    "chunks,length,scheme,expected",
    [
        ([(0, 2, "X"), (2, 3, "X")], 4, "IOB2", ["B-X", "I-X", "B-X", "O"]),
        # IOB1: B- only on a chunk that directly follows a chunk of the same type
        ([(0, 2, "X"), (2, 3, "X")], 4, "IOB1", ["I-X", "I-X", "B-X", "O"]),
        ([(2, 3, "X"), (0, 2, "X")], 4, "IOB1", ["I-X", "I-X", "B-X", "O"]),
        ([(0, 1, "X"), (1, 2, "X"), (2, 3, "X")], 3, "IOB1", ["I-X", "B-X", "B-X"]),
        ([(0, 1, "X"), (1, 2, "Y")], 2, "IOB1", ["I-X", "I-Y"]),
        ([(0, 1, "X"), (2, 3, "X")], 3, "IOB1", ["I-X", "O", "I-X"]),
        ([(1, 4, "Y"), (0, 1, "X")], 5, "BILUO", ["U-X", "B-Y", "I-Y", "L-Y", "O"]),
        ([(0, 1, "X"), (1, 4, "Y")], 5, "BIOES", ["S-X", "B-Y", "I-Y", "E-Y", "O"]),
        ([(1, 3, "X")], 3, "BIOES", ["O", "B-X", "E-X"]),
        ([], 2, "BILUO", ["O", "O"]),
    ],
)
def test_chunks_to_tags(chunks, length, scheme, expected):
    assert chunks_to_tags(chunks, length, scheme) == expected


def test_chunks_to_tags_default_scheme_is_iob2():
    assert chunks_to_tags([(0, 2, "X"), (2, 3, "X")], 3) == ["B-X", "I-X", "B-X"]


def random_chunkings(rng: numpy.random.Generator, n: int):
    for _ in range(n):
        length = int(rng.integers(0, 9))
        chunks, i = [], 0
        while i < length:
            if rng.random() < 0.3:
                i += 1
                continue
            size = int(rng.integers(1, 4))
            end = min(length, i + size)
            chunks.append((i, end, str(rng.choice(["X", "Y"]))))
            i = end
        yield chunks, length


@pytest.mark.parametrize("scheme", SCHEMES)
def test_chunks_round_trip(scheme):
    read = chunks_from_biluo if scheme in ("BIOES", "BILUO") else chunks_from_tags
    rng = numpy.random.default_rng(0)
    n_adjacent_same_type = 0
    for chunks, length in random_chunkings(rng, 500):
        tags = chunks_to_tags(chunks, length, scheme)
        assert len(tags) == length
        assert read(tags) == sorted(chunks), (scheme, chunks, tags)
        n_adjacent_same_type += any(a[1] == b[0] and a[2] == b[2] for a, b in zip(chunks, chunks[1:]))
        # ... and written tags are valid under the scheme
        if length:
            trans, start, end = allowed_transitions(sorted(set(tags) | {"O"}), scheme)
            index = {label: i for i, label in enumerate(sorted(set(tags) | {"O"}))}
            ids = [index[t] for t in tags]
            assert start[ids[0]] and end[ids[-1]], (scheme, tags)
            assert all(trans[a, b] for a, b in zip(ids[:-1], ids[1:])), (scheme, tags)
    assert n_adjacent_same_type > 20  # the IOB1 B- case is exercised


@pytest.mark.parametrize(
    "chunks",
    [
        [(0, 3, "X"), (1, 2, "Y")],
        [(1, 2, "Y"), (0, 3, "X")],
        [(0, 2, "X"), (1, 3, "X")],
        [(0, 2, "X"), (0, 2, "X")],
        [(0, 1, "X"), (0, 1, "Y")],
    ],
)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_chunks_to_tags_rejects_overlaps(chunks, scheme):
    with pytest.raises(ValueError, match="overlap"):
        chunks_to_tags(chunks, 4, scheme)


# ---------------------------------------------------------------------------
# allowed_transitions: hand-written matrices, rows = previous label, columns = next


def _m(rows: List[str]) -> numpy.ndarray:
    return numpy.array([[c == "1" for c in row.replace(" ", "")] for row in rows], dtype=bool)


IOB_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

ALLOWED = {
    # IOB2: I-X only after B-X or I-X (never at the start); anything may end.
    ("IOB2", tuple(IOB_LABELS)): (
        _m([
            "1 1 0 1 0",  # O     -> O, B-PER, B-LOC
            "1 1 1 1 0",  # B-PER -> also I-PER
            "1 1 1 1 0",  # I-PER
            "1 1 0 1 1",  # B-LOC -> also I-LOC
            "1 1 0 1 1",  # I-LOC
        ]),
        _m(["1 1 0 1 0"]),
        _m(["1 1 1 1 1"]),
    ),
    # IOB1: B-X only directly after B-X or I-X (never at the start); I-X and O anywhere.
    ("IOB1", tuple(IOB_LABELS)): (
        _m([
            "1 0 1 0 1",  # O
            "1 1 1 0 1",  # B-PER
            "1 1 1 0 1",  # I-PER
            "1 0 1 1 1",  # B-LOC
            "1 0 1 1 1",  # I-LOC
        ]),
        _m(["1 0 1 0 1"]),
        _m(["1 1 1 1 1"]),
    ),
    # BIOES (I-Y missing from the set on purpose): after B/I of X only I-X, E-X; after
    # O, E, S only O, B, S; the sentence must not start inside nor end inside a chunk.
    ("BIOES", ("O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y")): (
        _m([
            "1 1 0 0 1 1 0",  # O
            "0 0 1 1 0 0 0",  # B-X
            "0 0 1 1 0 0 0",  # I-X
            "1 1 0 0 1 1 0",  # E-X
            "1 1 0 0 1 1 0",  # S-X
            "0 0 0 0 0 0 1",  # B-Y -> only E-Y
            "1 1 0 0 1 1 0",  # E-Y
        ]),
        _m(["1 1 0 0 1 1 0"]),
        _m(["1 0 0 1 1 0 1"]),
    ),
    ("BILUO", ("O", "B-X", "I-X", "L-X", "U-X")): (
        _m([
            "1 1 0 0 1",  # O
            "0 0 1 1 0",  # B-X
            "0 0 1 1 0",  # I-X
            "1 1 0 0 1",  # L-X
            "1 1 0 0 1",  # U-X
        ]),
        _m(["1 1 0 0 1"]),
        _m(["1 0 0 1 1"]),
    ),
}


@pytest.mark.parametrize("scheme,labels", list(ALLOWED))
def test_allowed_transitions_matrices(scheme, labels):
    trans, start, end = allowed_transitions(list(labels), scheme)
    exp_trans, exp_start, exp_end = ALLOWED[(scheme, labels)]
    assert trans.dtype == bool and start.dtype == bool and end.dtype == bool
    numpy.testing.assert_array_equal(trans, exp_trans)
    numpy.testing.assert_array_equal(start, exp_start[0])
    numpy.testing.assert_array_equal(end, exp_end[0])


def test_allowed_transitions_follow_label_order():
    labels = ["I-PER", "O", "B-PER"]
    trans, start, end = allowed_transitions(labels, "IOB2")
    numpy.testing.assert_array_equal(trans, _m(["1 1 1", "0 1 1", "1 1 1"]))
    numpy.testing.assert_array_equal(start, [False, True, True])
    numpy.testing.assert_array_equal(end, [True, True, True])


def test_allowed_transitions_single_label():
    trans, start, end = allowed_transitions(["O"], "BILUO")
    assert trans.shape == (1, 1) and trans[0, 0] and start[0] and end[0]


@pytest.mark.parametrize(
    "labels,scheme,bad",
    [
        (["O", "U-PER"], "BIOES", "U-PER"),
        (["O", "S-PER"], "BILUO", "S-PER"),
        (["O", "L-PER"], "IOB2", "L-PER"),
        (["O", "E-PER"], "IOB1", "E-PER"),
        (["O", "B"], "IOB2", "B"),
        (["O", "B-"], "IOB2", "B-"),
        (["O-PER"], "IOB2", "O-PER"),
        (["PER"], "IOB2", "PER"),
        (["BX-PER"], "IOB2", "BX-PER"),
        ([""], "IOB2", ""),
    ],
)
def test_allowed_transitions_rejects_labels_outside_scheme(labels, scheme, bad):
    with pytest.raises(ValueError) as excinfo:
        allowed_transitions(labels, scheme)
    message = str(excinfo.value)
    assert repr(bad) in message and scheme in message


def test_allowed_transitions_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="IOE2"):
        allowed_transitions(["O", "B-PER"], "IOE2")


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BILUO"])
def test_chunks_are_read_as_spacy_reads_the_tags(scheme):
    # the spans (and span F1) of our tags are spaCy's: `iob_to_biluo` then
    # `biluo_tags_to_spans`, on every valid tag sequence of the random chunkings
    vocab = Vocab()
    read = chunks_from_biluo if scheme == "BILUO" else chunks_from_tags
    rng = numpy.random.default_rng(1)
    for chunks, length in random_chunkings(rng, 300):
        tags = chunks_to_tags(chunks, length, scheme)
        doc = Doc(vocab, words=["w"] * length)
        biluo = tags if scheme == "BILUO" else iob_to_biluo(tags)
        spans = biluo_tags_to_spans(doc, biluo)
        assert read(tags) == [(span.start, span.end, span.label_) for span in spans], (scheme, tags)


@pytest.mark.parametrize("labels,scheme,expected", [
    (["O", "B-X", "I-X", "L-X", "U-X"], "BILUO", []),
    (["B-X", "L-X", "U-X"], "BILUO", []),  # no O, but every length: U-X, B-X L-X, U-X B-X L-X, ...
    (["B-X", "L-X"], "BILUO", [1]),  # even lengths only; odd ones repeat length 1
    (["B-X", "I-X", "L-X"], "BILUO", [1]),
    (["B-X", "I-X", "E-X"], "BIOES", [1]),
    (["B-X", "I-X"], "IOB2", []),
    (["I-X"], "IOB2", [1]),  # IOB2 opens a span with B-
])
def test_lengths_without_a_sequence(labels, scheme, expected):
    constraints = allowed_transitions(labels, scheme)
    assert lengths_without_a_sequence(*constraints) == expected
    transitions, start, end = constraints
    failing = [  # by enumerating every sequence of each length
        n
        for n in range(1, 8)
        if not any(
            start[seq[0]] and end[seq[-1]] and all(transitions[a, b] for a, b in zip(seq, seq[1:]))
            for seq in itertools.product(range(len(labels)), repeat=n)
        )
    ]
    assert set(expected) <= set(failing) and bool(expected) == bool(failing)


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_labels_after_steps_reach_the_labels_of_the_allowed_sequences(steps):
    labels = ["O", "B-X", "I-X", "L-X", "U-X"]
    transitions, start, end = allowed_transitions(labels, "BILUO")
    reached = labels_after(numpy.asarray([False, True, False, False, False]), transitions, steps)  # from B-X
    expected = {  # by enumerating every sequence of steps transitions from B-X
        seq[-1]
        for seq in itertools.product(range(len(labels)), repeat=steps + 1)
        if seq[0] == 1 and all(transitions[a, b] for a, b in zip(seq, seq[1:]))
    }
    assert set(numpy.flatnonzero(reached)) == expected
