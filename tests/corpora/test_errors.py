"""Malformed lines: strict conversion stops with FILE:LINE; lenient repairs or skips."""

import re

import pytest
from spacy.vocab import Vocab

from spacy_xfer.corpora import (
    FORMATS,
    CorpusContentError,
    CorpusFormatError,
    ProblemLog,
    sentences_to_docs,
)

from .util import read

CONLLU_WORD = "2\tb\tb\tX\t_\t_\t0\troot\t_\t_\n"

CASES = [
    # (format, text, line, problem pattern, expected pattern)
    ("conll2003", "EU NNP I-NP I-ORG\nrejects VBZ O\n", 2, "3 columns", "4 columns"),
    ("conll2000", "a DT B-NP\nb NN E-NP\n", 2, "'E-NP' is a BIOES/BILOU label, not in the IOB2 scheme", "'B-TYPE'"),
    ("conll2000", "a DT B-NP\nb NN X-NP\n", 2, "'X-NP' is not in the IOB2 scheme", "'B-TYPE'"),
    ("conll2003", "a DT I-NP PER\n", 1, "'PER' is not in the IOB1 scheme", "'I-TYPE'"),
    ("wnut", "a\tO\nb\tI-person\n", 2, "'I-person' after 'O' does not continue", "'B-person'"),
    ("wnut", "a\t_\nb\tI-person\n", 2, "'I-person' after '_' does not continue", "'B-person'"),
    ("conll2000", "a DT B-NP\nb NN _\n", 2, "chunk label '_' \\(missing\\) in a sentence with chunk labels", "or '_' on every word"),
    ("wnut", "a\tO\nb\tB-geo loc\n", 2, "ner label 'B-geo loc' holds whitespace", "one label per field"),
    ("wnut", "a\tO\nb\tO\u00a0\n", 2, r"ner label 'O\\xa0' holds whitespace", "one label per field"),
    ("conll2002", "a N B-PER\nb N I-LOC\n", 2, "'I-LOC' after 'B-PER'", "'B-LOC' to open"),
    ("twitter-pos", b"caf\xe9 NN\n", 1, r"undecodable bytes b'\\xe9'", "utf-8 text"),
    ("conllu", "1\ta\ta\tX\n" + CONLLU_WORD, 1, "4 TAB-separated fields", "10 \\(CoNLL-U\\)"),
    ("conllu", "x\ta\ta\tX\t_\t_\t0\troot\t_\t_\n" + CONLLU_WORD, 1, "ID 'x'", "a word index"),
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
    assert str(error).startswith(f"{path}:{line}: [E053] ")
    assert re.search(problem, error.problem)
    assert re.search(expected, error.expected)
    assert "; expected " in str(error)


# A good sentence after the bad one, for the cases whose skipped line leaves the bad
# sentence out (and the file would hold none).
NEXT_SENTENCE = {"conll2003": "\nz NN O O\n", "wnut": "\nz\tO\n", "conllu": "\n1\tz\tz\tX\t_\t_\t0\troot\t_\t_\n", "ptb": "======\nz/NN\n"}


@pytest.mark.parametrize("fmt,text,line,problem,expected", CASES)
def test_lenient_counts_the_touched_line(write, fmt, text, line, problem, expected):
    log = ProblemLog(lenient=True)
    read(write(text + NEXT_SENTENCE.get(fmt, type(text)()), "bad.txt"), fmt, log=log)
    assert log.n_touched == 1
    assert log.to_dict()["touched_lines"] == 1
    assert f"bad.txt:{line}:" in log.examples[0]


def test_lenient_repairs_a_missing_chunk_label_beside_others_to_o(write):
    log = ProblemLog(lenient=True)
    (sent,) = read(write("a DT B-NP\nb NN _\nc NN _\n"), "conll2000", log=log)
    assert sent.labels["chunk"] == ["B-NP", "O", "O"]
    assert log.to_dict()["repaired_lines"] == 2


def test_lenient_repairs(write):
    log = ProblemLog(lenient=True)
    text = "a N O\nb N I-LOC\nc N E-PER\nd N B-PER\n\ncaf\xe9 N O\n".encode("latin-1")
    sents = read(write(text), "conll2002", log=log)
    # E-PER continues no PER chunk: under IOB2 it opens one
    assert sents[0].labels["ner"] == ["O", "B-LOC", "B-PER", "B-PER"]
    assert sents[1].words == ["caf\u00e9"]
    assert log.to_dict()["repaired_lines"] == 3
    assert log.to_dict()["skipped_lines"] == 0


@pytest.mark.parametrize("fmt,text,labels", [
    ("wnut", "New\tB-loc\nYork\tE-loc\nis\tO\nParis\tS-loc\nRome\tU-loc\n", ["B-loc", "I-loc", "O", "B-loc", "B-loc"]),
    # IOB1 (conll2003's NER column): a chunk starts with I-, B- only after a chunk of its type
    ("conll2003", "a N O S-PER\nb N O S-PER\nc N O B-LOC\nd N O L-LOC\n", ["I-PER", "B-PER", "B-LOC", "I-LOC"]),
])
def test_lenient_reads_bioes_and_bilou_labels_as_the_same_chunks(write, fmt, text, labels):
    with pytest.raises(CorpusFormatError, match=r"BIOES/BILOU label, not in the IOB\d scheme"):
        read(write(text), fmt)
    log = ProblemLog(lenient=True)
    (sent,) = read(write(text), fmt, log=log)
    assert sent.labels["ner"] == labels


def test_lenient_leaves_out_a_sentence_that_lost_a_line(write):
    log = ProblemLog(lenient=True)
    (sent,) = read(write("a DT B-NP\nb NN\nc NN I-NP\n\nd NN B-NP\n"), "conll2000", log=log)
    # not ["a", "c"]: a sentence with a word missing would train on a false sequence
    assert sent.words == ["d"]
    assert (log.to_dict()["skipped_lines"], log.to_dict()["skipped_sentences"]) == (1, 1)


def test_lenient_ptb_item_after_a_sentence_end_spoils_the_next_sentence_only(write):
    log = ProblemLog(lenient=True)
    sents = read(write("a/DT b/NN ./.\nbroken c/NN ./.\nd/NN ./.\n"), "ptb", log=log)
    assert [s.words for s in sents] == [["a", "b", "."], ["d", "."]]
    assert log.to_dict()["skipped_sentences"] == 1


def test_ptb_empty_tags_are_read_as_missing_and_counted(write):
    log = ProblemLog(lenient=False)
    (sent,) = read(write("the/DT dog/ barks/VBZ ./.\n"), "ptb", log=log)
    assert sent.words == ["the", "dog", "barks", "."] and sent.labels["tag"][1] in (None, "")
    assert log.notes["empty tags (read as missing)"] == 1


def test_layout_is_fixed_by_the_first_line(write):
    # conll2002 accepts 2 or 3 columns, but not both in one file
    with pytest.raises(CorpusFormatError, match=r":2: \[E053\] 2 columns; expected 3 columns .*, the layout of the file's first line$"):
        read(write("a N O\nb O\n"), "conll2002")
    with pytest.raises(CorpusFormatError, match=r":2: \[E053\] 3 columns; expected 2 columns \(word ner:IOB2\), the layout"):
        read(write("a O\nb N O\n"), "conll2002")


def test_iob1_accepts_b_after_o_as_conlleval_does(write):
    (sent,) = read(write("Atlanta NNP I-NP B-MISC\n"), "conll2003")
    assert sent.labels["ner"] == ["B-MISC"]


def test_two_problems_on_one_line_count_once(write):
    log = ProblemLog(lenient=True)
    read(write(b"\xff B-X E-Y\n"), "columns", log=log, columns="word,chunk,ner")
    assert log.n_touched == 1


# Words spaCy cannot hold: `Doc(vocab, words=...)` rejects the empty string (E031) and a
# string UTF-8 cannot encode (a lone surrogate, here from the UTF-7 decoder). Each case:
# a bad sentence, then a good one with the single word "z".
CONLLU_Z = b"1\tz\t_\tX\t_\t_\t0\troot\t_\t_\n"
CONLLU_BAD = b"1\tok\t_\tX\t_\t_\t0\troot\t_\t_\n2\t\t_\tX\t_\t_\t1\tdep\t_\t_\n"
UNSTORABLE = [
    # (format, options, text, line, problem pattern)
    ("conllu", {}, CONLLU_BAD + b"\n" + CONLLU_Z, 2, "^empty word$"),
    ("columns", {"columns": "_,word,tag"}, b"1\ta\tDT\n2\t \tNN\n\n1\tz\tNN\n", 2, "^empty"),
    ("genia", {}, b"a/DT /NN\nz/NN\n", 1, "^empty word$"),
    ("twitter-pos", {"encoding": "utf-7"}, b"a DT\nb+2AA- NN\n\nz NN\n", 2, r"word 'b\\ud800'"),
    ("twitter-pos", {"encoding": "utf-7"}, b"a DT+2AA-\n\nz NN\n", 1, r"tag label 'DT\\ud800'"),
]


@pytest.mark.parametrize("fmt,options,text,line,problem", UNSTORABLE)
def test_word_spacy_cannot_hold_is_a_file_line_error(write, fmt, options, text, line, problem):
    path = write(text, "bad.txt")
    with pytest.raises(CorpusFormatError) as info:
        read(path, fmt, **options)
    assert (info.value.path, info.value.line) == (str(path), line)
    assert re.search(problem, info.value.problem)
    assert str(info.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("fmt,options,text,line,problem", UNSTORABLE)
def test_lenient_skips_and_counts_the_sentence(write, fmt, options, text, line, problem):
    log = ProblemLog(lenient=True)
    sents = read(write(text, "bad.txt"), fmt, log=log, **options)
    assert [s.words for s in sents] == [["z"]]
    assert (log.to_dict()["skipped_sentences"], log.to_dict()["skipped_lines"]) == (1, 1)
    assert f"bad.txt:{line}:" in log.examples[0]
    (doc,) = sentences_to_docs(Vocab(), sents)
    assert [t.text for t in doc] == ["z"]


def test_whitespace_words_are_tokens_as_spacy_accepts_them(write):
    # spaCy accepts whitespace-only words (its tokenizer makes such tokens): a CoNLL-U
    # FORM keeps its spaces, so " " is a word (column files strip their fields)
    text = "1\tA\t_\tX\t_\t_\t0\troot\t_\t_\n2\t \t_\t_SP\t_\t_\t1\tdep\t_\t_\n"
    (sent,) = read(write(text), "conllu")
    (doc,) = sentences_to_docs(Vocab(), [sent])
    assert [t.text for t in doc] == ["A", " "]


def test_a_tab_separated_field_of_only_whitespace_is_a_whitespace_word(write):
    # a no-break space is whitespace to str.strip(): the line has two fields, not one
    (sent,) = read(write("a\tO\n\u00a0\tO\nb \tB-person\n\t\n"), "wnut")
    assert sent.words == ["a", "\u00a0", "b"] and sent.labels["ner"] == ["O", "O", "B-person"]


def test_a_tab_separated_word_keeps_non_ascii_whitespace_at_its_edges(write):
    # words as given: only ASCII whitespace (spaces, a CR) is stripped from a TAB field
    log = ProblemLog(lenient=True)
    (sent,) = read(write("\u00a0abc\tNN\nx\u3000\tNN\n y \tNN\r\n"), "twitter-pos", log=log)
    assert sent.words == ["\u00a0abc", "x\u3000", "y"]
    assert log.to_dict()["touched_lines"] == 0


NOTHING = [(fmt, text) for fmt in sorted(FORMATS) for text in ("", "\n \n\t\n")] + [
    ("conll2003", "-DOCSTART- -X- O O\n\n"),
    ("conllu", "# newdoc id = a\n# sent_id = 1\n"),
]


@pytest.mark.parametrize("fmt,text", NOTHING)
def test_input_without_sentences_is_an_error_naming_it(write, fmt, text):
    path = write(text, "empty.txt")
    options = {"columns": "word,tag"} if fmt == "columns" else {}
    with pytest.raises(CorpusContentError) as info:
        read(path, fmt, **options)
    assert str(info.value).startswith(f"{path}: [E054] no sentences read; expected at least one")
    assert repr(fmt) in info.value.expected


def test_input_whose_sentences_were_all_skipped_says_so(write):
    with pytest.raises(CorpusContentError, match=r"no sentences read \(lenient: 1 lines skipped, 1 sentences left out\)"):
        read(write(b"a/DT /NN\n"), "genia", log=ProblemLog(lenient=True))


def test_tag_field_missing_everywhere_is_an_error(write):
    # XPOS `_` on every word: --conllu-tag xpos on a treebank without XPOS
    text = "1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n2\tb\tb\tNOUN\t_\t_\t1\tdep\t_\t_\n"
    path = write(text, "ewt.conllu")
    with pytest.raises(CorpusContentError) as info:
        read(path, "conllu", conllu_tag="xpos")
    assert str(info.value).startswith(f"{path}: [E054] no tag labels: the CoNLL-U XPOS field")
    assert "all 2 tokens" in info.value.problem
    assert [s.labels["tag"] for s in read(path, "conllu")] == [["DET", "NOUN"]]


def test_column_missing_everywhere_is_an_error(write):
    with pytest.raises(CorpusContentError, match="no tag labels: the tag column"):
        read(write("a _ B-NP O\nb _ I-NP B-PER\n"), "conll2003")
    # one tag in the whole input is enough
    (sent,) = read(write("a _ B-NP O\nb NN I-NP B-PER\n"), "conll2003")
    assert sent.labels["tag"] == ["", "NN"]
