import pytest

from ..util import NER_DATA, TAG_DATA, examples_for, tiny_tagger, train


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory):
    """A tiny trained NER pipeline on disk."""
    nlp = tiny_tagger("ents")
    train(nlp, examples_for(nlp, NER_DATA, "ents"), steps=25)
    path = tmp_path_factory.mktemp("models") / "ner"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="session")
def tag_model(tmp_path_factory):
    nlp = tiny_tagger("tag")
    train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=25)
    path = tmp_path_factory.mktemp("models") / "tag"
    nlp.to_disk(path)
    return path
