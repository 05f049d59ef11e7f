import pytest
import spacy
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_xfer.experiments.baseline import baseline_config, baseline_task, write_baseline_corpus
from spacy_xfer.labelling_rate import sample_rate

from .fake_runner import tiny_docs, write_docs


@pytest.mark.parametrize(
    "lang,target,component,score",
    [("en", "tag", "tagger", "tag_acc"), ("en", "ents", "ner", "ents_f"), ("en", "spans:chunks", "ner", "ents_f"), ("es", "ents", "ner", "ents_f")],
)
def test_baseline_config_is_spacys_efficiency_config_for_the_target(lang, target, component, score):
    config = baseline_config(lang, target)
    assert config["nlp"]["lang"] == lang
    assert config["nlp"]["pipeline"] == ["tok2vec", component]
    assert config["training"]["score_weights"][score] == 1.0
    assert config["training"]["max_steps"] == 0  # stopped by patience or the budget
    assert config["training"]["patience"] > 0
    assert config["corpora"]["train"]["gold_preproc"] and config["corpora"]["dev"]["gold_preproc"]
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    assert nlp.pipe_names == ["tok2vec", component]
    assert baseline_task(target).score_key == score


def test_baseline_config_names_the_unsupported_target():
    with pytest.raises(ValueError, match=r"\[E067\] .*target 'pos'.*expected 'tag', 'ents' or 'spans:KEY'"):
        baseline_config("en", "pos")


def read_words(path):
    return [tuple(t.text for t in doc) for doc in DocBin().from_disk(path).get_docs(Vocab())]


def test_the_train_subset_is_the_labelling_rate_sample_of_the_seed(tmp_path):
    corpus = tmp_path / "corpus"
    docs = {part: tiny_docs(40, prefix=part) for part in ("train", "dev", "test")}
    for part, part_docs in docs.items():
        write_docs(corpus / f"{part}.spacy", part_docs)
    counts = write_baseline_corpus(corpus, tmp_path / "a", target="tag", rate=0.25, seed=3)
    assert counts == {"train": 10, "dev": 40, "test": 40}
    expected = [tuple(t.text for t in doc) for doc in sample_rate(docs["train"], 0.25, 3)]
    assert read_words(tmp_path / "a" / "train.spacy") == expected
    assert read_words(tmp_path / "a" / "dev.spacy") == [tuple(t.text for t in doc) for doc in docs["dev"]]
    write_baseline_corpus(corpus, tmp_path / "b", target="tag", rate=0.25, seed=3)
    assert (tmp_path / "a" / "train.spacy").read_bytes() == (tmp_path / "b" / "train.spacy").read_bytes()
    write_baseline_corpus(corpus, tmp_path / "c", target="tag", rate=0.25, seed=4)
    assert read_words(tmp_path / "c" / "train.spacy") != expected
    tags = [t.tag_ for doc in DocBin().from_disk(tmp_path / "a" / "train.spacy").get_docs(Vocab()) for t in doc]
    assert set(tags) == {"NNP", "VBD", "PRP"}


def test_chunks_become_entities_for_spacys_ner(tmp_path):
    corpus = tmp_path / "corpus"
    for part in ("train", "dev", "test"):
        write_docs(corpus / f"{part}.spacy", tiny_docs(4))
    write_baseline_corpus(corpus, tmp_path / "out", target="spans:chunks", rate=1.0, seed=0)
    for part in ("train", "dev", "test"):
        doc = next(DocBin().from_disk(tmp_path / "out" / f"{part}.spacy").get_docs(Vocab()))
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [(0, 1, "NP"), (1, 2, "VP"), (2, 3, "NP")]
