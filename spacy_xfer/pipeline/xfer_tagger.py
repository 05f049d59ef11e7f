"""`xfer_tagger`: a CRF sequence tagger head (paper section 3.1) that can share its
encoder with other heads through `spacy.Tok2VecListener.v1` (section 3.2)."""

import math
import warnings
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, NoReturn, Optional, Sequence, Set, Tuple, Union

import numpy
from spacy.errors import Errors as SpacyErrors
from spacy.language import Language
from spacy.util import dot_to_object
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Token
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, ConfigValidationError, Model, Optimizer, set_dropout_rate

from ..errors import Errors, Warnings, listed
from ..models.layers.crf import (
    NO_PROBS,
    PathProbs,
    TaggerScores,
    crf_decode,
    crf_entropy,
    crf_loss,
    crf_nbest,
    crf_path_probs,
    get_crf,
)
from ..models.layers.crf_tagger import InputWidthError, crf_tagger_from_bytes
from ..tags import SCHEMES, allowed_transitions, labels_after, lengths_without_a_sequence
from ..tasks import TASK_KEY
from .initialization import initialization_examples
from .listeners import listened_to, pass_zero_gradient, unencoded_docs
from .serialization import CheckedLoad
from .scoring import score_xfer_tagger
from .targets import MISSING_VALUES, SpanGroupTarget, Target, gold_targets, labels_to_ids, make_target, own_output

DEFAULT_CONFIG_STR = """
[model]
@architectures = "spacy_xfer.CRFTagger.v1"

[model.tok2vec]
@architectures = "spacy_xfer.RecipeEncoder.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_CONFIG_STR)["model"]
Gold = Optional[numpy.ndarray]
Constraints = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]
# Scores `nlp.evaluate` reports whatever the pipeline.
EVALUATE_KEYS = ("token_acc", "token_p", "token_r", "token_f", "speed")
# spaCy's standard keys a primary head reports (see targets.py); per factory, so the
# filled `[training.score_weights]` select on them whatever the heads are called.
DEFAULT_SCORE_WEIGHTS = {
    "tag_acc": 1.0,
    "pos_acc": 1.0,
    "ents_f": 1.0,
    "ents_p": 0.0,
    "ents_r": 0.0,
    "ents_per_type": None,
}


class ScoredGuesses(NamedTuple):
    """What `predict` returns when `confidence` is on: the label ids of each doc and how
    sure the CRF is of them."""

    ids: List[Optional[numpy.ndarray]]
    probs: List[Optional[PathProbs]]


# one entry per doc: None for a doc of another task (see `XferTagger.predict`)
Guesses = Union[List[Optional[numpy.ndarray]], ScoredGuesses]


class NBest(NamedTuple):
    """What `XferTagger.nbest` returns per doc: its k best label sequences (the CRF's
    labels: BILUO tags for span targets), best first, with their log-probabilities,
    and the sequence entropy (nats) if asked."""

    labels: List[List[str]]
    log_probs: List[float]
    entropy: Optional[float]


class LabelSetup(NamedTuple):
    """What the CRF's label set implies, derived once per (labels, scheme)."""

    key: Tuple[Tuple[str, ...], Optional[str]]
    names: numpy.ndarray  # the CRF's labels, as an object array for fancy indexing
    index: Dict[str, int]
    constraints: Optional[Constraints]


@Language.factory(
    "xfer_tagger",
    default_config={
        "model": DEFAULT_MODEL,
        "target": "tag",
        "label_map": {},
        "cost": 5.0,
        "constraints": "auto",
        "task": None,
        "primary": True,
        "confidence": False,
        "overwrite": False,
        "scorer": {"@scorers": "spacy_xfer.tagger_scorer.v1"},
    },
    default_score_weights=DEFAULT_SCORE_WEIGHTS,
)
def make_xfer_tagger(
    nlp: Language,
    name: str,
    model: Model[List[Doc], TaggerScores],
    target: str,
    label_map: Any,
    cost: float,
    constraints: str,
    task: Optional[str],
    primary: bool,
    confidence: bool,
    overwrite: bool,
    scorer: Optional[Callable],
) -> "XferTagger":
    """A linear-chain CRF tagger head.

    model (Model[List[Doc], TaggerScores]): a `spacy_xfer.CRFTagger.v1`.
    target (str): where gold is read and predictions written: "tag", "pos", "ents",
        "spans:KEY" or "ext:NAME".
    label_map (Union[Dict[str, str], List[List[str]]]): source label -> this head's
        label, applied to gold (T-A: train one head on corpora with different tag sets);
        or a list of [label, mapped label] pairs, for a config whose labels are no valid
        config keys (":", "#"). Typed `Any` for the config: `label_pairs_to_map` checks
        it (E098, naming both forms), where spaCy's type check would name one.
    cost (float): Hamming cost weight of the softmax-margin loss; 0 gives the plain
        CRF negative log-likelihood (the authors' code uses 5). A cost that is not a
        finite number >= 0 raises E038.
    constraints (str): tag scheme whose invalid transitions are forbidden in training
        and decoding: "auto" (BILUO for span targets, none for token targets), "none",
        "IOB1", "IOB2", "BIOES" or "BILUO".
    task (Optional[str]): learn from, predict on and score on only the examples of
        this task (`user_data["xfer_task"]`, set by `spacy_xfer.TaskSampler.v1`); docs
        and examples with no task name are used by every head. Needed when two heads
        share a target.
    primary (bool): whether this head writes its predictions to `target`. One head
        per target may be primary; the others (e.g. the source head of a T-B pipeline
        whose target head writes the same target) write to their own key,
        `Doc.spans[NAME]` for span targets and `Token._.NAME` for token targets (NAME:
        the component's name), so no head overwrites another and each is scored on
        its own predictions. Two primary heads of one target (or a primary head and
        another component that reports the same spaCy score keys) stop `initialize`
        with E012.
    confidence (bool): also write how sure the CRF is of its predictions (a
        forward-backward pass per batch; off, tagging pays nothing for it):
        `Token._.NAME_confidence`, the marginal probability of each token's predicted
        label (for span targets, its BILUO tag; NaN for a token whose annotation is
        not the prediction, kept as `overwrite` says), and for span targets the
        probability of each predicted span (that its tokens are tagged exactly `B-X
        I-X... L-X`, or `U-X`) in `doc.spans[KEY].attrs["scores"]`, one float per span
        in span order, as spaCy's spancat stores them: KEY is the span group the head writes
        (`spans:KEY`, or NAME for a head that is not primary); a primary `ents` head
        also writes its entities with their scores to `doc.spans[NAME]`, since
        `Doc.ents` holds no scores. Not saved with the weights: switch it on when
        loading, e.g. `spacy.load(path, config={"components": {NAME: {"confidence":
        true}}})`, or set the component's `confidence` attribute.
    overwrite (bool): whether predictions replace annotation a doc already has, as
        spaCy's tagger's `overwrite`. Off (the default): a token target keeps each
        token's existing value and fills only tokens without one; a span target keeps
        the existing spans and adds the predicted spans that overlap none of them
        (their confidence scores are NaN in a span group's scores). Like
        `confidence`, kept in the pipeline's config, not in the component's `cfg`, so
        `spacy.load(path, config=...)` can change it.
    scorer (Optional[Callable]): the function `score` calls, with the head's
        examples and the keyword arguments `target`, `name` and `standard_keys`
        (default: `spacy_xfer.tagger_scorer.v1`, `scoring.score_xfer_tagger`).

    Scores: every head reports `{NAME}_score` (its main score: accuracy, or span F1)
    and `{NAME}_acc` or `{NAME}_p/r/f/per_type`. A primary head also reports spaCy's
    standard keys for its target: `tag_acc`, `pos_acc`, `ents_p/r/f/per_type` or
    `spans_KEY_p/r/f/per_type`, which `spacy evaluate` prints in its table (for
    `spans:KEY`, with `--spans-key KEY`). `ext:NAME` targets and heads that are not
    primary have no standard key: their scores are in `spacy evaluate`'s JSON
    output (`--output`). The factory's default score weights are `tag_acc`,
    `pos_acc` and `ents_f`, so a filled config selects on the primary heads' scores
    whatever they are called; when training with none of the weighted keys among the
    scores the pipeline reports (e.g. only `ext:` or `spans:` targets), `initialize`
    stops with E013 naming the keys to weight.

    Whitespace-only tokens: a token target tags them like any token and scores them
    like any token (in gold and predictions alike); span targets never start or end a
    span on one, in gold (trimmed), predictions (trimmed) and scores (see targets.py).
    """
    return XferTagger(
        nlp.vocab,
        model,
        name,
        target=target,
        label_map=label_map,
        cost=cost,
        constraints=constraints,
        task=task,
        primary=primary,
        confidence=confidence,
        overwrite=overwrite,
        scorer=scorer,
    )


def label_pairs_to_map(name: str, label_map: Union[Mapping[str, str], Sequence[Sequence[str]], None]) -> Dict[str, str]:
    """A `label_map` setting as a dict: given as one already, or as [label, mapped label]
    pairs (the form a config needs for labels that are no valid config keys, e.g. PTB's
    ":" and "#").

    RAISES (ValueError): E098 if the setting is neither (nor None, no map), an item is
        not a pair of non-empty labels (an empty gold label is a missing one) or a label
        comes twice.
    """
    if label_map is None:
        return {}
    if not isinstance(label_map, (Mapping, list, tuple)):
        raise ValueError(Errors.E098.format(name=name, problem=f"is {label_map!r}"))
    pairs = list(label_map.items() if isinstance(label_map, Mapping) else label_map)
    for pair in pairs:
        is_pair = isinstance(pair, (list, tuple)) and len(pair) == 2
        if not is_pair or not all(isinstance(label, str) and label for label in pair):
            shown = list(pair) if isinstance(pair, (list, tuple)) else pair
            raise ValueError(Errors.E098.format(name=name, problem=f"has the item {shown!r}, not a pair of labels"))
    twice = sorted(label for label, n in Counter(label for label, _ in pairs).items() if n > 1)
    if twice:
        raise ValueError(Errors.E098.format(name=name, problem=f"lists the labels {twice} more than once"))
    return {label: to for label, to in pairs}


# the factory settings the saved `cfg` repeats, of which a load keeps the constructor's
CONFIG_SETTINGS = ("target", "cost", "constraints", "task", "primary")


class XferTagger(CheckedLoad, TrainablePipe):
    """A CRF sequence tagger writing to a configurable target."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], TaggerScores],
        name: str = "xfer_tagger",
        *,
        target: str = "tag",
        label_map: Union[Mapping[str, str], Sequence[Sequence[str]], None] = None,
        cost: float = 5.0,
        constraints: str = "auto",
        task: Optional[str] = None,
        primary: bool = True,
        confidence: bool = False,
        overwrite: bool = False,
        scorer: Optional[Callable] = score_xfer_tagger,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        label_map = label_pairs_to_map(name, label_map)
        for key, value in label_map.items():
            if label_map.get(value, value) != value:
                raise ValueError(Errors.E006.format(name=name, key=key, value=value, again=label_map[value]))
        if constraints not in ("auto", "none") + SCHEMES:
            raise ValueError(Errors.E008.format(name=name, value=constraints))
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0.0 <= cost < math.inf:
            raise ValueError(Errors.E038.format(setting=f"cost of component '{name}'", value=cost, expected="a finite number >= 0"))
        self.target: Target = make_target(target, name, label_map)
        # where predictions are written: the target, or this head's own key
        self.output: Target = self.target if primary else own_output(self.target, name)
        self.cfg: Dict[str, Any] = {
            "labels": [],
            "target": target,
            "label_map": label_map,
            "cost": cost,
            "constraints": constraints,
            "task": task,
            "primary": primary,
        }
        # what the constructor built `target` and `output` from: a load keeps them
        self._settings = {key: self.cfg[key] for key in CONFIG_SETTINGS}
        self.confidence = confidence
        self.overwrite = overwrite
        self.scorer = scorer
        # the keys the last `score` call gave a value (not None); None before any call
        self.last_scored_keys: Optional[Set[str]] = None
        self._has_gradient = False
        self._setup: Optional[LabelSetup] = None

    @property
    def labels(self) -> Tuple[str, ...]:
        """The label data: tags for token targets, span types for span targets."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        return list(self.labels)

    @property
    def crf_labels(self) -> List[str]:
        """The labels the CRF predicts (BILUO tags for span targets)."""
        return self.target.crf_labels(self.labels)

    def gold_label_counts(self, examples: Iterable[Example], mapped: bool = True) -> Counter:
        """Label data (tags, or span types for span targets) -> how many gold tokens of
        the examples carry it, after `label_map` (as the head learns and is scored on
        them) or, with `mapped=False`, as the examples have them; outside and
        unannotated tokens are not counted, overlapping spans count each. Compared with
        `labels`, it tells whether the examples are of the task this head learnt."""
        target = self.target if mapped else make_target(self.cfg["target"], self.name, {})
        counts: Counter = Counter()
        for eg in examples:
            if target.has_annotation(eg.reference):
                counts.update(target.label_tokens(eg.reference))
        return counts

    @property
    def scheme(self) -> Optional[str]:
        """The tag scheme whose transitions are constrained, if any."""
        constraints = self.cfg["constraints"]
        if constraints == "auto":
            return "BILUO" if self.target.spans else None
        return None if constraints == "none" else constraints

    def add_label(self, label: str) -> int:
        if label in self.labels:
            return 0
        if self.model.has_dim("nO") and self.model.get_dim("nO"):
            raise ValueError(Errors.E010.format(name=self.name, label=label))
        self.cfg["labels"] = sorted(self.labels + (label,))
        return 1

    # -- prediction ---------------------------------------------------------------

    @property
    def confidence_attr(self) -> str:
        """The Token extension holding each token's confidence (`confidence` on)."""
        return f"{self.name}_confidence"

    @property
    def confidence(self) -> bool:
        """Whether prediction writes confidences (the factory's `confidence`)."""
        return self._confidence

    @confidence.setter
    def confidence(self, value: bool) -> None:
        """Turning confidence on registers `confidence_attr` at once, in this process:
        docs predicted elsewhere (`nlp.pipe(..., n_process=2)`) come back with the
        values in their user data, which `Token._` reads only once it is registered."""
        self._confidence = value
        if value:
            self._register_confidence_attr()

    def _register_confidence_attr(self) -> None:
        if not Token.has_extension(self.confidence_attr):
            Token.set_extension(self.confidence_attr, default=None)

    def predict(self, docs: Iterable[Doc]) -> Guesses:
        """The Viterbi label ids of each doc (an empty array for an empty doc); with
        `confidence` on, a `ScoredGuesses` of the ids and their probabilities.

        A head with a `task` skips the docs of other tasks (`user_data["xfer_task"]`,
        which the task sampler writes on dev examples too): their entry is None and
        `set_annotations` leaves them as they are. So the dev evaluations of a T-B or
        T-C pipeline decode each dev set with its own head only (in T-C, the source's
        word GRU no longer runs over the target's dev set); `score` counts only the
        head's own examples anyway. Docs without a task name get every head.
        """
        docs = list(docs)
        own = [self._is_own_doc(doc) for doc in docs]
        rows = [i for i, doc in enumerate(docs) if own[i] and len(doc)]
        guesses: List[Optional[numpy.ndarray]] = [numpy.zeros((0,), dtype="int64") if is_own else None for is_own in own]
        probs: List[Optional[PathProbs]] = [NO_PROBS if is_own else None for is_own in own] if self.confidence else []
        if rows:
            self._check_initialized()
            with self._naming_width_errors():
                scores = self.model.predict([docs[i] for i in rows])
            decoded = crf_decode(scores)
            for i, ids in zip(rows, decoded):
                guesses[i] = ids
            if self.confidence:
                for i, path_probs in zip(rows, crf_path_probs(scores, decoded)):
                    probs[i] = path_probs
        return ScoredGuesses(guesses, probs) if self.confidence else guesses

    def _check_initialized(self) -> None:
        """RAISES (ValueError): spaCy's E109 if the head is neither initialized nor
        loaded (its CRF has no size yet), instead of a shape error deep in torch."""
        if not self.labels or self.model.has_dim("nO") is not True:
            raise ValueError(SpacyErrors.E109.format(name=self.name))

    @contextmanager
    def _naming_width_errors(self) -> Iterator[None]:
        """RAISES (ValueError): the model's E111 (vectors of another width than the
        CRF was trained on) said again naming this head and the encoder it listens to:
        a head sourced into a pipeline whose transformer has another hidden size
        learns of it at its first batch (xfer_encoder's width is checked earlier,
        E100, but a transformer's is known only once it is loaded)."""
        try:
            yield
        except InputWidthError as err:
            source = listened_to(self.model)
            raise ValueError(Errors.E111.format(who=f"Component '{self.name}'", source=source, width=err.width, nI=err.nI)) from err

    def set_annotations(self, docs: Iterable[Doc], guesses: Guesses) -> None:
        """Write the labels to the target if this head is primary, else to its own key
        (see the factory's `primary`), keeping existing annotation unless `overwrite`
        is on, and with `ScoredGuesses` their confidence (see the factory's
        `confidence`)."""
        names = self._label_setup().names
        if not isinstance(guesses, ScoredGuesses):
            for doc, ids in zip(docs, guesses):
                if ids is not None:
                    self._write(doc, names[ids].tolist(), None)
            return
        self._register_confidence_attr()  # again: `confidence_attr` follows `name`, which may have changed since
        for doc, ids, probs in zip(docs, guesses.ids, guesses.probs):
            if ids is None or probs is None:
                continue
            not_predicted = self._write(doc, names[ids].tolist(), probs)
            confidences = numpy.where(not_predicted, numpy.nan, probs.token_probs).tolist()
            for token, prob in zip(doc, confidences):
                token._.set(self.confidence_attr, prob)

    def _write(self, doc: Doc, labels: List[str], probs: Optional[PathProbs]) -> numpy.ndarray:
        """Write the predicted labels, keeping existing annotation unless `overwrite`.

        RETURNS (ndarray): (n_tokens,) bool, the tokens whose annotation is not the
            prediction (kept, or in a predicted span left out for overlapping a kept
            one), whose confidence is then NaN.
        """
        not_predicted = numpy.zeros(len(doc), dtype=bool)
        overwrite = self.overwrite
        if not self.output.spans:
            if not overwrite:
                existing = self.output.read(doc)
                not_predicted = numpy.array([old not in MISSING_VALUES for old in existing], dtype=bool)
                labels = [old if kept else new for old, new, kept in zip(existing, labels, not_predicted)]
            self.output.write(doc, labels)
            return not_predicted
        pairs = self.output.spans_of_labels(doc, labels)  # type: ignore[attr-defined]
        kept = [] if overwrite else list(self.output.get_spans(doc))  # type: ignore[attr-defined]
        if kept:
            for span in kept:
                not_predicted[span.start : span.end] = True
            overlapping = [not_predicted[span.start : span.end].any() for _, span in pairs]
            for (_, span), left_out in zip(pairs, overlapping):
                if left_out:
                    not_predicted[span.start : span.end] = True
            pairs = [pair for pair, left_out in zip(pairs, overlapping) if not left_out]
        spans = sorted(kept + [span for _, span in pairs], key=lambda span: span.start)
        self.output.set_spans(doc, spans)  # type: ignore[attr-defined]
        if probs is None:
            return not_predicted
        new_scores = {span.start: probs.segment_prob(start, end) for (start, end, _), span in pairs}
        if isinstance(self.output, SpanGroupTarget):
            key = self.output.key
        else:  # Doc.ents, which holds no scores: the head's spans in its own group
            key = self.name
            spans = [span for _, span in pairs]
            doc.spans[key] = spans
        scores = [float("nan") if span in kept else new_scores[span.start] for span in spans]
        doc.spans[key].attrs["scores"] = numpy.asarray(scores, dtype="float32")
        return not_predicted

    def nbest(self, docs: Iterable[Doc], k: int, *, entropy: bool = False) -> List[NBest]:
        """The k best label sequences of each doc (k-best Viterbi under the tag
        scheme's constraints; fewer when fewer are allowed), best first, with their
        log-probabilities under the CRF, and with `entropy` the sequence entropy of
        the CRF's distribution (nats; exact, from the forward-backward pass). The
        labels are the CRF's: BILUO tags for span targets. An empty doc has one empty
        sequence of log-probability 0 and entropy 0.

        The docs must have been through the pipeline's shared encoder, if the head
        listens to one (T-B, T-C, transformer encoders): e.g. `nlp.pipe(docs,
        disable=[...])` with the heads disabled.

        RAISES: ValueError when k is not an integer >= 1; E109 before initialize; E090
        for docs the shared encoder has not run on.
        """
        if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)) or k < 1:
            raise ValueError(Errors.E038.format(setting=f"n-best k of component '{self.name}'", value=k, expected="an integer k >= 1"))
        docs = list(docs)
        names = self._label_setup().names
        if not any(len(doc) for doc in docs):
            return [NBest([[]], [0.0], 0.0 if entropy else None) for _ in docs]
        self._check_initialized()
        unencoded = unencoded_docs(self.model, docs)
        if unencoded is not None:
            upstream, missing = unencoded
            first = docs[missing[0]]
            text = first.text if len(first.text) <= 40 else first.text[:40] + "..."
            raise ValueError(
                Errors.E090.format(name=self.name, upstream=upstream, n=len(missing), total=len(docs), index=missing[0], text=text)
            )
        with self._naming_width_errors():
            scores = self.model.predict(docs)
        entropies: List[Optional[float]] = list(crf_entropy(scores)) if entropy else [None] * len(docs)
        return [
            NBest([names[path].tolist() for path in paths], log_probs.tolist(), doc_entropy)
            for (paths, log_probs), doc_entropy in zip(crf_nbest(scores, k), entropies)
        ]

    def _is_own(self, eg: Example) -> bool:
        """Whether an example is of this head's task: both its docs (`predict` reads
        the predicted doc's task, so an example scored here was predicted here)."""
        return self._is_own_doc(eg.y) and self._is_own_doc(eg.x)

    def _is_own_doc(self, doc: Doc) -> bool:
        """Whether the doc is of this head's task, or either has none."""
        task = self.cfg["task"]
        return task is None or doc.user_data.get(TASK_KEY, task) == task

    # -- training -----------------------------------------------------------------

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch. A batch with no gold for this head changes none of its
        weights and only passes a zero gradient to the encoders it listens to, so a
        shared encoder still gets the other heads' gradient (see STYLE.md, section 3).

        RAISES (ValueError): E109 before initialize; E004 for a gold label the head does
        not have; E005 for gold tags that break the `constraints` scheme, E116 for unknown
        tags that no allowed label fits; E111 when the encoder's vectors are not as wide
        as the head was trained on.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "XferTagger.update")
        self._check_initialized()
        docs = [eg.predicted for eg in examples]
        gold = self._gold_ids(examples)
        self._has_gradient = any(g is not None and (g >= 0).any() for g in gold)
        if not self._has_gradient:
            pass_zero_gradient(self.model, docs)
            return losses
        set_dropout_rate(self.model, drop)
        with self._naming_width_errors():
            scores, backprop = self.model.begin_update(docs)
        loss, d_scores = self._loss(scores, gold)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: TaggerScores) -> Tuple[float, TaggerScores]:
        """The softmax-margin loss and the gradient of the scores (emissions and the
        CRF's transition, start and end scores); docs and tokens without gold add
        nothing. Changes nothing: `update` passes d_scores to the model's backprop.

        RAISES: ValueError (E020) when the loss is NaN or infinite.
        """
        return self._loss(scores, self._gold_ids(list(examples)))

    def finish_update(self, sgd: Optimizer) -> None:
        """Step this head's weights, unless its last update had no gold."""
        if self._has_gradient:
            self.model.finish_update(sgd)
            self._has_gradient = False

    def _loss(self, scores: TaggerScores, gold: List[Gold]) -> Tuple[float, TaggerScores]:
        loss, d_scores = crf_loss(scores, gold, self.cfg["cost"])
        if not math.isfinite(loss):
            raise ValueError(Errors.E020.format(name=self.name))
        return loss, d_scores

    def _label_setup(self) -> LabelSetup:
        """The label index and constraints, recomputed only when the labels change."""
        key = (self.labels, self.scheme)
        if self._setup is None or self._setup.key != key:
            names = self.crf_labels
            scheme = self.scheme
            self._setup = LabelSetup(
                key=key,
                names=numpy.array(names, dtype=object),
                index={label: i for i, label in enumerate(names)},
                constraints=None if scheme is None else allowed_transitions(names, scheme),
            )
        return self._setup

    def _gold_ids(self, examples: Sequence[Example]) -> List[Gold]:
        setup = self._label_setup()
        gold: List[Gold] = []
        for eg in examples:
            labels = self.target.gold(eg) if self._is_own(eg) else None
            if labels is None:
                gold.append(None)
                continue
            for i, label in enumerate(labels):
                if label is not None and label not in setup.index:
                    raise ValueError(
                        Errors.E004.format(
                            label=label, i=i, text=eg.x[i].text, doc=eg.x.text[:80], name=self.name, n=len(setup.index)
                        )
                    )
            ids = labels_to_ids(labels, setup.index)
            if setup.constraints is not None:
                self._check_scheme(eg.x, ids, setup.constraints)
            gold.append(ids)
        return gold

    def _check_scheme(self, doc: Doc, ids: numpy.ndarray, constraints: Constraints) -> None:
        """Raise E005 at the first gold transition the scheme forbids (a sentence start
        or end counts as a transition; unknown tags break no transition), and E116 where
        unknown tags have no allowed labels between the known ones (`B-PER ? L-LOC`
        under BILUO), which the CRF's loss could only refuse by its batch position (E016)."""
        transitions, start, end = constraints
        if not len(ids):
            return
        known = ids >= 0
        pairs = numpy.nonzero(known[:-1] & known[1:])[0]
        bad_pairs = pairs[~transitions[ids[pairs], ids[pairs + 1]]]
        names = self._label_setup().names
        if known[0] and not start[ids[0]]:
            i, prev, label = 0, "<s>", names[ids[0]]
        elif len(bad_pairs):
            i = int(bad_pairs[0]) + 1
            prev, label = names[ids[i - 1]], names[ids[i]]
        elif known[-1] and not end[ids[-1]]:
            i, prev, label = len(ids) - 1, names[ids[-1]], "</s>"
        else:
            if known.any() and not known.all():
                self._check_unknown_stretches(doc, ids, constraints)
            return
        raise ValueError(
            Errors.E005.format(
                doc=doc.text[:80], scheme=self.scheme, i=i, text=doc[i].text,
                prev=prev, label=label, name=self.name,
            )
        )

    def _check_unknown_stretches(self, doc: Doc, ids: numpy.ndarray, constraints: Constraints) -> None:
        """Raise E116 at the first known tag (or the doc's end) that no allowed label
        sequence reaches through the unknown tags before it, following the labels each
        token may take from the doc's start as the CRF's constrained sums do. Runs
        after the E005 check, so only stretches of unknown tags can fail here."""
        transitions, start, end = constraints
        names = self._label_setup().names

        def fail(n: int, after: str, before: str) -> NoReturn:
            message = Errors.E116.format(doc=doc.text[:80], n=n, after=after, before=before, scheme=self.scheme, name=self.name)
            raise ValueError(message)

        reach, at, after = start, 0, "the doc's start"  # the labels token `at` may take
        for i in numpy.flatnonzero(ids >= 0):
            reach = labels_after(reach, transitions, i - at)
            if not reach[ids[i]]:
                fail(i - at, after, f"{names[ids[i]]!r} at token {i} ({doc[i].text!r})")
            reach, at, after = transitions[ids[i]], i + 1, f"{names[ids[i]]!r} at token {i}"
        if at < len(ids):  # unknown tags up to the doc's end
            if not (labels_after(reach, transitions, len(ids) - 1 - at) & end).any():
                fail(len(ids) - at, after, "the doc's end")

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
        corpus: Optional[Callable[[Language], Iterable[Example]]] = None,
    ) -> None:
        """Collect the labels, size the CRF, initialize the model on all examples. With
        `constraints` on a token target, gold tags that break the scheme raise E005 (or
        E116) here, as in `update`. A `label_map` with "$$" in a label warns W002: what confection
        leaves of a "$" in a config loaded without interpolation.

        labels (Optional[Sequence[str]]): the label data (tags, or span types for span
            targets) instead of collecting it from the examples.
        corpus (Optional[Callable[[Language], Iterable[Example]]]): a finite reader to
            initialize from instead of `get_examples`; needed when training streams
            its corpus (`max_epochs = -1`), where spaCy shows only 100 examples.
        """
        examples = initialization_examples(self.name, get_examples, nlp, corpus)
        escaped = sorted({label for pair in self.target.label_map.items() for label in pair if "$$" in label})
        if escaped:
            warnings.warn(Warnings.W002.format(name=self.name, sample=listed(escaped)))
        own = [eg for eg in examples if self._is_own(eg)]
        if labels is None:
            seen_per_task: Dict[str, Set[str]] = {}
            for eg in own:
                labels_of_task = seen_per_task.setdefault(eg.y.user_data.get(TASK_KEY, ""), set())
                labels_of_task.update(label for label in (self.target.gold(eg) or []) if label is not None)
            self._warn_on_unshared_labels(seen_per_task)
            labels = self.target.label_data(set().union(*seen_per_task.values()))
        if self.model.has_dim("nO") is not True:  # labels added with `add_label` before stay
            labels = sorted(set(labels) | set(self.labels))
        if not labels:
            layers = ", ".join(gold_targets(eg.y for eg in own)) or "none"
            raise ValueError(Errors.E011.format(name=self.name, target=self.cfg["target"], n=len(own), layers=layers))
        self.cfg["labels"] = self.target.label_data(labels) if not self.target.spans else sorted(labels)
        self.model.set_dim("nO", len(self.crf_labels), force=True)
        self.model.initialize(X=[eg.x for eg in own])
        constraints = self._label_setup().constraints
        if constraints is not None:
            unwritable = lengths_without_a_sequence(*constraints)
            if unwritable:
                raise ValueError(Errors.E106.format(
                    name=self.name, scheme=self.scheme, labels=listed(self.crf_labels), lengths=listed(unwritable),
                ))
            get_crf(self.model).set_constraints(*constraints)
            if not self.target.spans:  # gold tags can break the scheme; spans cannot
                self._gold_ids(own)  # E005 or E116 at the first that does, as `update` would
        if nlp is not None:
            self._check_single_writer(nlp)
            self._check_score_weights(nlp)
        self.has_state = True

    def _warn_on_unshared_labels(self, seen_per_task: Mapping[str, Set[str]]) -> None:
        """W001 when this head learns several tasks (T-A) and the gold labels of one,
        after `label_map`, share fewer than half of the smaller of its and the other
        tasks' label sets (e.g. PTB tags against UPOS without a map): one CRF over label
        sets that do not map. A target with types its source lacks (Twitter NER's ten
        against CoNLL03's four, mapped) shares all the source's and is not warned of."""
        if len(seen_per_task) < 2:
            return
        for task, own_labels in sorted(seen_per_task.items()):
            others = set().union(*(seen for name, seen in seen_per_task.items() if name != task))
            shared = own_labels & others
            if own_labels and others and len(shared) < min(len(own_labels), len(others)) / 2:
                unshared = sorted(own_labels - others)
                warnings.warn(Warnings.W001.format(
                    name=self.name, tasks=sorted(seen_per_task), shared=len(shared), task=task, n=len(own_labels), sample=listed(unshared),
                ))
                return  # one warning says it

    @property
    def score_keys(self) -> List[str]:
        """The keys `score` reports (see the factory's docstring)."""
        keys = [f"{self.name}_score"] + self.target.score_keys(self.name)
        return keys + [standard for _, standard in self._standard_keys()]

    def _standard_keys(self) -> List[Tuple[str, str]]:
        """(own key, spaCy's standard key) pairs this head reports: a primary head's."""
        attr = self.target.standard_attr
        if not self.cfg["primary"] or attr is None:
            return []
        return list(zip(self.target.score_keys(self.name), self.target.score_keys(attr)))

    def _check_single_writer(self, nlp: Language) -> None:
        """E012 if another component writes this primary head's target."""
        if not self.cfg["primary"]:
            return
        standard = {key for _, key in self._standard_keys()}
        for name, pipe in nlp.components:
            if name == self.name:
                continue
            if isinstance(pipe, XferTagger):
                clash = pipe.cfg["primary"] and pipe.cfg["target"] == self.cfg["target"]
            else:
                clash = bool(standard & set(nlp.get_pipe_meta(name).default_score_weights))
            if clash:
                own = "Doc.spans[NAME]" if self.target.spans else "Token._.NAME"
                raise ValueError(Errors.E012.format(name=self.name, other=name, target=self.cfg["target"], own=own))

    def _check_score_weights(self, nlp: Language) -> None:
        """E013 if the pipeline is set up for `spacy train` (its config names a dev
        corpus) and no weighted score key is one that it reports."""
        if not _has_dev_corpus(nlp):
            return
        training = nlp.config["training"]
        weighted = sorted(key for key, value in training.get("score_weights", {}).items() if value)
        heads = [pipe for _, pipe in nlp.components if isinstance(pipe, XferTagger)]
        reported = set(EVALUATE_KEYS)
        for name, pipe in nlp.components:
            keys = pipe.score_keys if isinstance(pipe, XferTagger) else nlp.get_pipe_meta(name).default_score_weights
            reported.update(keys)
        if not reported & set(weighted):
            ours = sorted(key for head in heads for key in head.score_keys if not key.endswith("_per_type"))
            raise ValueError(
                Errors.E013.format(weighted=", ".join(weighted) or "none", reported=", ".join(ours), example=f"{heads[-1].name}_score")
            )

    def load_model_bytes(self, bytes_data: bytes) -> None:
        """Load the model, also one saved before the emission projection was a layer
        of its own."""
        crf_tagger_from_bytes(self.model, bytes_data)

    def cfg_loaded(self) -> None:
        """After the saved `cfg` is read: the labels (learnt) and the label map are the
        saved ones (confection writes a "$" in a config value as "$$", and a pipeline
        loaded without interpolation keeps it); the other settings (`CONFIG_SETTINGS`)
        stay the constructor's, which `target` and `output` were built from, so that a
        setting overridden at load (`spacy.load(..., config=...)`) holds everywhere.
        (They are the saved ones unless overridden: config.cfg is saved with them.)"""
        self.cfg.update(self._settings)
        self.target.label_map = label_pairs_to_map(self.name, self.cfg["label_map"])

    def check_loaded(self) -> Optional[str]:
        labels = self.cfg.get("labels")
        if not isinstance(labels, list):
            return f"expected a list of labels under 'labels', found {labels!r}"
        if not labels and self.model.has_dim("nO") is not True:
            return None  # saved before initialize, as spaCy's own components may be
        if not labels:
            return f"expected a non-empty list of labels under 'labels' for a model with outputs, found {labels!r}"
        n_labels = len(self.crf_labels)
        if self.model.has_dim("nO") and self.model.get_dim("nO") != n_labels:
            return f"its {len(labels)} labels give {n_labels} CRF labels but the model has {self.model.get_dim('nO')} outputs"
        return None

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        """The component's `scorer` (by default `score_xfer_tagger`): token accuracy (`{name}_acc`) for token targets; precision, recall, F1 and
        per-type scores (`{name}_p`, `_r`, `_f`, `_per_type`) for span targets, which
        equal conlleval's on the same spans. `{name}_score` repeats the head's main
        score (accuracy or F1), the key to weight in `[training.score_weights]`. A
        primary head repeats them under spaCy's standard keys (`tag_acc`, `ents_f`,
        ...). Only the examples of this head's task count; a head that is not primary
        is scored on the predictions in its own key. The keys given a value (not None:
        the head had examples to score) are kept in `last_scored_keys`, which
        `spacy_xfer.reported_performance.v1` reads, since spaCy's training loop drops
        the None scores before it writes `meta.json`."""
        validate_examples(examples, "XferTagger.score")
        scores: Dict[str, Any] = {}
        if self.scorer is not None:
            own = [self._scored_example(eg) for eg in examples if self._is_own(eg)]
            scores = self.scorer(own, target=self.target, name=self.name, standard_keys=self._standard_keys())
        self.last_scored_keys = {key for key, value in scores.items() if value is not None}
        return scores

    def _scored_example(self, eg: Example) -> Example:
        """The example with this head's predictions on the target: as is for a primary
        head; a copy with the predictions moved from its own key otherwise."""
        if self.output is self.target:
            return eg
        predicted = eg.x.copy()
        self.target.write(predicted, ["" if label is None else label for label in self.output.read(eg.x)])
        return Example(predicted, eg.y)


def _has_dev_corpus(nlp: Language) -> bool:
    """Whether `[training] dev_corpus` names a reader with data, as `spacy train`
    needs (a blank pipeline's default is `spacy.Corpus.v1` with path null)."""
    try:
        config = nlp.config.interpolate()
        reader = dot_to_object(config, config["training"]["dev_corpus"])
    except (KeyError, ConfigValidationError):
        return False
    return reader.get("path", True) is not None
