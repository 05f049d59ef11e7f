"""Statistics of a converted corpus: sentences, tokens, documents and label counts."""

from collections import Counter
from typing import Any, Dict, Sequence

from spacy.tokens import Doc

from .docs import CHUNKS_KEY


def corpus_stats(docs: Sequence[Doc]) -> Dict[str, Any]:
    """Count what a list of Docs holds.

    docs (Sequence[Doc]): The Docs of one output file.
    RETURNS (Dict[str, Any]): `sentences`, `tokens`, `documents` (distinct doc ids),
        `missing_tags` (tokens without a tag, in Docs that have tags) and `labels`: per
        layer (`tag`, `chunk`, `ner`) the count of each tag, chunk type or entity type.
    """
    tags: Counter = Counter()
    chunks: Counter = Counter()
    ents: Counter = Counter()
    missing_tags = 0
    for doc in docs:
        if doc.has_annotation("TAG"):
            doc_tags = [token.tag_ for token in doc]
            tags.update(doc_tags)
            missing_tags += doc_tags.count("")
        if doc.has_annotation("ENT_IOB"):
            ents.update(ent.label_ for ent in doc.ents)
        if CHUNKS_KEY in doc.spans:
            chunks.update(span.label_ for span in doc.spans[CHUNKS_KEY])
    tags.pop("", None)
    labels = {"tag": tags, "chunk": chunks, "ner": ents}
    return {
        "sentences": len(docs),
        "tokens": sum(len(doc) for doc in docs),
        "documents": len({doc.user_data.get("doc_id") for doc in docs}),
        "missing_tags": missing_tags,
        "labels": {layer: dict(count.most_common()) for layer, count in labels.items() if count},
    }
