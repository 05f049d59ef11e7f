"""A shared encoder component whose optimizer step waits for its listeners.

spaCy's `Language.update` steps each component right after its own `update`. An
encoder component (spaCy's `tok2vec`, spacy-transformers' `transformer`) only hands
its output and backprop callback to the heads listening to it there, so it is stepped
before they backpropagate: its gradient lands one batch late, where it mixes with
another task's batch. `DeferredStep` moves the step to the end of the last listener's
backprop, so each `nlp.update` moves the shared weights with that batch's gradient.
`xfer_encoder` and `xfer_transformer` use it.
"""

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Optimizer

from .listeners import pass_zero_gradient


class DeferredStep:
    """Mixin for an encoder component (`Tok2Vec` or spacy-transformers' `Transformer`,
    listed after this class in the bases) whose `update` hands each listener its
    output and a backprop callback through the listener's public `receive`, the last
    listener's callback being the one that backpropagates through the encoder.

    While the encoder's own `update` runs, its `listeners` property serves the last
    listener behind a `_StepAfterBackprop`, which hands on a callback that steps the
    encoder once it has backpropagated. Nothing of the listeners' is overwritten.

    When the next `update` starts and the last listener has not backpropagated (its
    head was left out of the `nlp.update`: `exclude`, `frozen_components`,
    `select_pipes`), the listener answers a zero gradient for it then
    (`listeners.pass_zero_gradient`), so the other listeners' gradient of that batch,
    which the encoder sums until its last listener answers, still reaches the encoder,
    and the step is taken before the new batch. (spaCy's `tok2vec` loses that gradient.)
    A batch whose last listener never answers before training ends is not stepped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_backprop = False
        self._deferred_sgd: Optional[Optimizer] = None
        self._then_step: Optional[Callable[[Callable], Callable]] = None
        # the last listener and the batch's docs, while it has not answered
        self._unanswered: Optional[Tuple[Any, List[Doc]]] = None

    @property
    def listeners(self) -> List[Any]:
        """The encoder class's listeners; during `update`, the last one behind a
        `_StepAfterBackprop`."""
        listeners = list(super().listeners)  # type: ignore[misc]
        if self._then_step is not None and listeners:
            listeners[-1] = _StepAfterBackprop(listeners[-1], self._then_step)
        return listeners

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
        if self._awaiting_backprop and self._unanswered is not None:
            listener, docs = self._unanswered
            pass_zero_gradient(listener, docs)  # its callback steps, with `_deferred_sgd`
        self._unanswered = None
        if self._deferred_sgd is not None:
            self._step(self._deferred_sgd)
        # Set again when the encoder hands the last listener a backprop; not when it has
        # no listener or hands nothing (a batch without tokens).
        self._awaiting_backprop = False

        def then_step(backprop: Callable) -> Callable:
            def backprop_then_step(*args: Any, **kwargs: Any) -> Any:
                d_docs = backprop(*args, **kwargs)
                self._awaiting_backprop = False
                sgd_now = self._deferred_sgd if self._deferred_sgd is not None else sgd
                if sgd_now is not None:
                    self._step(sgd_now)
                return d_docs

            self._awaiting_backprop = True
            return backprop_then_step

        self._then_step = then_step
        examples = list(examples)
        try:
            losses = super().update(examples, drop=drop, sgd=None, losses=losses)  # type: ignore[misc]
        finally:
            self._then_step = None
        if self._awaiting_backprop:
            self._unanswered = (super().listeners[-1], [eg.predicted for eg in examples])  # type: ignore[misc]
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


class _StepAfterBackprop:
    """A listener as the encoder's `update` sees it: `receive` hands the listener a
    backprop callback wrapped by `then_step` (which steps the encoder after it)."""

    def __init__(self, listener: Any, then_step: Callable[[Callable], Callable]) -> None:
        self.listener = listener
        self.then_step = then_step

    def receive(self, batch_id: int, outputs: Any, backprop: Callable) -> None:
        self.listener.receive(batch_id, outputs, self.then_step(backprop))
