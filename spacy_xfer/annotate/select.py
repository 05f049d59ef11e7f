"""`select`: rank unlabelled sentences for annotation by the model's uncertainty and
write the chosen ones, with the model's prediction, as JSONL that annotation tools
such as Prodigy take.

Strategies (each sentence's `meta.score`; the most informative come first):

- `least_confidence`: 1 - p(best sequence); highest first.
- `margin`: p(best) - p(second best sequence) (p(best) when only one sequence is
  allowed); smallest first.
- `entropy`: the sequence entropy of the CRF's distribution (nats, exact); highest first.
- `random`: a uniform draw per sentence, the control.

The probabilities are the CRF's over whole label sequences (k-best Viterbi and the
forward algorithm, under the tag scheme's constraints). Ties are broken by a seeded
random order, so the selection is deterministic for a seed. Batch diversity: going down
the ranking, a sentence is skipped when the Jaccard similarity of its token set
(lower-cased) with an already selected sentence exceeds `diversity` (1 keeps all).
Empty or whitespace-only sentences are never selected.
"""

import json
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch
from tqdm import tqdm

from ..corpora.io import write_atomic
from ..errors import Errors
from ..pipeline.targets import SpanTarget
from ..pipeline.xfer_tagger import NBest, XferTagger
from .inputs import Item, check_output_apart, input_files, read_items
from .outputs import span_record, token_records, xfer_heads
from .run import load_pipeline

STRATEGIES = ("least_confidence", "margin", "entropy", "random")


class Candidate(NamedTuple):
    rank_key: float  # lower is more informative
    tiebreak: float
    score: float  # what meta.score reports
    item: Item
    token_set: FrozenSet[str]
    position: int  # of the item in the input stream, from 0


def choose_head(nlp: Language, component: Optional[str]) -> XferTagger:
    """The xfer_tagger whose uncertainty ranks: `component`, else the only one, else
    the only primary one (the target head of a T-B or T-C pipeline, whose source head
    is not primary).

    RAISES (ValueError): for an unknown component or an ambiguous choice.
    """
    heads = xfer_heads(nlp)
    names = ", ".join(head.name for head in heads)
    if component is None:
        primary = [head for head in heads if head.cfg["primary"]]
        candidates = heads if len(heads) == 1 else primary
        if len(candidates) == 1:
            return candidates[0]
        problem = f"it has several ({names}), {len(primary)} of them primary: choose one with --component"
        raise ValueError(Errors.E047.format(pipes=", ".join(nlp.pipe_names), problem=problem))
    for head in heads:
        if head.name == component:
            return head
    problem = f"none is named {component!r}: expected one of {names}"
    raise ValueError(Errors.E047.format(pipes=", ".join(nlp.pipe_names), problem=problem))


def encoded(nlp: Language, docs: List[Doc]) -> List[Doc]:
    """The docs through every component of `nlp` but its xfer_tagger heads: with the
    output of the shared encoder a head may listen to, which `XferTagger.nbest` reads
    (E090 without it)."""
    return list(nlp.pipe(docs, disable=[head.name for head in xfer_heads(nlp)]))


def uncertainty(strategy: str, best: NBest) -> float:
    """The strategy's score of a sentence from its n-best (module docstring)."""
    p_best = float(numpy.exp(best.log_probs[0]))
    if strategy == "least_confidence":
        return 1.0 - p_best
    if strategy == "margin":
        return p_best - (float(numpy.exp(best.log_probs[1])) if len(best.log_probs) > 1 else 0.0)
    assert strategy == "entropy" and best.entropy is not None
    return best.entropy


def jaccard(a: FrozenSet[str], b: FrozenSet[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def select(
    model: str,
    input_path: Path,
    output: Path,
    *,
    n: int = 100,
    strategy: str = "least_confidence",
    diversity: float = 0.8,
    seed: int = 0,
    input_format: str = "jsonl",
    batch_size: int = 64,
    component: Optional[str] = None,
    progress: bool = True,
) -> List[Dict[str, Any]]:
    """Rank the sentences of INPUT and write the `n` chosen ones to OUTPUT (JSONL,
    atomically): `text`, `tokens` [{text, start, end, id, ws}], `spans` [{start, end,
    token_start, token_end, label}] of the model's prediction (for a token target, one
    span per token labelled with its tag, as Prodigy's tagging recipes show them) and
    `meta` {score, strategy, source}, source the input file and line (`path:line`, or
    `path:doc N` in a DocBin) the sentence was read from. A JSONL input record's other
    fields are kept (`Item.fields`), its `meta` extended with those three.

    RETURNS (List[Dict[str, Any]]): the records written, in selection order.
    RAISES (ValueError, OSError): bad settings, model or input (naming file and line).
    """
    check_settings(n, strategy, diversity, batch_size)
    if output.is_dir():
        raise ValueError(Errors.E081.format(path=output, expected="a file path for the chosen sentences (JSONL)"))
    files = input_files(input_path)
    check_output_apart([output], input_path, files, str(model))
    nlp = load_pipeline(str(model), False)
    head = choose_head(nlp, component)
    items = read_items(files, input_format)
    chosen = rank(nlp, head, items, n=n, strategy=strategy, diversity=diversity, seed=seed, batch_size=batch_size, progress=progress)
    records = _records(nlp, head, chosen, strategy, batch_size)
    write_atomic(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf8"))
    return records


RANDOM_STREAM = 1  # the random strategy's scores: a stream apart from the tie-breaks


def check_settings(n: int, strategy: str, diversity: float, batch_size: int = 1) -> None:
    """RAISES (ValueError): for an unknown strategy, `n` or `batch_size` < 1 or
    `diversity` outside (0, 1]."""
    if strategy not in STRATEGIES:
        raise ValueError(Errors.E039.format(kind="strategy", value=strategy, choices=", ".join(STRATEGIES)))
    for name, value in (("n", n), ("batch-size", batch_size)):
        if value < 1:
            raise ValueError(Errors.E038.format(setting=f"--{name}", value=value, expected="at least 1"))
    if not 0.0 < diversity <= 1.0:
        expected = "a number in (0, 1] (1: no diversity filter)"
        raise ValueError(Errors.E038.format(setting="--diversity", value=diversity, expected=expected))


def rank(
    nlp: Language,
    head: XferTagger,
    items: Iterable[Item],
    *,
    n: int,
    strategy: str,
    diversity: float,
    seed: int,
    batch_size: int = 64,
    progress: bool = False,
) -> List[Candidate]:
    """The `n` most informative items by the strategy (module docstring), in selection
    order; fewer when fewer items with words pass the diversity filter.

    nlp (Language): the pipeline of `head`, which makes the docs.
    head (XferTagger): the head whose uncertainty ranks.
    items (Iterable[Item]): the candidates, streamed; `Candidate.position` is an item's
        index in this stream.
    seed (int): seed of tie-breaking and of the random strategy; each draws from a
        stream of its own, one number per item, so the choice does not depend on
        `batch_size`.
    RAISES (ValueError): as `check_settings`, and for an item spaCy cannot make a doc of.
    """
    check_settings(n, strategy, diversity, batch_size)
    tiebreak_rng = numpy.random.default_rng(seed)
    random_rng = numpy.random.default_rng([seed, RANDOM_STREAM])
    candidates: List[Candidate] = []
    position = 0
    for batch in tqdm(minibatch(items, batch_size), unit="batch", desc="select", disable=None if progress else True):  # None: on a terminal only
        docs = [item.make_doc(nlp) for item in batch]
        if strategy == "random":
            scores = random_rng.random(len(docs)).tolist()
            keys = scores
        else:
            k = 2 if strategy == "margin" else 1
            bests = head.nbest(encoded(nlp, docs), k, entropy=strategy == "entropy")
            scores = [uncertainty(strategy, best) for best in bests]
            keys = scores if strategy == "margin" else [-score for score in scores]
        tiebreaks = tiebreak_rng.random(len(docs)).tolist()
        for doc, item, score, key, tiebreak in zip(docs, batch, scores, keys, tiebreaks):
            _check_meta(item)
            if not all(token.is_space for token in doc):  # not empty, not only whitespace
                token_set = frozenset(token.lower_ for token in doc)
                candidates.append(Candidate(key, tiebreak, score, item, token_set, position))
            position += 1
    candidates.sort(key=lambda c: (c.rank_key, c.tiebreak))
    chosen: List[Candidate] = []
    for candidate in candidates:
        if len(chosen) == n:
            break
        if all(jaccard(candidate.token_set, other.token_set) <= diversity for other in chosen):
            chosen.append(candidate)
    return chosen


def _check_meta(item: Item) -> None:
    """RAISES (ValueError): E048 naming the file and line, for a JSONL `meta` that is
    not an object, which the output's `meta` (score, strategy, source) cannot extend."""
    meta = (item.fields or {}).get("meta")
    if meta is not None and not isinstance(meta, dict):
        problem = f'"meta" {str(meta)[:60]!r}, which is not an object'
        raise ValueError(Errors.E048.format(source=item.source, problem=problem, expected='"meta" a JSON object (or null)'))


def _records(nlp: Language, head: XferTagger, chosen: Sequence[Candidate], strategy: str, batch_size: int) -> List[Dict[str, Any]]:
    records = []
    for batch in minibatch(chosen, batch_size):
        docs = encoded(nlp, [c.item.make_doc(nlp) for c in batch])
        for doc, candidate, best in zip(docs, batch, head.nbest(docs, 1)):
            labels = best.labels[0]
            if isinstance(head.output, SpanTarget):
                spans = [span_record(span, None) for _, span in head.output.spans_of_labels(doc, labels)]
            else:
                spans = [span_record(doc[i : i + 1], None) | {"label": label} for i, label in enumerate(labels)]
            fields = candidate.item.fields or {}
            meta = {**(fields.get("meta") or {}), "score": candidate.score, "strategy": strategy, "source": candidate.item.source}
            records.append({**fields, "text": doc.text, "tokens": token_records(doc), "spans": spans, "meta": meta})
    return records
