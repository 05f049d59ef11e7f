"""Annotating corpora with a trained pipeline (`spacy-xfer annotate`) and choosing what
to label next (`spacy-xfer select`): readers, writers, sharded runs on local processes
or a Dask cluster."""
