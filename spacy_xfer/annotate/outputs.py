"""What `annotate` writes per doc, in three formats, and the merge of shard files.

- `jsonl`: one JSON object per doc, in Prodigy's shape (beginning with a JSONL input
  record's other fields, `Item.fields`, e.g. its `meta` and ids): `text`; `tokens`, each
  `{text, start, end, id, ws}` plus one field per token head (`tag`, `pos` or the
  extension's name) and `NAME_confidence` for a head with confidence on (null where
  the doc's own annotation was kept, `overwrite` off); `spans` (the entities) and
  `span_groups` ({KEY: spans}), each span `{start, end, token_start, token_end,
  label}` (token_end inclusive, character offsets) plus `score` with confidence on
  (none for a kept span); with n-best, `nbest` ({head name: [{labels, log_prob}]},
  the CRF's labels, best first).
- `conll`: one token per line, tab-separated: the token, then per head its label
  (span heads in IOB2) and with confidence on its token confidence (6 decimals, `_`
  for none); a blank line after each doc, so an empty doc is a blank line of its own
  (the Nth blank line ends the Nth doc). Whitespace in a token's text (spaCy's whitespace
  tokens, e.g. a double space) is escaped as UDPipe escapes spaces in CoNLL-U (`\\s`,
  `\\t`, `\\n`, `\\r`, other whitespace `\\uXXXX`) and a backslash is `\\\\`, so every
  line has its columns.
- `docbin`: a `.spacy` file of the annotated docs, with their user data (which holds
  the `Token._` confidences).
"""

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from ..corpora.io import atomic_file
from ..docbin import msgpack_decoders_resolved_once
from ..errors import Errors
from ..pipeline.targets import EntsTarget, SpanTarget, Target
from ..pipeline.xfer_tagger import NBest, XferTagger
from ..tags import chunks_to_tags

OUTPUT_SUFFIXES = {"jsonl": ".jsonl", "conll": ".conll", "docbin": ".spacy"}
NBestOf = Dict[str, List[NBest]]  # head name -> one NBest per doc


def xfer_heads(nlp: Language) -> List[XferTagger]:
    """The pipeline's `xfer_tagger` heads, in pipeline order.

    RAISES (ValueError): when it has none.
    """
    heads = [pipe for _, pipe in nlp.pipeline if isinstance(pipe, XferTagger)]
    if not heads:
        raise ValueError(Errors.E047.format(pipes=", ".join(nlp.pipe_names) or "no components", problem="it has none"))
    return heads


def token_field(output: Target) -> str:
    """The JSONL token field of a token head's output: tag, pos or the extension."""
    return output.standard_attr or output.attr  # type: ignore[attr-defined, return-value]


def span_scores(head: XferTagger, doc: Doc) -> Dict[Tuple[int, int, str], float]:
    """The scores of a span head's predicted spans (confidence on) by (start, end,
    label); spans it did not predict (kept, `overwrite` off: their score is NaN, or a
    primary `ents` head's kept entities, which its score group leaves out) have none."""
    key = head.output.key if hasattr(head.output, "key") else head.name
    if not head.confidence or key not in doc.spans:
        return {}
    group = doc.spans[key]
    scores = group.attrs.get("scores", [])
    return {(s.start, s.end, s.label_): float(x) for s, x in zip(group, scores) if not math.isnan(x)}


def token_confidences(head: XferTagger, doc: Doc) -> List[Optional[float]]:
    """Each token's confidence, None where it has none: a head with a task left a doc
    of another task unannotated, or the token's annotation was kept (NaN)."""
    values = [t._.get(head.confidence_attr) for t in doc]
    return [None if value is None or math.isnan(value) else value for value in values]


def token_records(doc: Doc) -> List[Dict[str, Any]]:
    """Prodigy's token objects of a doc: text, character start and end, id, ws."""
    return [{"text": t.text, "start": t.idx, "end": t.idx + len(t.text), "id": t.i, "ws": bool(t.whitespace_)} for t in doc]


def span_record(span: Span, score: Optional[float]) -> Dict[str, Any]:
    record = {
        "start": span.start_char,
        "end": span.end_char,
        "token_start": span.start,
        "token_end": span.end - 1,
        "label": span.label_,
    }
    if score is not None:
        record["score"] = score
    return record


def doc_record(
    doc: Doc, heads: Sequence[XferTagger], nbest: Optional[List[NBest]] = None, fields: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The JSONL object of an annotated doc (module docstring); `nbest` per head;
    `fields`, the input record's other fields, come first."""
    tokens = token_records(doc)
    record: Dict[str, Any] = {**(fields or {}), "text": doc.text, "tokens": tokens}
    for head in heads:
        output = head.output
        if isinstance(output, SpanTarget):
            scores = span_scores(head, doc)
            records = [span_record(span, scores.get((span.start, span.end, span.label_))) for span in output.get_spans(doc)]
            if isinstance(output, EntsTarget):
                record["spans"] = records
            else:
                record.setdefault("span_groups", {})[output.key] = records  # type: ignore[attr-defined]
        else:
            for token, label in zip(tokens, output.read(doc)):
                token[token_field(output)] = label
        if head.confidence:
            for token, confidence in zip(tokens, token_confidences(head, doc)):
                token[head.confidence_attr] = confidence
    if nbest is not None:
        record["nbest"] = {
            head.name: [{"labels": labels, "log_prob": p} for labels, p in zip(best.labels, best.log_probs)]
            for head, best in zip(heads, nbest)
        }
    return record


CONLL_ESCAPES = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def conll_form(text: str) -> str:
    """A token's text as one field of a CoNLL line: whitespace and the backslash
    escaped (module docstring), other characters as they are."""
    if not any(char.isspace() or char == "\\" for char in text):
        return text
    return "".join(
        CONLL_ESCAPES.get(char) or (f"\\u{ord(char):04x}" if char.isspace() else char) for char in text
    )


def conll_lines(doc: Doc, heads: Sequence[XferTagger]) -> List[str]:
    columns: List[List[Any]] = [[conll_form(t.text) for t in doc]]
    for head in heads:
        output = head.output
        if isinstance(output, SpanTarget):
            chunks = [(s.start, s.end, s.label_) for s in output.get_spans(doc)]
            columns.append(chunks_to_tags(chunks, len(doc), "IOB2"))
        else:
            columns.append(["_" if label is None else label for label in output.read(doc)])
        if head.confidence:
            columns.append(["_" if value is None else f"{value:.6f}" for value in token_confidences(head, doc)])
    return ["\t".join(row) for row in zip(*columns)] + [""]


def render_text(
    docs: Sequence[Doc],
    heads: Sequence[XferTagger],
    output_format: str,
    nbest: Optional[NBestOf] = None,
    fields: Optional[Sequence[Optional[Dict[str, Any]]]] = None,
) -> bytes:
    """The bytes of annotated docs in the `jsonl` or `conll` format.

    nbest (Optional[NBestOf]): per head name, one NBest per doc (JSONL only).
    fields (Optional[Sequence[Optional[Dict[str, Any]]]]): per doc, the input record's
        other fields (`Item.fields`; JSONL only).
    """
    lines: List[str] = []
    for i, doc in enumerate(docs):
        if output_format == "jsonl":
            per_head = [nbest[head.name][i] for head in heads] if nbest else None
            record = doc_record(doc, heads, per_head, fields[i] if fields else None)
            lines.append(json.dumps(record, ensure_ascii=False))
        else:
            lines.extend(conll_lines(doc, heads))
    return "".join(line + "\n" for line in lines).encode("utf8")


def merge_files(parts: Sequence[Path], output: Path, output_format: str) -> None:
    """Concatenate shard files in order into `output`, atomically (a temp file in the
    same folder and a rename); DocBins are merged as DocBins."""
    with atomic_file(output) as out:
        if output_format == "docbin":
            merged = DocBin(store_user_data=True)
            with msgpack_decoders_resolved_once():
                for part in parts:
                    merged.merge(DocBin(store_user_data=True).from_disk(part))
            out.write(merged.to_bytes())
        else:
            for part in parts:
                with part.open("rb") as file:
                    while chunk := file.read(1 << 20):
                        out.write(chunk)

