"""Malformed lines: strict conversion stops with FILE:LINE; lenient repairs or skips."""

import re

import pytest

from spacy_xfer.corpora import CorpusFormatError, ProblemLog

from .util import read

CASES = [
    # (format, text, line, problem pattern, expected pattern)
    ("conll2003", "EU NNP I-NP I-ORG\nrejects VBZ O\n", 2, "3 columns", "4 columns"),
    ("conll2000", "a DT B-NP\nb NN E-NP\n", 2, "'E-NP' is not in the IOB2 scheme", "'B-TYPE'"),
    ("conll2003", "a DT I-NP PER\n", 1, "'PER' is not in the IOB1 scheme", "'I-TYPE'"),
    ("wnut", "a\tO\nb\tI-person\n", 2, "'I-person' after 'O' does not continue", "'B-person'"),
    ("conll2002", "a N B-PER\nb N I-LOC\n", 2, "'I-LOC' after 'B-PER'", "'B-LOC' to open"),
    ("twitter-pos", b"caf\xe9 NN\n", 1, r"undecodable bytes b'\\xe9'", "utf-8 text"),
    ("conllu", "1\ta\ta\tX\n", 1, "4 TAB-separated fields", "10 \\(CoNLL-U\\)"),
    ("conllu", "x\ta\ta\tX\t_\t_\t0\troot\t_\t_\n", 1, "ID 'x'", "a word index"),
    ("ptb", "[ a/DT ]\nbroken\n", 2, "item 'broken'", "word/TAG"),
    ("genia", "a/DT b/NN\nc/DT d-\n", 2, "'d-' has no /TAG", "word/TAG"),
]


@pytest.mark.parametrize("fmt,text,line,problem,expected", CASES)
def test_strict_error_names_file_line_problem_and_expected(
    write, fmt, text, line, problem, expected
):
    path = write(text, "bad.txt")
    with pytest.raises(CorpusFormatError) as info:
        read(path, fmt)
    error = info.value
    assert (error.path, error.line) == (str(path), line)
    assert str(error).startswith(f"{path}:{line}: ")
    assert re.search(problem, error.problem)
    assert re.search(expected, error.expected)
    assert "; expected " in str(error)


@pytest.mark.parametrize("fmt,text,line,problem,expected", CASES)
def test_lenient_counts_the_touched_line(write, fmt, text, line, problem, expected):
    log = ProblemLog(lenient=True)
    read(write(text, "bad.txt"), fmt, log=log)
    assert log.n_touched == 1
    assert log.to_dict()["touched_lines"] == 1
    assert f"bad.txt:{line}:" in log.examples[0]


def test_lenient_repairs(write):
    log = ProblemLog(lenient=True)
    text = "a N O\nb N I-LOC\nc N E-PER\nd N B-PER\n\ncaf\xe9 N O\n".encode("latin-1")
    sents = read(write(text), "conll2002", log=log)
    assert sents[0].labels["ner"] == ["O", "B-LOC", "O", "B-PER"]
    assert sents[1].words == ["caf\u00e9"]
    assert log.to_dict()["repaired_lines"] == 3
    assert log.to_dict()["skipped_lines"] == 0


def test_lenient_skips_lines_with_the_wrong_column_count(write):
    log = ProblemLog(lenient=True)
    (sent,) = read(write("a DT B-NP\nb NN\nc NN I-NP\n"), "conll2000", log=log)
    assert sent.words == ["a", "c"]
    assert log.to_dict()["skipped_lines"] == 1


def test_layout_is_fixed_by_the_first_line(write):
    # conll2002 accepts 2 or 3 columns, but not both in one file
    with pytest.raises(CorpusFormatError, match=r":2: 2 columns; expected 3 columns"):
        read(write("a N O\nb O\n"), "conll2002")


def test_iob1_accepts_b_after_o_as_conlleval_does(write):
    (sent,) = read(write("Atlanta NNP I-NP B-MISC\n"), "conll2003")
    assert sent.labels["ner"] == ["B-MISC"]


def test_two_problems_on_one_line_count_once(write):
    log = ProblemLog(lenient=True)
    read(write(b"\xff B-X E-Y\n"), "columns", log=log, columns="word,chunk,ner")
    assert log.n_touched == 1
