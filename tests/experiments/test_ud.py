"""UPOS or XPOS from CoNLL-U: the built-in `ud_en` (XPOS) and `ud_en_upos`, and
`conllu_tag` for benchmarks of one's own."""

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_xfer.experiments.benchmarks import BENCHMARKS

from .util import CONLLU, run

TAGS = {"xpos": [["PRP", "VBP"], ["NNS", "VBP"]], "upos": [["PRON", "VERB"], ["NOUN", "VERB"]]}


def tags_of(path):
    return [[token.tag_ for token in doc] for doc in DocBin().from_disk(path).get_docs(Vocab())]


@pytest.mark.parametrize("name,field", [("ud_en", "xpos"), ("ud_en_upos", "upos")])
def test_built_in_ud_benchmarks_read_xpos_or_upos(name, field, tmp_path):
    corpora = tmp_path / "corpora"
    for path in BENCHMARKS[name]["files"].values():  # the layout of ../shared/corpora
        (corpora / path).parent.mkdir(parents=True, exist_ok=True)
        (corpora / path).write_text(CONLLU, encoding="utf8")
    result = run("prepare", name, corpora, tmp_path / name)  # CORPORA_DIR OUTPUT_DIR
    assert result.exit_code == 0, result.output
    for part in ("train", "dev", "test"):
        assert tags_of(tmp_path / name / f"{part}.spacy") == TAGS[field]


@pytest.mark.parametrize("field", ["xpos", "upos"])
def test_own_conllu_benchmarks_choose_the_tag_field(field, tmp_path):
    path = tmp_path / "ud.conllu"
    path.write_text(CONLLU, encoding="utf8")
    files = ("--train", path, "--dev", path, "--test", path)
    own = ("--format", "conllu", "--lang", "en", "--target", "tag", "--conllu-tag", field)
    result = run("prepare", "ud", tmp_path / "ud", *own, *files)
    assert result.exit_code == 0, result.output
    assert tags_of(tmp_path / "ud" / "train.spacy") == TAGS[field]
