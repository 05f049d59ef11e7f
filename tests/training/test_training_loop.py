"""spaCy's own training loop on the task stream: init_nlp + train, streaming mode."""

import io
import json
import logging

from spacy.training import Corpus
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_config_from_str, load_model_from_config

from .util import blank_english, make_docs, write_docbin

CONFIG = """
[paths]
a = null
b = null
dev = null

[system]
seed = 0
gpu_allocator = null

[nlp]
lang = "en"
pipeline = ["tagger"]

[components]

[components.tagger]
factory = "tagger"

[corpora]

[corpora.train]
@readers = "spacy_xfer.TaskSampler.v1"
seed = 0
batch_size = 5
log_every = 10

[corpora.train.tasks]

[corpora.train.tasks.a]
path = ${paths.a}
prob = 0.7

[corpora.train.tasks.b]
path = ${paths.b}
prob = 0.3
rate = 0.5

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${paths.dev}

[training]
max_epochs = -1
max_steps = 40
eval_frequency = 20
train_corpus = "corpora.train"
dev_corpus = "corpora.dev"

[training.batcher]
@batchers = "spacy_xfer.batch_by_task.v1"
size = 5

[training.optimizer]
@optimizers = "spacy_xfer.Adagrad.v1"
learn_rate = 0.1

[training.score_weights]
tag_acc = 1.0
"""


def test_spacy_trains_a_tagger_on_sampled_tasks(tmp_path, caplog):
    blank_english()  # skips while the package cannot build a pipeline yet
    paths = {
        "a": write_docbin(tmp_path / "a.spacy", make_docs("a", 20)),
        "b": write_docbin(tmp_path / "b.spacy", make_docs("b", 20)),
        "dev": write_docbin(tmp_path / "dev.spacy", make_docs("c", 5)),
    }
    overrides = {f"paths.{name}": str(path) for name, path in paths.items()}
    config = load_config_from_str(CONFIG, overrides=overrides)
    filled = load_model_from_config(config, auto_fill=True, validate=True).config
    with caplog.at_level(logging.INFO, logger="spacy.xfer"):
        nlp = init_nlp(filled)
        train(nlp, stdout=io.StringIO(), stderr=io.StringIO())
    logged = [r.getMessage() for r in caplog.records if "task proportions" in r.getMessage()]
    assert logged and logged[-1].startswith("TaskSampler: after 40 batches")
    scores = nlp.evaluate(Corpus(paths["dev"])(nlp))
    assert scores["tag_acc"] > 0.9, json.dumps(scores)
