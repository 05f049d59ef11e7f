"""Where an `xfer_tagger` head reads its gold labels and writes its predictions.

| target      | gold and predictions      | labels the CRF sees     | score keys              | spaCy's keys (primary)   |
| ----------- | ------------------------- | ----------------------- | ----------------------- | ------------------------ |
| `tag`       | `Token.tag_`              | the tags                | `{name}_acc`            | `tag_acc`                |
| `pos`       | `Token.pos_`              | Universal POS tags      | `{name}_acc`            | `pos_acc`                |
| `ext:NAME`  | `Token._.NAME`            | the values (strings)    | `{name}_acc`            | none                     |
| `ents`      | `Doc.ents`                | BILUO tags of the types | `{name}_p/r/f/per_type` | `ents_p/r/f/per_type`    |
| `spans:KEY` | `Doc.spans[KEY]`          | BILUO tags of the types | `{name}_p/r/f/per_type` | `spans_KEY_p/r/f/per_type` |

A gold label is a string or None (missing); a doc without this target's annotation
gives None for the whole doc.

Whitespace-only tokens (`Token.is_space`, e.g. the " " of `["Ann", " ", "sings"]`)
follow spaCy's convention for spans: no span starts or ends on one. Gold spans are
trimmed of leading and trailing whitespace tokens (a span of whitespace only is
dropped) in training and scoring alike, and predicted spans are trimmed the same way
when written, so a whitespace token is only ever inside a span or outside all spans.
Token targets tag a whitespace token like any other token and score it like any other
token, on both the gold and the predicted side (spaCy's `Scorer.score_token_attr`
skips whitespace tokens on the predicted side only, which is why the token accuracy
below is counted here).
"""

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy
from spacy.attrs import ENT_IOB, IS_SPACE, ORTH, POS, TAG
from spacy.parts_of_speech import IDS as UPOS_IDS
from spacy.scorer import PRFScore, Scorer
from spacy.tokens import Doc, Span, Token
from spacy.training import Example, offsets_to_biluo_tags

from ..errors import Errors
from ..tags import OUTSIDE, Chunk, chunks_from_biluo, chunks_to_tags, split_tag

Gold = Optional[List[Optional[str]]]
MISSING_VALUES = {None, ""}


class Target:
    """Reads gold labels from Examples, writes predicted labels to Docs, scores."""

    spans = False
    # the attribute of spaCy's standard score keys (`tag` -> `tag_acc`), if any
    standard_attr: Optional[str] = None

    def __init__(self, name: str, label_map: Mapping[str, str]) -> None:
        self.name = name
        self.label_map = dict(label_map)

    def map_label(self, label: Optional[str]) -> Optional[str]:
        if label in MISSING_VALUES:
            return None
        return self.label_map.get(label, label)  # type: ignore[arg-type]

    def gold(self, eg: Example) -> Gold:
        raise NotImplementedError

    def write(self, doc: Doc, labels: Sequence[str]) -> None:
        raise NotImplementedError

    def read(self, doc: Doc) -> List[Optional[str]]:
        """The labels `write` would have written to give the doc's annotation (None
        where a token target has no value)."""
        raise NotImplementedError

    def has_annotation(self, doc: Doc) -> bool:
        raise NotImplementedError

    def label_tokens(self, doc: Doc) -> Iterable[str]:
        """The label data (see `label_data`) of each labelled token of the doc's
        annotation, after the label map: a token target's labels; a span's type once per
        token of the span (overlapping spans too)."""
        raise NotImplementedError

    def score_keys(self, attr: str) -> List[str]:
        """The keys `score(examples, attr)` returns."""
        raise NotImplementedError

    def crf_labels(self, label_data: Sequence[str]) -> List[str]:
        """The CRF's label set for the component's label data."""
        return sorted(label_data)

    def label_data(self, gold_labels: Iterable[str]) -> List[str]:
        """The component's label data from the gold labels seen in training."""
        return sorted(set(gold_labels))

    def score(self, examples: Iterable[Example], attr: str) -> Dict[str, Any]:
        """Scores under keys `{attr}_...` (see `score_keys`)."""
        raise NotImplementedError

    def counts(self, eg: Example) -> PRFScore:
        """What one example adds to `score`'s micro-averaged counts (true positives,
        false positives, false negatives): summed over examples, their F-score is the
        score's accuracy or F1. For a paired bootstrap over docs
        (`experiments.compare`), which needs each doc's counts."""
        raise NotImplementedError


def _same_tokens(eg: Example) -> bool:
    x, y = eg.x, eg.y
    return len(x) == len(y) and bool((x.to_array(ORTH) == y.to_array(ORTH)).all())


class TokenTarget(Target):
    """A per-token string attribute: gold aligned to the predicted tokens."""

    # the spaCy attribute ID whose `Doc.to_array` column holds the values' string IDs,
    # if there is one: `read` then makes no Token object per word
    array_attr: Optional[int] = None

    def value(self, token: Token) -> Optional[str]:
        raise NotImplementedError

    def read(self, doc: Doc) -> List[Optional[str]]:
        if self.array_attr is None:
            return [self.value(token) for token in doc]
        strings = doc.vocab.strings
        return [strings[key] for key in doc.to_array(self.array_attr).tolist()]

    def mapped(self, doc: Doc) -> List[Optional[str]]:
        """The doc's labels through the label map (None where missing), per token."""
        return [self.map_label(value) for value in self.read(doc)]

    def label_tokens(self, doc: Doc) -> Iterable[str]:
        return [label for label in self.mapped(doc) if label is not None]

    def gold(self, eg: Example) -> Gold:
        if not self.has_annotation(eg.y):
            return None
        values = self.mapped(eg.y)
        if _same_tokens(eg):
            return values
        aligned: List[Optional[str]] = [None] * len(eg.x)
        x2y = eg.alignment.x2y
        for i in range(len(eg.x)):
            targets = set(values[j] for j in x2y[i])
            if len(targets) == 1:
                aligned[i] = targets.pop()
        return aligned

    def score_keys(self, attr: str) -> List[str]:
        return [f"{attr}_acc"]

    def score(self, examples: Iterable[Example], attr: str) -> Dict[str, Any]:
        """Accuracy over the gold tokens with a value: a predicted token counts when it
        aligns one-to-one with such a gold token. This is `Scorer.score_token_attr`
        except that whitespace tokens count on both sides (spaCy drops them from the
        predictions only, so a doc with one scores below 1 even when all is right)."""
        score = PRFScore()
        for eg in examples:
            score += self.counts(eg)
        return {f"{attr}_acc": score.fscore if len(score) else None}

    def counts(self, eg: Example) -> PRFScore:
        """tp: the gold tokens with a value predicted right; fp and fn: the others."""
        score = PRFScore()
        gold_labels = self.mapped(eg.y)
        if _same_tokens(eg):
            # the usual case (`nlp.evaluate` tokenizes as the reference): token i
            # against token i, counted as the alignment below would count it
            pairs = [(label, guess) for label, guess in zip(gold_labels, self.read(eg.x)) if label is not None]
            right = sum(label == guess for label, guess in pairs)
            score.tp += right
            score.fp += len(pairs) - right
            score.fn += len(pairs) - right
            return score
        gold = {(i, label) for i, label in enumerate(gold_labels) if label is not None}
        known = {i for i, _ in gold}
        x2y = eg.alignment.x2y
        predicted = set()
        for token in eg.x:
            if x2y.lengths[token.i] == 1 and x2y[token.i][0] in known:
                predicted.add((int(x2y[token.i][0]), self.value(token)))
        score.score_set(predicted, gold)
        return score


class TagTarget(TokenTarget):
    standard_attr = "tag"
    array_attr = TAG

    def value(self, token: Token) -> Optional[str]:
        return token.tag_

    def has_annotation(self, doc: Doc) -> bool:
        return doc.has_annotation("TAG")

    def write(self, doc: Doc, labels: Sequence[str]) -> None:
        for token, label in zip(doc, labels):
            token.tag_ = label


class PosTarget(TokenTarget):
    standard_attr = "pos"
    array_attr = POS

    def value(self, token: Token) -> Optional[str]:
        return token.pos_

    def has_annotation(self, doc: Doc) -> bool:
        return doc.has_annotation("POS")

    def label_data(self, gold_labels: Iterable[str]) -> List[str]:
        labels = super().label_data(gold_labels)
        for label in labels:
            if label not in UPOS_IDS:
                raise ValueError(Errors.E007.format(name=self.name, label=label))
        return labels

    def write(self, doc: Doc, labels: Sequence[str]) -> None:
        for token, label in zip(doc, labels):
            token.pos_ = label


class ExtensionTarget(TokenTarget):
    """A Token extension `Token._.NAME`, registered (default None) if needed."""

    def __init__(self, name: str, label_map: Mapping[str, str], attr: str) -> None:
        super().__init__(name, label_map)
        self.attr = attr
        if not Token.has_extension(attr):
            Token.set_extension(attr, default=None)

    def value(self, token: Token) -> Optional[str]:
        return token._.get(self.attr)

    def has_annotation(self, doc: Doc) -> bool:
        return any(self.value(token) not in MISSING_VALUES for token in doc)

    def write(self, doc: Doc, labels: Sequence[str]) -> None:
        for token, label in zip(doc, labels):
            token._.set(self.attr, label)


class SpanTarget(Target):
    """Non-overlapping labelled spans, tagged as BILUO for the CRF."""

    spans = True

    def get_spans(self, doc: Doc) -> Iterable[Span]:
        raise NotImplementedError

    def set_spans(self, doc: Doc, spans: List[Span]) -> None:
        raise NotImplementedError

    def gold(self, eg: Example) -> Gold:
        if not self.has_annotation(eg.y):
            return None
        return trim_whitespace_tags(eg.x, [self._map_tag(tag) for tag in self.biluo(eg)])

    def biluo(self, eg: Example) -> List[Optional[str]]:
        spans = eg.get_aligned_spans_y2x(list(self.get_spans(eg.y)), allow_overlap=True)
        offsets = [(span.start_char, span.end_char, span.label_) for span in spans]
        try:
            return offsets_to_biluo_tags(eg.x, offsets, missing=OUTSIDE)
        except ValueError as err:
            raise ValueError(self.overlap_error(eg.y, err)) from err

    def overlap_error(self, doc: Doc, err: Exception) -> str:
        raise NotImplementedError

    def label_tokens(self, doc: Doc) -> Iterable[str]:
        return [self.label_map.get(span.label_, span.label_) for span in self.get_spans(doc) for _ in span]

    def _map_tag(self, tag: Optional[str]) -> Optional[str]:
        if tag in MISSING_VALUES or tag == "-":
            return None
        prefix, kind = split_tag(tag)  # type: ignore[arg-type]
        if prefix == OUTSIDE:
            return OUTSIDE
        return f"{prefix}-{self.map_label(kind)}"

    def crf_labels(self, label_data: Sequence[str]) -> List[str]:
        return [OUTSIDE] + [f"{p}-{kind}" for kind in sorted(label_data) for p in "BILU"]

    def label_data(self, gold_labels: Iterable[str]) -> List[str]:
        return sorted({split_tag(tag)[1] for tag in gold_labels} - {""})

    def write(self, doc: Doc, labels: Sequence[str]) -> None:
        """Write the chunks of BILUO labels, trimmed of whitespace tokens."""
        self.set_spans(doc, [span for _, span in self.spans_of_labels(doc, labels)])

    def spans_of_labels(self, doc: Doc, labels: Sequence[str]) -> List[Tuple[Chunk, Span]]:
        """The spans `write` writes for BILUO labels, each with the chunk of the labels
        it comes from (the span is the chunk trimmed of whitespace tokens; a chunk of
        whitespace only gives no span)."""
        pairs = []
        for chunk in chunks_from_biluo(labels):
            start, end = _trim(doc, chunk[0], chunk[1])
            if start < end:
                pairs.append((chunk, Span(doc, start, end, label=chunk[2])))
        return pairs

    def read(self, doc: Doc) -> List[Optional[str]]:
        chunks = [(span.start, span.end, span.label_) for span in self.get_spans(doc)]
        return chunks_to_tags(chunks, len(doc), "BILUO")

    def _mapped_spans(self, doc: Doc, attr: str) -> List[Span]:
        chunks = [(span.start, span.end, self.map_label(span.label_) or span.label_) for span in self.get_spans(doc)]
        return [Span(doc, start, end, label=kind) for start, end, kind in trim_whitespace_chunks(doc, chunks)]

    def score_keys(self, attr: str) -> List[str]:
        return [f"{attr}_{key}" for key in ("p", "r", "f", "per_type")]

    def score(self, examples: Iterable[Example], attr: str) -> Dict[str, Any]:
        """spaCy's `Scorer.score_spans` on the spans (gold labels mapped), trimmed of
        whitespace tokens on both sides."""
        return Scorer.score_spans(
            examples,
            attr,
            getter=self._mapped_spans,
            has_annotation=self.has_annotation,
            labeled=True,
            allow_overlap=False,
        )

    def counts(self, eg: Example) -> PRFScore:
        """The labelled spans of the example as `Scorer.score_spans` counts them for
        `score` (predicted spans aligned to the reference's tokens; nothing for a
        reference without annotation)."""
        score = PRFScore()
        if not self.has_annotation(eg.y):
            return score
        gold = {(span.label_, span.start, span.end - 1) for span in self._mapped_spans(eg.y, "")}
        predicted = set()
        if self.has_annotation(eg.x):
            aligned = eg.get_aligned_spans_x2y(self._mapped_spans(eg.x, ""), False)
            predicted = {(span.label_, span.start, span.end - 1) for span in aligned}
        score.score_set(predicted, gold)
        return score


class EntsTarget(SpanTarget):
    standard_attr = "ents"

    def get_spans(self, doc: Doc) -> Iterable[Span]:
        return doc.ents

    def has_annotation(self, doc: Doc) -> bool:
        return doc.has_annotation("ENT_IOB")

    def gold(self, eg: Example) -> Gold:
        if not self.has_annotation(eg.y):
            return None
        tags = reference_ner(eg.y) if _same_tokens(eg) else eg.get_aligned_ner()
        return trim_whitespace_tags(eg.x, [self._map_tag(tag) for tag in tags])

    def set_spans(self, doc: Doc, spans: List[Span]) -> None:
        doc.set_ents(spans, default="outside")


class SpanGroupTarget(SpanTarget):
    """`Doc.spans[key]`: a doc without the key has no annotation."""

    def __init__(self, name: str, label_map: Mapping[str, str], key: str) -> None:
        super().__init__(name, label_map)
        self.key = key
        self.standard_attr = f"spans_{key}"

    def get_spans(self, doc: Doc) -> Iterable[Span]:
        return doc.spans[self.key] if self.key in doc.spans else []

    def has_annotation(self, doc: Doc) -> bool:
        return self.key in doc.spans

    def overlap_error(self, doc: Doc, err: Exception) -> str:
        return Errors.E009.format(name=self.name, key=self.key, doc=doc.text[:80], error=err)

    def set_spans(self, doc: Doc, spans: List[Span]) -> None:
        doc.spans[self.key] = spans


def gold_targets(docs: Iterable[Doc]) -> List[str]:
    """The head targets ("tag", "pos", "ents", "spans:KEY") the reference docs carry
    gold for, by each target's `has_annotation`, for messages about a head that finds
    none of its own."""
    docs = list(docs)
    span_keys = {key for doc in docs for key, group in doc.spans.items() if key and len(group)}
    targets = [make_target(name, name, {}) for name in ["tag", "pos", "ents", *(f"spans:{key}" for key in span_keys)]]
    return sorted(target.name for target in targets if any(target.has_annotation(doc) for doc in docs))


def make_target(target: str, name: str, label_map: Mapping[str, str]) -> Target:
    """Parse a `target` setting: tag, pos, ents, spans:KEY or ext:NAME."""
    kind, _, arg = target.partition(":")
    makers: Dict[str, Callable[[], Target]] = {
        "tag": lambda: TagTarget(name, label_map),
        "pos": lambda: PosTarget(name, label_map),
        "ents": lambda: EntsTarget(name, label_map),
    }
    if kind in makers and not arg:
        return makers[kind]()
    if kind == "spans" and arg:
        return SpanGroupTarget(name, label_map, arg)
    if kind == "ext" and arg:
        return ExtensionTarget(name, label_map, arg)
    raise ValueError(Errors.E003.format(target=target, name=name))


def own_output(target: Target, name: str) -> Target:
    """Where a head that is not its target's primary writer puts its predictions:
    `Doc.spans[NAME]` for span targets, `Token._.NAME` for token targets (NAME: the
    component's name)."""
    if target.spans:
        return SpanGroupTarget(name, {}, name)
    return ExtensionTarget(name, {}, name)


def _trim(doc: Doc, start: int, end: int) -> Tuple[int, int]:
    while start < end and doc[start].is_space:
        start += 1
    while end > start and doc[end - 1].is_space:
        end -= 1
    return start, end


def trim_whitespace_chunks(doc: Doc, chunks: Iterable[Chunk]) -> List[Chunk]:
    """The chunks without leading or trailing whitespace tokens; whitespace-only
    chunks are dropped."""
    trimmed = (_trim(doc, start, end) + (kind,) for start, end, kind in chunks)
    return [chunk for chunk in trimmed if chunk[0] < chunk[1]]


def reference_ner(doc: Doc) -> List[Optional[str]]:
    """spaCy's `Example.get_aligned_ner` for an example whose predicted tokens are the
    reference `doc`'s, read from its entities without the alignment and character offsets:
    an entity's tokens in BILUO, the other tokens annotated outside and whitespace
    tokens `O`, the rest None (missing); all None without entity annotation."""
    if not doc.has_annotation("ENT_IOB"):
        return [None] * len(doc)
    codes = doc.to_array([ENT_IOB, IS_SPACE]).reshape(-1, 2).tolist()
    tags: List[Optional[str]] = [OUTSIDE if iob == 2 or space else None for iob, space in codes]
    for ent in doc.ents:
        tags[ent.start:ent.end] = chunks_to_tags([(0, len(ent), ent.label_)], len(ent), "BILUO")
    return tags


def trim_whitespace_tags(doc: Doc, tags: List[Optional[str]]) -> List[Optional[str]]:
    """BILUO gold tags (None: missing) whose chunks are trimmed of whitespace tokens;
    a whitespace token cut from a chunk becomes `O`."""
    if not doc.to_array(IS_SPACE).any():  # one call, not a Python loop over the tokens
        return tags
    tags = list(tags)
    for start, end, kind in chunks_from_biluo([OUTSIDE if tag is None else tag for tag in tags]):
        new_start, new_end = _trim(doc, start, end)
        if (new_start, new_end) == (start, end):
            continue
        tags[start:end] = [OUTSIDE] * (end - start)
        if new_start < new_end:
            tags[new_start:new_end] = chunks_to_tags([(0, new_end - new_start, kind)], new_end - new_start, "BILUO")
    return tags


def labels_to_ids(labels: Sequence[Optional[str]], index: Mapping[str, int]) -> numpy.ndarray:
    """Label strings -> ids, -1 for None; raises KeyError for an unknown label."""
    return numpy.array([-1 if label is None else index[label] for label in labels], dtype="int64")
