"""A shared encoder component whose optimizer step waits for its listeners.

spaCy's `Language.update` steps each component right after its own `update`. An
encoder component (spaCy's `tok2vec`, spacy-transformers' `transformer`) only hands
its output and backprop callback to the heads listening to it there, so it is stepped
before they backpropagate: its gradient lands one batch late, where it mixes with
another task's batch. `DeferredStep` moves the step to the end of the last listener's
backprop, so each `nlp.update` moves the shared weights with that batch's gradient.
`xfer_encoder` and `xfer_transformer` use it.
"""

from typing import Any, Dict, Iterable, Optional

from spacy.training import Example
from thinc.api import Optimizer


class DeferredStep:
    """Mixin for an encoder component (`Tok2Vec` or spacy-transformers' `Transformer`,
    listed after this class in the bases) whose listeners get their backprop callback
    in the listener's `_backprop` attribute, the last listener's callback being the
    one that backpropagates through the encoder.

    A step that is still pending when the next `update` starts (its last listener
    never backpropagated) is taken then, before the new batch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        """Forward the batch and hand it to the listeners (see the encoder class's
        `update`); the step is taken once the last listener has backpropagated."""
        if self._deferred_sgd is not None:
            self._step(self._deferred_sgd)
        last = self.listeners[-1] if self.listeners else None
        before = getattr(last, "_backprop", None)
        losses = super().update(examples, drop=drop, sgd=None, losses=losses)  # type: ignore[misc]
        listener_backprop = getattr(last, "_backprop", None)
        if listener_backprop is None or listener_backprop is before:
            return losses  # no listener, or the encoder handed it nothing (no tokens)

        def backprop_then_step(*args: Any, **kwargs: Any) -> Any:
            d_docs = listener_backprop(*args, **kwargs)
            self._awaiting_backprop = False
            sgd_now = self._deferred_sgd if self._deferred_sgd is not None else sgd
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
        self.model.finish_update(sgd)  # type: ignore[attr-defined]
