"""spaCy pipeline components: the `xfer_tagger` heads and the shared `xfer_encoder`."""
