"""spacy-xfer: transfer learning for sequence tagging in spaCy (Yang et al., ICLR 2017)."""

from .models import architectures  # noqa: F401  (registers the architectures)
from .pipeline.quantize import quantize
from .pipeline.xfer_encoder import XferEncoder
from .pipeline.xfer_tagger import XferTagger

__version__ = "0.1.0"
__all__ = ["XferEncoder", "XferTagger", "__version__", "quantize"]
