"""`xfer_encoder`: spaCy's `tok2vec` component, made safe for task-sampled training.

spaCy's `Language.update` steps each component right after its own `update`, so a
shared `tok2vec` is stepped before the heads listening to it have backpropagated: its
gradient lands one batch late, where it mixes with another task's batch. This
subclass defers its step until the last listener has backpropagated, so each
`nlp.update` moves the shared weights with that batch's gradient. It also builds its
encoder's vocabularies from every training example, not a sample of 10.
"""

from typing import Callable, Dict, Iterable, List, Optional

from spacy.language import Language
from spacy.pipeline.tok2vec import Tok2Vec
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer
from thinc.types import Floats2d

from .initialization import initialization_examples
from .serialization import CheckedLoad

DEFAULT_CONFIG_STR = """
[model]
@architectures = "spacy_xfer.CharWordEncoder.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_CONFIG_STR)["model"]


@Language.factory("xfer_encoder", default_config={"model": DEFAULT_MODEL})
def make_xfer_encoder(nlp: Language, name: str, model: Model) -> "XferEncoder":
    """A shared encoder that `spacy.Tok2VecListener.v1` layers in `xfer_tagger` heads
    listen to (T-B: the CharWordEncoder; T-C: the CharEncoder)."""
    return XferEncoder(nlp.vocab, model, name)


class XferEncoder(CheckedLoad, Tok2Vec):
    """A `tok2vec` whose optimizer step waits for its last listener's backprop; a
    missing or corrupt saved part fails at load (E014, E015)."""

    def __init__(self, vocab: Vocab, model: Model, name: str = "xfer_encoder") -> None:
        super().__init__(vocab, model, name)
        self._awaiting_backprop = False
        self._deferred_sgd: Optional[Optimizer] = None

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Forward the batch and hand it to the listeners (see spaCy's Tok2Vec.update);
        the step is taken once the last listener has backpropagated."""
        if self._deferred_sgd is not None:  # a listener never backpropagated
            self._step(self._deferred_sgd)
        losses = super().update(examples, drop=drop, sgd=None, losses=losses)
        if not self.listeners:
            return losses
        last = self.listeners[-1]
        listener_backprop = last._backprop
        step_sgd = sgd

        def backprop_then_step(d_outputs: List[Floats2d]):
            d_docs = listener_backprop(d_outputs)
            self._awaiting_backprop = False
            sgd_now = self._deferred_sgd if self._deferred_sgd is not None else step_sgd
            if sgd_now is not None:
                self._step(sgd_now)
            return d_docs

        last._backprop = backprop_then_step
        self._awaiting_backprop = True
        return losses

    def finish_update(self, sgd: Optimizer) -> None:
        """Step now, or once the pending backprop from the listeners has arrived."""
        if self._awaiting_backprop:
            self._deferred_sgd = sgd
        else:
            self._step(sgd)

    def _step(self, sgd: Optimizer) -> None:
        self._deferred_sgd = None
        self.model.finish_update(sgd)

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
