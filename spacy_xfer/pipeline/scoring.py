"""`spacy_xfer.tagger_scorer.v1`: the default `scorer` of `xfer_tagger`, in spaCy's
`scorers` registry (as `spacy.tagger_scorer.v1` is the tagger's)."""

from typing import Any, Callable, Dict, Iterable, Sequence, Tuple

from spacy.training import Example
from spacy.util import registry

from .targets import Target


def score_xfer_tagger(
    examples: Iterable[Example],
    *,
    target: Target,
    name: str,
    standard_keys: Sequence[Tuple[str, str]] = (),
    **kwargs: Any,
) -> Dict[str, Any]:
    """Score a head's predictions on its target.

    examples (Iterable[Example]): the head's examples, its predictions on `target`.
    target (Target): what the head tags.
    name (str): the head's name, the prefix of its keys.
    standard_keys (Sequence[Tuple[str, str]]): (own key, spaCy's key) pairs to repeat.
    RETURNS (Dict[str, Any]): `{name}_acc` for token targets; `{name}_p`, `_r`, `_f`,
        `_per_type` for span targets; `{name}_score`, the main one of them; and the
        standard keys.
    """
    scores = target.score(examples, name)
    main = f"{name}_f" if target.spans else f"{name}_acc"
    scores[f"{name}_score"] = scores.get(main)
    for key, standard in standard_keys:
        scores[standard] = scores[key]
    return scores


@registry.scorers("spacy_xfer.tagger_scorer.v1")
def make_xfer_tagger_scorer() -> Callable[..., Dict[str, Any]]:
    return score_xfer_tagger
