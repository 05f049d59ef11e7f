"""Each reader on tiny inline samples, with the quirks of its format."""

import re

import pytest

from spacy_xfer.corpora import FORMATS, parse_columns
from spacy_xfer.corpora.readers import Column

from .util import read

CONLL2003 = """\
-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Spain NNP I-NP I-LOC
France NNP B-NP B-LOC
Italy NNP I-NP I-LOC
"""


def test_conll2003_columns_docs_and_both_docstart_variants(write):
    sents = read(write(CONLL2003, "eng.train"), "conll2003")
    assert [s.words for s in sents] == [
        ["EU", "rejects", "German", "call"],
        ["Peter", "Blackburn"],
        ["Spain", "France", "Italy"],
    ]
    assert sents[0].labels == {
        "tag": ["NNP", "VBZ", "JJ", "NN"],
        "chunk": ["I-NP", "I-VP", "I-NP", "I-NP"],
        "ner": ["I-ORG", "O", "I-MISC", "O"],
    }
    assert [s.doc_id for s in sents] == ["eng.train#1", "eng.train#1", "eng.train#2"]
    assert [s.sent_id for s in sents] == ["eng.train:3", "eng.train:8", "eng.train:13"]
    assert sents[2].lines == [13, 14, 15]


def test_conll2000_iob2_chunks(write):
    text = "Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\n\n"
    (sent,) = read(write(text), "conll2000")
    assert sent.labels["tag"] == ["NN", "IN", "DT", "NN"]
    assert sent.labels["chunk"] == ["B-NP", "B-PP", "B-NP", "I-NP"]
    assert sent.doc_id == "corpus.txt"


def test_conll2002_spanish_pos_column_and_utf8(write):
    text = "Melbourne NP B-LOC\n( Fpa O\nAustralia NP B-LOC\n) Fpt O\n\nEl DA O\naño NC O\n"
    sents = read(write(text, "esp.train"), "conll2002")
    assert sents[0].labels["tag"] == ["NP", "Fpa", "NP", "Fpt"]
    assert sents[0].labels["ner"] == ["B-LOC", "O", "B-LOC", "O"]
    assert sents[1].words == ["El", "año"]


def test_conll2002_two_columns_and_dutch_docstart_without_blank_line(write):
    docstart = "-DOCSTART- -DOCSTART- O\n"
    text = f"{docstart}De Art O\ntekst N O\n\n{docstart}Verberckmoes N B-PER\n"
    sents = read(write(text, "ned.train"), "conll2002")
    assert [s.words for s in sents] == [["De", "tekst"], ["Verberckmoes"]]
    assert [s.doc_id for s in sents] == ["ned.train#1", "ned.train#2"]
    two = read(write("Juan B-PER\nvive O\n\nen O\nMadrid B-LOC\n", "esp.orig"), "conll2002")
    assert [s.labels for s in two] == [{"ner": ["B-PER", "O"]}, {"ner": ["O", "B-LOC"]}]


def test_ptb_word_tab_tag_file(write):
    text = "Pierre\tNNP\nVinken\tNNP\n,\t,\n\n-LRB-\t-LRB-\n1\\/2\tCD\n"
    sents = read(write(text, "wsj.conll"), "ptb")
    assert [s.words for s in sents] == [["Pierre", "Vinken", ","], ["-LRB-", "1\\/2"]]
    assert sents[1].labels["tag"] == ["-LRB-", "CD"]


POS_FILE = """\


[ Pierre/NNP Vinken/NNP ]
,/, will/MD join/VB
[ the/DT board/NN ]
./.

[ He/PRP ]
said/VBD ``/`` fine/JJ ./. ''/''

[ It/PRP ]
rose/VBD ./. )/)
======================================
[ Sales/NNS ]
rose/VBD
"""


def test_ptb_tagged_text_brackets_and_sentence_ends(write):
    sents = read(write(POS_FILE, "tagged/wsj_0001.pos"), "ptb")
    assert [s.words for s in sents] == [
        ["Pierre", "Vinken", ",", "will", "join", "the", "board", "."],
        ["He", "said", "``", "fine", ".", "''"],
        ["It", "rose", ".", ")"],
        ["Sales", "rose"],
    ]
    assert sents[0].labels["tag"][:3] == ["NNP", "NNP", ","]
    assert {s.doc_id for s in sents} == {"wsj_0001"}
    assert sents[0].lines[0] == 3


def test_ptb_folder_reads_every_pos_file_in_order(write, tmp_path):
    write("[ A/DT ]\n./.\n", "tagged/wsj_0002.pos")
    write("[ B/DT ]\n./.\n", "tagged/wsj_0001.pos")
    write("not a corpus\n", "tagged/README")
    sents = read(tmp_path / "tagged", "ptb")
    assert [(s.doc_id, s.words[0]) for s in sents] == [("wsj_0001", "B"), ("wsj_0002", "A")]


CONLLU = """\
# newdoc id = doc-a
# sent_id = s1
# text = Don't go
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t3:conj\t_

# sent_id = s2
1\tNew York\tNew York\tPROPN\t_\t_\t0\troot\t_\t_

"""


@pytest.mark.parametrize(
    "field,tags", [("upos", ["AUX", "PART", "VERB"]), ("xpos", ["VBP", "RB", "VB"])]
)
def test_conllu_multiword_tokens_empty_nodes_and_tag_field(write, field, tags):
    sents = read(write(CONLLU, "x.conllu"), "conllu", conllu_tag=field)
    assert [s.words for s in sents] == [["Do", "n't", "go"], ["New York"]]
    assert sents[0].labels["tag"] == tags
    assert [s.sent_id for s in sents] == ["s1", "s2"]
    assert [s.doc_id for s in sents] == ["doc-a", "doc-a"]
    assert sents[1].labels["tag"] == (["PROPN"] if field == "upos" else [""])


W = "\t_\tX\t_\t_\t_\t_\t_\t_\n"  # the eight fields after a CoNLL-U line's ID and form


@pytest.mark.parametrize(
    "text,line,message",
    [
        (f"1\ta{W}3\tb{W}", 2, r"word ID 3 after 1 words; expected the IDs 1, 2, 3, ... in order \(here 2\)"),
        (f"1\ta{W}1\tb{W}", 2, r"word ID 1 after 1 words"),
        (f"1\ta{W}\n1-2\tab{W}1\ta{W}", 3, r"multiword range 1-2 over words the sentence does not have"),
        (f"1\ta{W}2-2\tab{W}2\tb{W}", 2, r"multiword range 2-2; expected a range from the next word's ID \(2\)"),
        (f"1\ta{W}\u00b2\tb{W}", 2, r"ID '\u00b2'; expected a word index"),  # a digit to str.isdigit, not to int()
    ],
)
def test_conllu_word_ids_must_count_up_from_one(write, text, line, message):
    path = write(text, "x.conllu")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:{line}: \[E053\] {message}"):
        read(path, "conllu")


def test_conllu_rejects_unknown_tag_field():
    with pytest.raises(ValueError, match="upos"):
        read(__file__, "conllu", conllu_tag="lemma")


def test_twitter_pos_keeps_twitter_tags(write):
    sents = read(write("@paulwalk USR\nIt PRP\n#win HT\nhttp://x.y URL\n\nRT RT\n"), "twitter-pos")
    assert sents[0].labels["tag"] == ["USR", "PRP", "HT", "URL"]
    assert sents[1].labels["tag"] == ["RT"]


def test_twitter_ner_tab_only_line_ends_a_sentence(write):
    text = "Empire\tB-facility\nState\tI-facility\n.\tO\n\t\nPretty\tO\nbad\tO\n"
    sents = read(write(text), "twitter-ner")
    assert [s.words for s in sents] == [["Empire", "State", "."], ["Pretty", "bad"]]
    assert sents[0].labels == {"ner": ["B-facility", "I-facility", "O"]}


def test_twitter_chunk_lowercase_tags_are_upper_cased(write):
    (sent,) = read(write("@paulwalk o\nIt b-np\n's b-vp\nthe b-np\nview i-np\n"), "twitter-chunk")
    assert sent.labels == {"chunk": ["O", "B-NP", "B-VP", "B-NP", "I-NP"]}


def test_wnut_tab_columns_and_blank_lines(write):
    text = "@SammieLynnsMom\tO\nNew\tB-geo-loc\nYork\tI-geo-loc\n\nok\tO\n\n\n"
    sents = read(write(text), "wnut")
    assert sents[0].labels == {"ner": ["O", "B-geo-loc", "I-geo-loc"]}
    assert len(sents) == 2


def test_genia_tsv_is_mapped_onto_ptb(write):
    text = "IL-2\tNN\n(\t(\nIFN-gamma\t_\n)\t)\nthe\tXT\nA\tJJ|NN\nit\tPP\n\n"
    (sent,) = read(write(text, "train.tsv"), "genia")
    assert sent.words == ["IL-2", "(", "IFN-gamma", ")", "the", "A", "it"]
    assert sent.labels["tag"] == ["NN", "-LRB-", "", "-RRB-", "DT", "JJ", "PRP"]


GENIA_RAW = """\
UI/LS -/: 95369245/CD
TI/LS -/: IL-2/NN gene/NN (/( HIV- 1/NN )/) ./.
AB/LS -/: Activation/NN of/IN the/DT CD28/NN ./.
We/PP show/VBP IFN-gamma/ N/N -/- CT/CT mix/JJ|NN ./.
UI/LS -/: 95333264/CD
TI/LS -/: Another/DT title/NN
"""


def test_genia_original_lines_ids_fragments_and_mapping(write):
    sents = read(write(GENIA_RAW, "GENIAtrain.pos"), "genia")
    assert [s.words for s in sents] == [
        ["IL-2", "gene", "(", "HIV-1", ")", "."],
        ["Activation", "of", "the", "CD28", "."],
        ["We", "show", "IFN-gamma", "N", "-", "CT", "mix", "."],
        ["Another", "title"],
    ]
    assert sents[0].labels["tag"] == ["NN", "NN", "-LRB-", "NN", "-RRB-", "."]
    assert sents[2].labels["tag"] == ["PRP", "VBP", "", "NN", "SYM", "DT", "JJ", "."]
    assert [s.doc_id for s in sents] == ["95369245"] * 3 + ["95333264"]


def test_genia_mapping_can_be_turned_off(write):
    (sent,) = read(write("x/( y/JJ|NN\n", "g.pos"), "genia", label_map="none")
    assert sent.labels["tag"] == ["(", "JJ|NN"]


def test_user_column_spec(write):
    text = "x\tignored\tNN\tB-np\tI-PER\ny\tz\tVB\ti-np\tB-PER\n"
    (sent,) = read(write(text), "columns", columns="word,_,tag,chunk:iob2:upper,ner:iob1")
    assert sent.words == ["x", "y"]
    expected = {"tag": ["NN", "VB"], "chunk": ["B-NP", "I-NP"], "ner": ["I-PER", "B-PER"]}
    assert sent.labels == expected


def test_parse_columns():
    assert parse_columns("word, NER:IOB1") == (Column("word"), Column("ner", "IOB1"))
    assert parse_columns("word,chunk") == (Column("word"), Column("chunk", "IOB2"))


@pytest.mark.parametrize(
    "spec",
    ["tag,ner", "word,word", "word,tag,tag", "word,lemma", "word,ner:bioes", "word,tag:iob2"],
)
def test_parse_columns_rejects_bad_specs(spec):
    with pytest.raises(ValueError, match="expected"):
        parse_columns(spec)


def test_columns_format_needs_a_spec_and_other_formats_take_none(write):
    path = write("a NN\n")
    with pytest.raises(ValueError, match="column spec"):
        read(path, "columns")
    with pytest.raises(ValueError, match="'columns' format only"):
        read(path, "twitter-pos", columns="word,tag")


def test_unknown_format_and_folder_input(tmp_path):
    with pytest.raises(ValueError, match="conll2003"):
        read(tmp_path, "conll")
    with pytest.raises(ValueError, match="folder"):
        read(tmp_path, "conll2003")
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "missing.txt", "conll2003")


def test_every_format_has_a_reader_and_help():
    assert set(FORMATS) == {
        "conll2003", "conll2000", "conll2002", "ptb", "conllu", "twitter-pos",
        "twitter-ner", "twitter-chunk", "wnut", "genia", "columns",
    }  # fmt: skip
    assert all(callable(f.read) and f.help for f in FORMATS.values())


def test_crlf_line_ends_and_byte_order_mark(write):
    (sent,) = read(write(b"\xef\xbb\xbfa\tNN\r\nb\tVB\r\n\r\n"), "twitter-pos")
    assert sent.words == ["a", "b"]
    assert sent.labels["tag"] == ["NN", "VB"]


def test_latin1_input_with_encoding_option(write):
    (sent,) = read(write("Espa\u00f1a B-LOC\n".encode("latin-1")), "conll2002", encoding="latin-1")
    assert sent.words == ["Espa\u00f1a"]
