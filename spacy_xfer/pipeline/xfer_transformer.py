"""`xfer_transformer`: spacy-transformers' `transformer` component, made safe for
task-sampled training.

Like spaCy's `tok2vec` (see `xfer_encoder`), spacy-transformers' `transformer` is
stepped by `Language.update` as soon as its own `update` returns, before the heads
listening to it (`spacy-transformers.TransformerListener.v1`) backpropagate. This
subclass defers its step until the last listener has backpropagated (`DeferredStep`),
so a batch holding only task A's annotations moves the transformer with task A's
gradient in that same `nlp.update`. Its settings are those of `transformer`. As
`xfer_encoder` and `xfer_tagger` do, it loads through `CheckedLoad`: a missing `cfg`
or `model` raises E014 and one that cannot be read raises E015, naming the file, and a
failed load leaves a loaded or initialized transformer as it was. (spacy-transformers
saves the same parts as spaCy's components; the `model` folder of its v1.0, which its
`from_disk` converts, is not a layout this component, made for v1.3, ever saved.)

The module imports without the `transformers` extra (spaCy imports every declared
component factory when it builds a pipeline); the component then raises E018, and
`check_transformers_installed` stops a command before it reads a `*_trf` config (spaCy
itself would only say that a `spacy-transformers.*` function is not registered).
"""

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Model

from ..errors import Errors
from .deferred_step import DeferredStep
from .serialization import CheckedLoad

try:  # the `transformers` extra
    from spacy_transformers.data_classes import FullTransformerBatch
    from spacy_transformers.pipeline_component import DEFAULT_CONFIG, DOC_EXT_ATTR, Transformer
except ImportError:
    Transformer = None

if Transformer is not None:

    class XferTransformer(CheckedLoad, DeferredStep, Transformer):  # type: ignore[misc,valid-type]
        """A spacy-transformers `Transformer` whose optimizer step waits for its last
        listener's backprop; a missing or corrupt saved part fails at load (E014,
        E015)."""

        def initialize(
            self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None
        ) -> None:
            """spacy-transformers' `initialize` (the weights are the pretrained model's)."""
            super().initialize(get_examples, nlp=nlp)
            self.has_state = True

        def check_loaded(self) -> Optional[str]:
            batch = self.cfg.get("max_batch_items")
            if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
                return f"expected a positive integer under 'max_batch_items', found {batch!r}"
            return None

    @Language.factory(
        "xfer_transformer",
        assigns=[f"doc._.{DOC_EXT_ATTR}"],
        default_config=DEFAULT_CONFIG["transformer"],
    )
    def make_xfer_transformer(
        nlp: Language,
        name: str,
        model: Model[List[Doc], FullTransformerBatch],
        set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
        max_batch_items: int,
    ) -> XferTransformer:
        """A shared transformer that `spacy-transformers.TransformerListener.v1` layers
        in `xfer_tagger` heads listen to. The arguments are those of spacy-transformers'
        `transformer` factory: `model` is usually a
        `spacy-transformers.TransformerModel.v3` (its `name` a Hugging Face model name
        or a local folder; `mixed_precision` for GPUs)."""
        return XferTransformer(
            nlp.vocab, model, set_extra_annotations, max_batch_items=max_batch_items, name=name
        )

else:

    @Language.factory("xfer_transformer")
    def make_xfer_transformer(nlp: Language, name: str) -> None:
        """Without spacy-transformers: raise E018, naming the extra to install."""
        raise ImportError(Errors.E018.format(name=name))

TRANSFORMERS_PREFIX = "spacy-transformers."


def check_transformers_installed(config: Dict[str, Any], path: Path) -> None:
    """Raise E086 if the config names a registered function of spacy-transformers
    (`@architectures = "spacy-transformers.TransformerModel.v3"`, ...) and spacy-transformers
    is not installed.

    config (Dict[str, Any]): The config, interpolated or not.
    path (Path): The config file, for the message.
    RAISES (ValueError): E086 (a config the installation cannot serve, as a missing GPU
        piece is a `DeviceError(ValueError)`; the command line prints it as one line).
    """
    if Transformer is not None:
        return
    functions = sorted({name for name in _registered_names(config) if name.startswith(TRANSFORMERS_PREFIX)})
    if functions:
        raise ValueError(Errors.E086.format(path=path, functions=", ".join(functions)))


def _registered_names(section: Dict[str, Any]) -> Iterator[str]:
    """The values of every `@registry` key in a config section and below it."""
    for key, value in section.items():
        if key.startswith("@") and isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _registered_names(value)
