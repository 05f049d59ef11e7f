"""Reading DocBins with srsly's decoders resolved once gives what spaCy's reader gives."""

import threading
import zlib

import pytest
import spacy
import srsly.msgpack
from spacy.tokens import Doc, DocBin, Span

from spacy_xfer.docbin import msgpack_decoders_resolved_once, read_docs


def test_read_docs_equals_spacys_reader(tmp_path):
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Anna", "sings", "in", "Rome"], tags=["NNP", "VBZ", "IN", "NNP"])
    doc.ents = [Span(doc, 0, 1, label="PER"), Span(doc, 3, 4, label="LOC")]
    doc.spans["chunks"] = [Span(doc, 0, 1, label="NP")]
    doc.user_data["xfer_task"] = "target"
    path = tmp_path / "docs.spacy"
    DocBin(docs=[doc, Doc(nlp.vocab, words=["Hi"])], store_user_data=True).to_disk(path)
    ours = read_docs(path, nlp.vocab)
    theirs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    assert [d.to_json() for d in ours] == [d.to_json() for d in theirs]
    assert [d.user_data for d in ours] == [d.user_data for d in theirs]
    assert ours[0].spans["chunks"][0].label_ == "NP"


def test_srsly_looks_decoders_up_again_after_the_block():
    registry = srsly.msgpack.msgpack_decoders
    with pytest.raises(RuntimeError):
        with msgpack_decoders_resolved_once():
            assert "get_all" in vars(registry)
            raise RuntimeError
    assert "get_all" not in vars(registry)


def test_blocks_open_in_threads_at_once_keep_the_patch_until_the_last_ends():
    # two experiment chains reading their corpora at the same time
    registry = srsly.msgpack.msgpack_decoders
    first_in, second_out = threading.Event(), threading.Event()
    seen = []

    def first():
        with msgpack_decoders_resolved_once():
            first_in.set()
            second_out.wait(10)
            seen.append("get_all" in vars(registry))

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with msgpack_decoders_resolved_once():
        pass
    second_out.set()
    thread.join(10)
    assert seen == [True]
    assert "get_all" not in vars(registry)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises((OSError, ValueError)):
        read_docs(tmp_path / "missing.spacy", spacy.blank("en").vocab)


def test_a_file_that_is_no_docbin_is_named(tmp_path):
    """spaCy's own error (E1014) names no file; a training run reads several."""
    path = tmp_path / "train.spacy"
    doc_bin = DocBin()
    doc_bin.add(Doc(spacy.blank("en").vocab, words=["a", "b"]))
    for data in (doc_bin.to_bytes()[:30], zlib.compress(srsly.msgpack_dumps({"x": 1}))):
        path.write_bytes(data)
        with pytest.raises(ValueError, match=rf"\[E108\] {path} cannot be read as a DocBin"):
            read_docs(path, spacy.blank("en").vocab)
