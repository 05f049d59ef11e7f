"""`xfer_encoder`: spaCy's `tok2vec` component, made safe for task-sampled training.

spaCy's `Language.update` steps each component right after its own `update`, so a
shared `tok2vec` is stepped before the heads listening to it have backpropagated: its
gradient lands one batch late, where it mixes with another task's batch. This
subclass defers its step until the last listener has backpropagated (`DeferredStep`),
so each `nlp.update` moves the shared weights with that batch's gradient. It also
builds its encoder's vocabularies from every training example, not a sample of 10.
"""

from typing import Callable, Iterable, Optional

from spacy.language import Language
from spacy.pipeline.tok2vec import Tok2Vec
from spacy.training import Example
from thinc.api import Config, Model

from ..errors import Errors
from .deferred_step import DeferredStep
from .initialization import initialization_examples
from .serialization import CheckedLoad

DEFAULT_CONFIG_STR = """
[model]
@architectures = "spacy_xfer.RecipeEncoder.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_CONFIG_STR)["model"]


@Language.factory("xfer_encoder", default_config={"model": DEFAULT_MODEL})
def make_xfer_encoder(nlp: Language, name: str, model: Model) -> "XferEncoder":
    """A shared encoder that `spacy.Tok2VecListener.v1` layers in `xfer_tagger` heads
    listen to (T-B: the CharWordEncoder; T-C: the CharEncoder)."""
    return XferEncoder(nlp.vocab, model, name)


class XferEncoder(CheckedLoad, DeferredStep, Tok2Vec):
    """A `tok2vec` whose optimizer step waits for its last listener's backprop; a
    missing or corrupt saved part fails at load (E014, E015)."""

    def add_listener(self, listener: Model, component_name: str) -> None:
        """Register a listener (spaCy links them as a listening component is added,
        and when a pipeline is built from its config or loaded), first checking that
        it reads vectors of this encoder's width.

        RAISES (ValueError): E100 when a listener naming this encoder as its upstream
            has a width (nO) other than the encoder model's nO; without the check the
            head fails in its first forward pass with a matrix shape error from torch.
        """
        named = getattr(listener, "upstream_name", None) == self.name  # not "*": it may serve another tok2vec
        if named and listener.has_dim("nO") and self.model.has_dim("nO") and listener.get_dim("nO") != self.model.get_dim("nO"):
            width, nO = listener.get_dim("nO"), self.model.get_dim("nO")
            raise ValueError(Errors.E100.format(component=component_name, upstream=self.name, width=width, nO=nO))
        super().add_listener(listener, component_name)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        corpus: Optional[Callable[[Language], Iterable[Example]]] = None,
    ) -> None:
        """Build the encoder's character and word tables from all examples.

        corpus (Optional[Callable[[Language], Iterable[Example]]]): a finite reader to
            read the examples from instead; needed when training streams its corpus
            (`max_epochs = -1`), where spaCy shows components only 100 examples.
        """
        examples = initialization_examples(self.name, get_examples, nlp, corpus)
        docs = [eg.x for eg in examples]
        self.model.initialize(X=docs)
        self.has_state = True
