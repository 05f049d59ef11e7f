"""Thinc glue between spaCy docs, Thinc arrays and the torch modules."""
