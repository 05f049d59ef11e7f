"""Sentences to Docs (where each annotation goes), Docs back to columns, statistics."""

import pytest
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from spacy_xfer.corpora import (
    CHUNKS_KEY,
    ReadOptions,
    convert_corpus,
    corpus_stats,
    doc_labels,
    docs_to_lines,
    read_docs,
    sentences_to_docs,
    split_corpus,
)
from spacy_xfer.corpora.docs import annotated_layers
from spacy_xfer.tags import chunks_from_tags, chunks_to_tags

from .test_readers import CONLL2003
from .util import read


def ents(doc):
    return [(ent.start, ent.end, ent.label_) for ent in doc.ents]


def chunks(doc):
    return [(span.start, span.end, span.label_) for span in doc.spans[CHUNKS_KEY]]


def test_conll2003_doc_carries_tags_chunks_and_entities(write):
    docs, _ = read_docs("conll2003", write(CONLL2003, "eng.train"))
    doc = docs[0]
    assert [t.text for t in doc] == ["EU", "rejects", "German", "call"]
    assert [t.tag_ for t in doc] == ["NNP", "VBZ", "JJ", "NN"]
    assert ents(doc) == [(0, 1, "ORG"), (2, 3, "MISC")]
    assert [t.ent_iob_ for t in doc] == ["B", "O", "B", "O"]
    assert chunks(doc) == [(0, 1, "NP"), (1, 2, "VP"), (2, 4, "NP")]
    assert doc.user_data == {"doc_id": "eng.train#1", "sent_id": "eng.train:3", "line": 3}
    # IOB1: B-LOC starts a LOC entity right after another one
    assert ents(docs[2]) == [(0, 1, "LOC"), (1, 3, "LOC")]
    assert chunks(docs[2]) == [(0, 1, "NP"), (1, 3, "NP")]


@pytest.mark.parametrize(
    "scheme,tags",
    [
        ("iob1", ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]),
        ("iob2", ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"]),
    ],
)
def test_iob1_and_iob2_decode_to_the_same_entities(write, scheme, tags):
    text = "".join(f"{word} {tag}\n" for word, tag in zip("abcdef", tags))
    options = ReadOptions(columns=f"word,ner:{scheme}")
    (doc,) = read_docs("columns", write(text), options)[0]
    assert ents(doc) == [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "ORG")]
    assert doc_labels(doc, "ner") == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"]


def test_layers_that_a_format_lacks_stay_unannotated(write):
    (pos_doc,) = read_docs("twitter-pos", write("a DT\nb NN\n"))[0]
    assert not pos_doc.has_annotation("ENT_IOB")
    assert CHUNKS_KEY not in pos_doc.spans
    (ner_doc,) = read_docs("wnut", write("a\tO\nb\tO\n"))[0]
    assert not ner_doc.has_annotation("TAG")
    assert [t.ent_iob_ for t in ner_doc] == ["O", "O"]
    (chunk_doc,) = read_docs("twitter-chunk", write("a o\n"))[0]
    assert CHUNKS_KEY in chunk_doc.spans and len(chunk_doc.spans[CHUNKS_KEY]) == 0
    assert annotated_layers([pos_doc, ner_doc, chunk_doc]) == ["tag", "chunk", "ner"]


def test_missing_tags_are_unset_and_written_as_underscore(write):
    (doc,) = read_docs("genia", write("a\tDT\nb\t_\n"))[0]
    assert [t.tag_ for t in doc] == ["DT", ""]
    assert doc_labels(doc, "tag") == ["DT", "_"]
    assert doc_labels(doc, "ner") == ["_", "_"]
    with pytest.raises(ValueError, match="layer"):
        doc_labels(doc, "lemma")


def test_round_trip_through_a_docbin_writes_iob2(write):
    path = write(CONLL2003, "eng.train")
    docs, _ = read_docs("conll2003", path)
    data = DocBin(store_user_data=True, docs=docs).to_bytes()
    loaded = list(DocBin().from_bytes(data).get_docs(Vocab()))
    assert [d.user_data for d in loaded] == [d.user_data for d in docs]
    lines = list(docs_to_lines(loaded, ["tag", "chunk", "ner"], sep=" "))
    expected = []
    for sent in read(path, "conll2003"):
        n = len(sent.words)
        iob2 = {k: chunks_to_tags(chunks_from_tags(sent.labels[k]), n) for k in ("chunk", "ner")}
        rows = zip(sent.words, sent.labels["tag"], iob2["chunk"], iob2["ner"])
        expected.extend([" ".join(row) for row in rows] + [""])
    assert lines == expected
    assert lines[:3] == ["EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "German JJ B-NP B-MISC"]


def test_written_columns_read_back_identically(write):
    text = "x\tNN\tB-NP\tB-PER\ny\t_\tI-NP\tI-PER\nz\tVB\tO\tB-PER\n\nw\tDT\tB-NP\tO\n"
    spec = "word,tag,chunk:iob2,ner:iob2"
    first = read(write(text, "a.txt"), "columns", columns=spec)
    docs = list(sentences_to_docs(Vocab(), first))
    written = write("\n".join(docs_to_lines(docs, ["tag", "chunk", "ner"])), "b.txt")
    again = read(written, "columns", columns=spec)
    assert [(s.words, s.labels) for s in again] == [(s.words, s.labels) for s in first]


def test_missing_entity_labels_are_written_as_underscore_and_read_back_as_missing(write):
    vocab = Vocab()
    tagged = Doc(vocab, words=["Anna", "sleeps"], tags=["NNP", "VBZ"])
    tagged.set_ents([Span(tagged, 0, 1, "PER")], default="outside")
    no_ner = Doc(vocab, words=["It", "rains"], tags=["PRP", "VBZ"])
    partial = Doc(vocab, words=["Bob", "runs", "fast"], tags=["NNP", "VBZ", "RB"])
    partial.set_ents([Span(partial, 0, 1, "PER")], default="missing")
    lines = list(docs_to_lines([tagged, no_ner, partial], ["tag", "ner"]))
    assert lines == [
        "Anna\tNNP\tB-PER", "sleeps\tVBZ\tO", "",
        "It\tPRP\t_", "rains\tVBZ\t_", "",
        "Bob\tNNP\tB-PER", "runs\tVBZ\t_", "fast\tRB\t_", "",
    ]
    docs, _ = read_docs("columns", write("\n".join(lines)), ReadOptions(columns="word,tag,ner"))
    assert [[t.ent_iob_ for t in doc] for doc in docs] == [["B", "O"], ["", ""], ["B", "", ""]]
    assert [ents(doc) for doc in docs] == [[(0, 1, "PER")], [], [(0, 1, "PER")]]
    assert list(docs_to_lines(docs, ["tag", "ner"])) == lines
    stats = corpus_stats(docs)
    assert (stats["missing_ner"], stats["labels"]["ner"]) == (4, {"PER": 2})


def test_chunk_labels_missing_in_a_whole_sentence_leave_it_without_chunks(write):
    text = "a DT _\nb NN _\n\nc DT B-NP\nd NN I-NP\n"
    docs, _ = read_docs("conll2000", write(text))
    assert CHUNKS_KEY not in docs[0].spans and chunks(docs[1]) == [(0, 2, "NP")]
    assert list(docs_to_lines(docs, ["tag", "chunk"], sep=" ")) == text.split("\n")
    stats = corpus_stats(docs)
    assert (stats["missing_chunks"], stats["missing_ner"], stats["labels"]["chunk"]) == (2, 0, {"NP": 1})


def test_a_chunk_across_a_sentence_boundary_is_refused():
    doc = Doc(Vocab(), words=["New", "York", "is"], sent_starts=[True, True, False])
    doc.set_ents([Span(doc, 0, 2, "LOC")], default="outside")
    doc.user_data["sent_id"] = "x.txt:1"
    expected = r"x.spacy: \[E110\] doc 0 \(x.txt:1\) .*: a ner chunk \(I-LOC\) crosses the sentence boundary before token 1 \('York'\)"
    with pytest.raises(ValueError, match=expected):
        list(docs_to_lines([doc], ["tag", "ner"], source="x.spacy"))
    assert list(docs_to_lines([doc], ["tag"])) == ["New\t_", "", "York\t_", "is\t_", ""]


def test_corpus_stats(write):
    docs, _ = read_docs("conll2003", write(CONLL2003, "eng.train"))
    stats = corpus_stats(docs)
    assert stats["sentences"] == 3
    assert stats["tokens"] == 9
    assert stats["documents"] == 2
    assert stats["missing_tags"] == 0
    assert stats["labels"]["ner"] == {"LOC": 2, "ORG": 1, "MISC": 1, "PER": 1}
    assert stats["labels"]["tag"]["NNP"] == 6
    assert stats["labels"]["chunk"] == {"NP": 5, "VP": 1}


def test_stats_count_every_missing_tag(write, tmp_path):
    path = write("a DT\nb _\n\nc _\nd _\n")
    docs, _ = read_docs("twitter-pos", path)
    assert not docs[1].has_annotation("TAG")  # spaCy sees no tags in the second Doc
    assert corpus_stats(docs)["missing_tags"] == 3
    # a sample or split part keeps the layers of the whole input
    assert corpus_stats(docs[1:], ["tag"])["missing_tags"] == 2
    stats = convert_corpus("twitter-pos", path, tmp_path / "out.spacy")
    assert (stats["missing_tags"], stats["layers"], stats["labels"]) == (3, ["tag"], {"tag": {"DT": 1}})
    parts = split_corpus("twitter-pos", path, tmp_path / "parts", ratios=(0.5, 0.5, 0.0))
    assert sorted(part["missing_tags"] for part in parts.values()) == [0, 1, 2]


def test_stats_of_a_format_without_tags_count_none_missing(write):
    docs, _ = read_docs("wnut", write("a\tO\nb\tB-person\n"))
    stats = corpus_stats(docs)
    assert (stats["missing_tags"], stats["layers"]) == (0, ["ner"])
