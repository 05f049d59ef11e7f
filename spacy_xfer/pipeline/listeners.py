"""A head's listeners to a shared encoder: answering it when the head has nothing to
learn from a batch, checking that docs to predict went through it, and naming the
encoder it listens to in messages.

A shared encoder (`xfer_encoder`, `xfer_transformer`) backpropagates when the last of
its listeners does. A head with no gold in a batch must still answer, with a zero
gradient, or the other heads' gradient never reaches the encoder when this head's
listener is the last one.

At prediction a listener reads what the encoder left on each doc (`Doc.tensor` for
spaCy's `Tok2VecListener`, `Doc._.trf_data` for spacy-transformers'), and answers zeros
for a doc the encoder has not seen, so a head run on its own predicts from nothing.
"""

from typing import List, Optional, Tuple

from spacy.pipeline.tok2vec import Tok2VecListener
from spacy.tokens import Doc
from thinc.api import Model

try:  # the `transformers` extra
    from spacy_transformers.data_classes import TransformerData
    from spacy_transformers.layers import TransformerListener
    from transformers.file_utils import ModelOutput
except ImportError:  # without it, a model holds no TransformerListener
    TransformerListener = None


def pass_zero_gradient(model: Model, docs: List[Doc]) -> None:
    """Backpropagate a zero gradient through every listener in `model`.

    Handles spaCy's `Tok2VecListener` and spacy-transformers' `TransformerListener`
    (whose gradient has the shape of the transformer's output for each doc, as its
    `trfs2arrays` layer passes it). A `TransformerListener` that was not handed this
    batch has nothing to answer: its transformer got only empty docs (and handed
    nothing), or is frozen, or the listener still holds an older batch, one its head
    was left out of (`exclude`).
    """
    for node in model.walk():
        if isinstance(node, Tok2VecListener):
            outputs, backprop = node.begin_update(docs)
            backprop([node.ops.alloc2f(*output.shape) for output in outputs])
        elif TransformerListener is not None and isinstance(node, TransformerListener):
            if node._batch_id != node.get_batch_id(docs):  # None (handed nothing) included
                continue
            outputs, backprop = node.begin_update(docs)
            backprop([_zero_gradient(node, data) for data in outputs if "last_hidden_state" in data.model_output])


def _zero_gradient(node: Model, data: "TransformerData") -> "TransformerData":
    """A zero gradient for one doc's transformer output."""
    hidden = data.model_output.last_hidden_state
    return TransformerData(
        model_output=ModelOutput(last_hidden_state=node.ops.alloc(hidden.shape, dtype=hidden.dtype)),
        wordpieces=data.wordpieces,
        align=data.align,
    )


def unencoded_docs(model: Model, docs: List[Doc]) -> Optional[Tuple[str, List[int]]]:
    """The shared encoder a listener in `model` reads from (its name, quoted), and the
    indices of the docs with tokens that it has not run on (see the module docstring);
    None when every doc has its encoder's output, or `model` has no listener.
    """
    for node in model.walk():
        if isinstance(node, Tok2VecListener):
            missing = [i for i, doc in enumerate(docs) if len(doc) and doc.tensor.size == 0]
        elif TransformerListener is not None and isinstance(node, TransformerListener):
            missing = [i for i, doc in enumerate(docs) if len(doc) and doc._.trf_data is None]
        else:
            continue
        if missing:
            return _upstream(node), missing
    return None


def listened_to(model: Model) -> str:
    """The shared encoder a listener in `model` reads from, for a message: its name,
    quoted; "its input layers" when `model` has no listener."""
    for node in model.walk():
        if isinstance(node, Tok2VecListener) or (TransformerListener is not None and isinstance(node, TransformerListener)):
            return _upstream(node)
    return "its input layers"


def _upstream(listener: Model) -> str:
    """A listener's upstream, quoted, or what a listener of any ("*") is to read."""
    return f"'{listener.upstream_name}'" if listener.upstream_name != "*" else "the shared encoder it listens to"
