"""Sentences to spaCy Docs with their annotations, and Docs back to column lines.

Where the annotations go (what the `xfer_tagger` targets read):
- `tag` -> `Token.tag_`; a missing tag is `""` (unset).
- `ner` -> `Doc.ents`: the chunks `conlleval` reads from the IOB1/IOB2 labels, every other
  token set to outside, except a token whose label is missing (`_`): its entity
  annotation is missing (`Token.ent_iob_ == ""`), as in a Doc without an `ner` layer.
- `chunk` -> `Doc.spans["chunks"]` (read the same way). The key is absent when the source
  has no chunk layer or the sentence's chunk labels are all missing (a span group has no
  missing tokens, so the readers take no `_` beside chunk labels in a sentence), and an
  empty group when a sentence has no chunks.
- `Doc.user_data`: `doc_id` (a DOCSTART ordinal `FILE#N`, a CoNLL-U newdoc id, a MEDLINE
  id, or the file name), `sent_id` (CoNLL-U's id or `FILE:LINE`) and `line` (first line).
"""

from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..errors import Errors
from ..tags import OUTSIDE, chunks_from_tags, chunks_to_tags, split_tag
from .readers import CHUNK, DOCSTART, LAYERS, MISSING, MISSING_MARKS, NER, TAG, Sentence, split_fields

CHUNKS_KEY = "chunks"
WRITTEN_SCHEME = "IOB2"
MISSING_MARK = MISSING_MARKS[0]


def sentence_to_doc(vocab: Vocab, sentence: Sentence) -> Doc:
    """Make a Doc of one sentence: the words as given, the annotations of its layers.

    vocab (Vocab): The vocab of the Doc.
    sentence (Sentence): The sentence, as a reader yields it.
    RETURNS (Doc): The annotated Doc.
    """
    user_data = {"doc_id": sentence.doc_id, "sent_id": sentence.sent_id, "line": sentence.lines[0]}
    doc = Doc(vocab, words=sentence.words, tags=sentence.labels.get(TAG), user_data=user_data)
    if NER in sentence.labels:
        labels = sentence.labels[NER]
        ents = [Span(doc, *chunk) for chunk in chunks_from_tags([label or OUTSIDE for label in labels])]
        missing = [Span(doc, i, i + 1) for i, label in enumerate(labels) if label == MISSING]
        doc.set_ents(ents, missing=missing, default="outside")
    if CHUNK in sentence.labels and any(sentence.labels[CHUNK]):
        chunks = chunks_from_tags(sentence.labels[CHUNK])
        doc.spans[CHUNKS_KEY] = [Span(doc, *chunk) for chunk in chunks]
    return doc


def sentences_to_docs(vocab: Vocab, sentences: Iterable[Sentence]) -> Iterator[Doc]:
    """Make a Doc of each sentence (see `sentence_to_doc`)."""
    for sentence in sentences:
        yield sentence_to_doc(vocab, sentence)


def missing_labels(doc: Doc, layer: str) -> List[bool]:
    """Whether each token's label of one layer is missing: a tag that is unset, an entity
    annotation that is missing (`Token.ent_iob_ == ""`, every token of a Doc without
    one), every token of a Doc without the `chunks` key.

    doc (Doc): The Doc.
    layer (str): `tag`, `chunk` or `ner`.
    RETURNS (List[bool]): One flag per token.
    """
    if layer == TAG:
        return [not token.tag_ for token in doc]
    if layer == NER:
        return [not token.ent_iob_ for token in doc]
    _check_layer(layer)
    return [CHUNKS_KEY not in doc.spans] * len(doc)


def _check_layer(layer: str) -> None:
    """RAISES (ValueError): E039 for a layer other than `tag`, `chunk` and `ner`."""
    if layer not in LAYERS:
        raise ValueError(Errors.E039.format(kind="annotation layer", value=layer, choices=", ".join(LAYERS)))


def doc_labels(doc: Doc, layer: str) -> List[str]:
    """The labels of one layer of a Doc, chunks and entities in IOB2; `_` where missing
    (see `missing_labels`), which the column readers read back as missing.

    doc (Doc): The Doc.
    layer (str): `tag`, `chunk` or `ner`.
    RETURNS (List[str]): One label per token.
    """
    missing = missing_labels(doc, layer)
    if layer == TAG:
        labels = [token.tag_ for token in doc]
    else:
        spans: Sequence[Span] = doc.ents if layer == NER else doc.spans.get(CHUNKS_KEY, [])
        chunks = [(span.start, span.end, span.label_) for span in spans]
        labels = chunks_to_tags(chunks, len(doc), WRITTEN_SCHEME)
    return [MISSING_MARK if gap else label for gap, label in zip(missing, labels)]


def annotated_layers(docs: Iterable[Doc]) -> List[str]:
    """The layers (`tag`, `chunk`, `ner`, in this order) that any of the Docs annotates."""
    found = set()
    for doc in docs:
        found.update(
            layer
            for layer, annotated in (
                (TAG, doc.has_annotation("TAG")),
                (CHUNK, CHUNKS_KEY in doc.spans),
                (NER, doc.has_annotation("ENT_IOB")),
            )
            if annotated
        )
    return [layer for layer in (TAG, CHUNK, NER) if layer in found]


def sentence_bounds(doc: Doc) -> List[Tuple[int, int]]:
    """The (start, end) tokens of each sentence of a Doc: its sentences when it has
    sentence starts (`doc.has_annotation("SENT_START")`, e.g. a DocBin of `spacy
    convert`, several sentences per Doc), else the whole Doc; none for an empty Doc."""
    if not len(doc):
        return []
    if doc.has_annotation("SENT_START"):
        return [(sent.start, sent.end) for sent in doc.sents]
    return [(0, len(doc))]


READ_BACK_RULES = (
    "words and labels that the column readers read back as written: no line break, no word "
    f"{DOCSTART!r} (a document separator), no column separator in a word (--sep tab keeps "
    "spaces), no ASCII whitespace at either end of one, and no whitespace in a label"
)


def _read_back_problem(row: Sequence[str], sep: str) -> Optional[str]:
    """How the column readers would read a written row other than as these fields (see
    `readers.split_fields`), or None if they read it back as written."""
    line = sep.join(row)
    if "\n" in line:
        return "it holds a line break, which splits the line"
    if any(label != "".join(label.split()) for label in row[1:]):
        return f"a label with whitespace ({[label for label in row[1:] if label != ''.join(label.split())]})"
    fields = split_fields(line)
    if fields[:1] == [DOCSTART]:
        return "it is read back as a document separator, not a word"
    if fields != list(row):
        return f"the line {line!r} is read back as the fields {fields}"
    return None


def docs_to_lines(
    docs: Iterable[Doc], layers: Sequence[str], *, sep: str = "\t", source: str = "Docs"
) -> Iterator[str]:
    """Write Docs in a column format: the word, then one column per layer; a blank line
    after each sentence (see `sentence_bounds`). Chunks and entities are written in
    IOB2, missing labels as `_` (see `doc_labels`). The lines read back (`convert`) as
    the Docs' words and labels; a Doc they would not is refused.

    docs (Iterable[Doc]): The Docs, e.g. from a DocBin.
    layers (Sequence[str]): The columns after the word, e.g. (`tag`, `chunk`, `ner`).
    sep (str): The column separator.
    source (str): Where the Docs come from (the DocBin's path), for messages.
    YIELDS (str): The lines, without line breaks.
    RAISES (ValueError): E039 for an unknown layer; E110, naming `source`, the Doc (its
        index) and the token, for a Doc whose lines would not read back as it is: a word
        the readers read otherwise (`READ_BACK_RULES`), a chunk or entity across a
        sentence boundary, overlapping chunks.
    """
    for layer in layers:
        _check_layer(layer)
    for i, doc in enumerate(docs):
        try:
            labels = [doc_labels(doc, layer) for layer in layers]
        except ValueError as error:  # overlapping chunks (E045)
            raise _refused(source, i, doc, str(error), "chunks and entities that do not overlap") from error
        if TAG in layers and MISSING_MARK in (tags := [token.tag_ for token in doc]):
            j = tags.index(MISSING_MARK)
            problem = f"token {j} ({doc[j].text!r}) has the tag {MISSING_MARK!r}, which reads back as a missing tag"
            raise _refused(source, i, doc, problem, f"tags other than {MISSING_MARK!r}")
        rows = list(zip([token.text for token in doc], *labels))
        for start, end in sentence_bounds(doc):
            for layer, label in zip(layers, rows[start][1:]):
                if layer != TAG and split_tag(label)[0] == "I":
                    problem = f"a {layer} chunk ({label}) crosses the sentence boundary before token {start} ({rows[start][0]!r})"
                    raise _refused(source, i, doc, problem, "chunks and entities inside a sentence (a blank line ends a chunk)")
            for j in range(start, end):
                problem = _read_back_problem(rows[j], sep)
                if problem is not None:
                    raise _refused(source, i, doc, f"token {j} ({rows[j][0]!r}): {problem}", READ_BACK_RULES)
                yield sep.join(rows[j])
            yield ""


def _refused(source: str, index: int, doc: Doc, problem: str, expected: str) -> ValueError:
    """E110 for the Doc at `index` of `source` (with its `sent_id`, if it has one)."""
    sent_id = doc.user_data.get("sent_id")
    where = f"{index}" + (f" ({sent_id})" if sent_id else "")
    return ValueError(Errors.E110.format(path=source, doc=where, problem=problem, expected=expected))
