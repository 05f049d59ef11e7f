"""The spaCy built-in baseline of an experiment: spaCy's own tagger or NER, from
`spacy init config` with the efficiency optimisation, trained on the same labelled
sentences as the xfer models (the package's labelling-rate sample, same seed) and
scored on the same dev and test sentences, words as given.

| target        | spaCy component | gold it learns from                   | score key |
| ------------- | --------------- | ------------------------------------- | --------- |
| `tag`         | `tagger`        | `Token.tag_`                          | `tag_acc` |
| `ents`        | `ner`           | `Doc.ents`                            | `ents_f`  |
| `spans:KEY`   | `ner`           | `Doc.spans[KEY]`, copied to `Doc.ents` | `ents_f`  |
"""

from pathlib import Path
from typing import Dict, List, NamedTuple

from spacy.cli.init_config import init_config
from spacy.tokens import Doc, DocBin
from spacy.util import get_lang_class
from thinc.api import Config

from ..corpora.io import write_atomic
from ..errors import Errors
from ..training.task_sampler import TaskSampler, read_task_settings

PARTS = ("train", "dev", "test")


class BaselineTask(NamedTuple):
    """How spaCy's built-in pipeline learns a target.

    component (str): The spaCy factory, e.g. "tagger".
    score_key (str): The key of the main score in spaCy's scores, e.g. "tag_acc".
    spans_key (str): For `spans:KEY` targets, the spans copied to `Doc.ents`; else "".
    """

    component: str
    score_key: str
    spans_key: str = ""


def baseline_task(target: str) -> BaselineTask:
    """The spaCy component that learns a benchmark target ("tag", "ents", "spans:KEY").

    RAISES (ValueError): E067 for other targets, naming the ones supported.
    """
    if target == "tag":
        return BaselineTask("tagger", "tag_acc")
    if target == "ents":
        return BaselineTask("ner", "ents_f")
    if target.startswith("spans:") and len(target) > len("spans:"):
        return BaselineTask("ner", "ents_f", spans_key=target[len("spans:"):])
    raise ValueError(Errors.E067.format(target=target))


def baseline_config(lang: str, target: str) -> Config:
    """spaCy's efficiency config (`spacy init config --optimize efficiency`, CPU) for the
    component that learns `target`, with no step cap (`[training] max_steps = 0`), so
    training stops by spaCy's own patience (or a wall-time budget given at train time),
    and the corpora read with `gold_preproc`: the words as given, as the xfer models
    read them, instead of spaCy's tokenizer on the text.

    lang (str): The language code, e.g. "en".
    target (str): The benchmark target, see `baseline_task`.
    RETURNS (Config): The config, not interpolated.
    """
    get_lang_class(lang)  # a clear error for an unknown language
    task = baseline_task(target)
    config = init_config(lang=lang, pipeline=[task.component], optimize="efficiency", gpu=False)
    config["training"]["max_steps"] = 0
    for part in ("train", "dev"):
        config["corpora"][part]["gold_preproc"] = True
    return config


def baseline_docs(docs: List[Doc], spans_key: str) -> List[Doc]:
    """Docs whose gold is where spaCy's component reads it: with a `spans_key`, each
    doc's `Doc.spans[spans_key]` (non-overlapping, e.g. chunks) becomes its `Doc.ents`.

    RAISES (ValueError): E068 if spans overlap, naming the doc.
    """
    if not spans_key:
        return docs
    for i, doc in enumerate(docs):
        try:
            doc.set_ents(list(doc.spans.get(spans_key, [])), default="outside")
        except ValueError as e:
            raise ValueError(Errors.E068.format(i=i, text=doc.text[:40], key=spans_key, error=e)) from e
    return docs


def write_baseline_corpus(
    corpus_dir: Path, output_dir: Path, *, target: str, rate: float, seed: int
) -> Dict[str, int]:
    """Write the baseline's `train.spacy`, `dev.spacy` and `test.spacy` from a prepared
    benchmark folder: the train sentences a labelling rate keeps, drawn by the same
    reader and seed as the xfer models' (`TaskSampler.read_sentences`, `rate_seed` =
    `seed`), and every dev and test sentence; span targets become `Doc.ents`.

    corpus_dir (Path): The benchmark folder `prepare` wrote (train/dev/test.spacy).
    output_dir (Path): Where the three files go (written atomically).
    target (str): The benchmark target.
    rate (float): The labelling rate of the train part, in (0, 1].
    seed (int): The labelling-rate seed.
    RETURNS (Dict[str, int]): Sentences written per part.
    """
    task = baseline_task(target)
    vocab = get_lang_class("xx")().vocab
    counts: Dict[str, int] = {}
    for part in PARTS:
        settings = {"path": str(Path(corpus_dir) / f"{part}.spacy"), "prob": 1.0}
        settings["rate"] = rate if part == "train" else 1.0
        corpus = read_task_settings(part, settings)
        sentences = TaskSampler([corpus], rate_seed=seed).read_sentences(corpus, vocab)
        docbin = DocBin(docs=baseline_docs(sentences, task.spans_key), store_user_data=False)
        write_atomic(Path(output_dir) / f"{part}.spacy", docbin.to_bytes())
        counts[part] = len(sentences)
    return counts
