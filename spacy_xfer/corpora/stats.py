"""Statistics of a converted corpus: sentences, tokens, documents and label counts."""

from collections import Counter
from typing import Any, Dict, Optional, Sequence

from spacy.tokens import Doc

from .docs import CHUNKS_KEY, annotated_layers, missing_labels
from .readers import CHUNK, NER, TAG


def corpus_stats(docs: Sequence[Doc], layers: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Count what a list of Docs holds.

    docs (Sequence[Doc]): The Docs of one output file.
    layers (Optional[Sequence[str]]): The layers the input was read with (`tag`, `chunk`,
        `ner`), e.g. `annotated_layers` of every Doc read before a sample or split; None:
        the layers annotated in `docs`.
    RETURNS (Dict[str, Any]): `sentences`, `tokens`, `documents` (distinct doc ids),
        `layers`, `missing_tags`, `missing_chunks` and `missing_ner` (tokens without a
        tag, a chunk label or an entity annotation, `_` in a column file, in every Doc,
        when the input has that layer; see `missing_labels`) and `labels`: per layer the
        count of each tag, chunk type or entity type.
    """
    layers = list(annotated_layers(docs) if layers is None else layers)
    tags: Counter = Counter()
    chunks: Counter = Counter()
    ents: Counter = Counter()
    missing: Counter = Counter()
    for doc in docs:
        if TAG in layers:
            tags.update(token.tag_ for token in doc if token.tag_)
        if doc.has_annotation("ENT_IOB"):
            ents.update(ent.label_ for ent in doc.ents)
        if CHUNKS_KEY in doc.spans:
            chunks.update(span.label_ for span in doc.spans[CHUNKS_KEY])
        missing.update({layer: sum(missing_labels(doc, layer)) for layer in layers})
    labels = {"tag": tags, "chunk": chunks, "ner": ents}
    return {
        "sentences": len(docs),
        "tokens": sum(len(doc) for doc in docs),
        "documents": len({doc.user_data.get("doc_id") for doc in docs}),
        "layers": layers,
        "missing_tags": missing[TAG],
        "missing_chunks": missing[CHUNK],
        "missing_ner": missing[NER],
        "labels": {layer: dict(count.most_common()) for layer, count in labels.items() if count},
    }
