"""Convert every corpus in the shared corpora folder: counts from the SOURCE.md files, and
the round trip Docs -> column lines against the input's own lines."""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.corpora import (
    SPLIT_NAMES,
    ReadOptions,
    docs_to_lines,
    load_label_map,
    read_docs,
)
from spacy_xfer.corpora.readers import FORMATS
from spacy_xfer.gazetteer import load_gazetteer
from spacy_xfer.tags import chunks_from_tags, chunks_to_tags

pytestmark = pytest.mark.corpora
DOCBIN_SAMPLE = 500  # Docs per corpus also sent through DocBin bytes (spaCy's msgpack is slow)


@dataclass(frozen=True)
class Case:
    path: str
    fmt: str
    sentences: Optional[int]
    tokens: int
    layers: Tuple[str, ...]  # the columns after the word, as written back
    documents: Optional[int] = None
    repaired: int = 0  # lines with a stray IOB2 I- tag, which only --lenient converts
    quoted: Tuple[int, ...] = ()  # SOURCE.md numbers the counts derive from, if not equal
    options: Dict[str, str] = field(default_factory=dict)
    text: bool = False  # the input is word/TAG text, not lines of columns


TSV = ("tag",)
XPOS = {"conllu_tag": "xpos"}
CASES = [
    Case("conll2003/eng.train", "conll2003", 14_041, 203_621, ("tag", "chunk", "ner"), 946),
    Case("conll2003/eng.testa", "conll2003", 3_250, 51_362, ("tag", "chunk", "ner"), 216),
    Case("conll2003/eng.testb", "conll2003", 3_453, 46_435, ("tag", "chunk", "ner"), 231),
    Case("conll2000/train.txt", "conll2000", 8_936, 211_727, ("tag", "chunk")),
    Case("conll2000/test.txt", "conll2000", 2_012, 47_377, ("tag", "chunk")),
    Case("conll2002/esp.train", "conll2002", 8_323, 264_715, ("tag", "ner"), repaired=1),
    Case("conll2002/esp.testa", "conll2002", 1_915, 52_923, ("tag", "ner"), repaired=1),
    Case("conll2002/esp.testb", "conll2002", 1_517, 51_533, ("tag", "ner"), repaired=1),
    Case("conll2002/ned.train", "conll2002", 15_806, 202_644, ("tag", "ner"), 287),
    Case("conll2002/ned.testa", "conll2002", 2_895, 37_687, ("tag", "ner"), 74),
    Case("conll2002/ned.testb", "conll2002", 5_195, 68_875, ("tag", "ner"), 119),
    Case("ptb_nltk_sample/wsj_0001-0199.pos.conll", "ptb", 3_914, 94_084, TSV),
    Case("ptb_nltk_sample/tagged", "ptb", None, 94_200, TSV, 199, text=True),
    Case("ud/en_ewt/en_ewt-ud-train.conllu", "conllu", 12_544, 204_577, TSV),
    Case("ud/en_ewt/en_ewt-ud-dev.conllu", "conllu", 2_001, 25_147, TSV, options=XPOS),
    Case("ud/en_ewt/en_ewt-ud-test.conllu", "conllu", 2_077, 25_094, TSV),
    Case("ud/es_gsd/es_gsd-ud-dev.conllu", "conllu", 1_400, 37_154, TSV),
    Case("ud/es_gsd/es_gsd-ud-test.conllu", "conllu", 427, 12_002, TSV),
    Case("ud/nl_alpino/nl_alpino-ud-dev.conllu", "conllu", 718, 11_541, TSV, options=XPOS),
    Case("ud/nl_alpino/nl_alpino-ud-test.conllu", "conllu", 596, 11_046, TSV),
    Case("twitter_ritter2011/pos.txt", "twitter-pos", 787, 15_185, TSV),
    Case("twitter_ritter2011/ner.txt", "twitter-ner", 2_394, 46_469, ("ner",)),
    Case("twitter_ritter2011/chunk.txt", "twitter-chunk", 788, 15_211, ("chunk",), repaired=17),
    Case("wnut16/train", "wnut", 2_394, 46_469, ("ner",)),
    Case("wnut16/dev", "wnut", 1_000, 16_261, ("ner",)),
    Case("wnut16/test", "wnut", 3_850, 61_908, ("ner",)),
    Case("wnut16/dev_2015", "wnut", 420, 6_789, ("ner",)),
    Case("genia_pos/train.tsv", "genia", 14_754, 386_633, TSV),
    Case("genia_pos/dev.tsv", "genia", 1_964, 51_227, TSV),
    Case("genia_pos/test.tsv", "genia", 1_826, 49_086, TSV),
    # SOURCE.md counts the whitespace items, fragments included: 437,962 (+101 fragments)
    Case("genia_pos/original/GENIAtrain.pos", "genia", 16_718, 437_861, TSV,
         quoted=(437_962, 101), text=True),
    Case("genia_pos/original/GENIAtest.pos", "genia", 1_826, 49_086, TSV, 210,
         quoted=(49_092, 6), text=True),
]  # fmt: skip


def corpus_path(corpora: Path, relative: str) -> Path:
    """A file or folder of the corpora folder; the test is skipped if it is not there
    (and fails under CI=true, where the corpora are all there)."""
    path = corpora / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is not in this corpora folder")
        pytest.skip(f"{path} is not in this corpora folder")
    return path


def source_text(file: Path) -> str:
    """The SOURCE.md that describes a corpus file: the nearest one above it."""
    for folder in file.parents:
        if (folder / "SOURCE.md").exists():
            return (folder / "SOURCE.md").read_text()
    raise FileNotFoundError(f"No SOURCE.md above {file}")


def input_rows(case: Case, path: Path) -> Iterator[List[str]]:
    """The input's own lines as rows, chunk/entity labels rewritten in IOB2 (and
    upper-cased or mapped where the format says so); a blank row after each sentence."""
    table = load_label_map(case.options.get("label_map") or FORMATS[case.fmt].label_map)
    upper = case.fmt == "twitter-chunk"
    sentence: List[List[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n") + [""]:
        fields = line.strip().split("\t") if "\t" in line.strip() else line.split()
        if fields and fields[0] != "-DOCSTART-":
            sentence.append(fields)
        elif sentence:
            columns = [list(column) for column in zip(*sentence)]
            for i, layer in enumerate(case.layers, 1):
                if layer == "tag" and table is not None:
                    columns[i] = [table(tag) for tag in columns[i]]
                elif layer != "tag":
                    labels = [label.upper() if upper else label for label in columns[i]]
                    columns[i] = chunks_to_tags(chunks_from_tags(labels), len(labels))
            yield from (list(row) for row in zip(*columns))
            yield []
            sentence = []


def conllu_rows(path: Path, field: int) -> Iterator[List[str]]:
    """FORM and UPOS (3) or XPOS (4) of the word lines of a CoNLL-U file; a blank row
    after each sentence."""
    rows: List[List[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n") + [""]:
        fields = line.split("\t")
        if fields[0].isdigit():
            rows.append([fields[1], fields[field]])
        elif not line.strip() and rows:
            yield from rows + [[]]
            rows = []


def expected_lines(case: Case, path: Path) -> Optional[List[str]]:
    """The lines the round trip must give, read from the input itself where it is in
    columns or CoNLL-U."""
    if case.fmt == "conllu":
        rows = conllu_rows(path, 4 if case.options.get("conllu_tag") == "xpos" else 3)
    elif not case.text:
        rows = input_rows(case, path)
    else:
        return None
    return ["\t".join(row) for row in rows]


@pytest.mark.parametrize("case", CASES, ids=[case.path for case in CASES])
def test_convert_counts_and_round_trip(corpora, case):
    path = corpus_path(corpora, case.path)
    options = ReadOptions(**case.options)
    if case.repaired:
        with pytest.raises(ValueError, match="does not continue"):
            read_docs(case.fmt, path, options)
    docs, log = read_docs(case.fmt, path, options, lenient=bool(case.repaired))
    source = source_text(path)
    counts = {"sentences": len(docs), "tokens": sum(len(doc) for doc in docs)}
    expected = {"sentences": case.sentences or len(docs), "tokens": case.tokens}
    assert counts == expected
    for number in case.quoted or [n for n in (case.sentences, case.tokens) if n]:
        assert f"{number:,}" in source
    if case.documents is not None:
        assert len({doc.user_data["doc_id"] for doc in docs}) == case.documents
    assert log.to_dict()["repaired_lines"] == case.repaired
    assert log.to_dict()["skipped_lines"] == 0
    lines = list(docs_to_lines(docs, case.layers))
    expected_output = expected_lines(case, path)
    if expected_output is not None:
        assert lines == expected_output
    sample = docs[:DOCBIN_SAMPLE]
    data = DocBin(docs=sample, store_user_data=True).to_bytes()
    loaded = list(DocBin().from_bytes(data).get_docs(Vocab()))
    assert list(docs_to_lines(loaded, case.layers)) == list(docs_to_lines(sample, case.layers))
    assert [doc.user_data for doc in loaded] == [doc.user_data for doc in sample]


def test_ptb_tagged_text_sentence_ends_near_the_treebank(corpora):
    path = corpus_path(corpora, "ptb_nltk_sample/tagged")
    docs, _ = read_docs("ptb", path)
    assert "3,914 sentences" in source_text(path)
    assert abs(len(docs) - 3_914) < 0.01 * 3_914  # .pos files do not mark sentences


def test_ptb_tagged_text_has_every_item_in_order(corpora):
    path = corpus_path(corpora, "ptb_nltk_sample/tagged")
    docs, _ = read_docs("ptb", path)
    items = [
        item.rpartition("/")[::2]
        for file in sorted(path.glob("*.pos"))
        for item in file.read_text().split()
        if "/" in item
    ]
    assert [(token.text, token.tag_) for doc in docs for token in doc] == items


def test_genia_original_test_file_reads_as_its_derived_tsv(corpora):
    original, _ = read_docs("genia", corpus_path(corpora, "genia_pos/original/GENIAtest.pos"))
    derived, _ = read_docs("genia", corpus_path(corpora, "genia_pos/test.tsv"))
    assert list(docs_to_lines(original, TSV)) == list(docs_to_lines(derived, TSV))
    assert len({doc.user_data["doc_id"] for doc in original}) == 210


def test_genia_mapping_leaves_only_ptb_tags(corpora):
    docs, _ = read_docs("genia", corpus_path(corpora, "genia_pos/train.tsv"))
    tags = {token.tag_ for doc in docs for token in doc}
    assert not tags & {"(", ")", "PP", "N", "-", "XT", "CT"}
    assert not any("|" in tag for tag in tags)
    assert {"-LRB-", "-RRB-"} <= tags


def test_senna_gazetteer(corpora):
    folder = corpus_path(corpora, "gazetteers_senna")
    gazetteer = load_gazetteer(folder)
    source = source_text(folder / "ner.loc.lst")
    assert gazetteer.types == ["LOC", "MISC", "ORG", "PER"]
    entries = gazetteer.entries()
    for kind, n_lines in (("LOC", 36_697), ("PER", 123_283), ("ORG", 6_440), ("MISC", 4_722)):
        assert f"{n_lines:,}" in source
        assert 0.99 * n_lines < len(entries[kind]) <= n_lines
    assert "m\u00fcnchen" in entries["LOC"] and "a coru\u00f1a" in entries["LOC"]
    matches = gazetteer.match("He flew from M\u00fcnchen to A Coru\u00f1a".split())
    assert (3, 4, "LOC") in matches and (5, 7, "LOC") in matches


def test_the_issue_commands(corpora, tmp_path, monkeypatch):
    conll, genia, tweets = (
        corpus_path(corpora, name)
        for name in ("conll2003/eng.testb", "genia_pos/train.tsv", "twitter_ritter2011/pos.txt")
    )
    monkeypatch.chdir(tmp_path)
    commands = [
        ["convert", "conll2003", conll, "corpus/conll03/test.spacy"],
        ["convert", "genia", genia, "corpus/genia/train.spacy", "--rate", "0.001", "--seed", "13"],
        ["split", "twitter-pos", tweets, "corpus/twpos/", "--ratios", "0.8", "0.1", "0.1",
         "--seed", "13"],
    ]  # fmt: skip
    for command in commands:
        result = CliRunner().invoke(app, [str(arg) for arg in command])
        assert result.exit_code == 0, result.output
    genia = json.loads(Path("corpus/genia/train.stats.json").read_text())
    assert (genia["sentences_read"], genia["sentences"]) == (14_754, 15)
    parts = [json.loads(Path(f"corpus/twpos/{n}.stats.json").read_text()) for n in SPLIT_NAMES]
    assert [part["sentences"] for part in parts] == [630, 78, 79]
    assert json.loads(Path("corpus/conll03/test.stats.json").read_text())["documents"] == 231
