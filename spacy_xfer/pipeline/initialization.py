"""The examples a component initializes from: `get_examples`, or its own `corpus`."""

from typing import Callable, Iterable, List, Optional

from spacy.language import Language
from spacy.training import Example, validate_get_examples

from ..errors import Errors


def initialization_examples(
    name: str,
    get_examples: Callable[[], Iterable[Example]],
    nlp: Optional[Language],
    corpus: Optional[Callable[[Language], Iterable[Example]]],
) -> List[Example]:
    """All examples to initialize component `name` from.

    corpus (Optional[Callable[[Language], Iterable[Example]]]): a finite reader that
        replaces `get_examples`; needed when training streams its corpus
        (`max_epochs = -1`), where spaCy shows components only 100 examples.
    RETURNS (List[Example]): the examples; an error if there are none.
    """
    validate_get_examples(get_examples, f"{name}.initialize")
    if corpus is not None:
        if nlp is None:
            raise ValueError(Errors.E002.format(name=name))
        examples = list(corpus(nlp))
    else:
        examples = list(get_examples())
    if not examples:
        raise ValueError(Errors.E001.format(name=name))
    return examples
