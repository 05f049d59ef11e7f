"""CRF heads sharing a transformer (spacy-transformers, the `transformers` extra), with
a tiny BERT built in the test: task-sampled updates move the transformer with the
batch's task only, the shipped transformer configs train, and trained pipelines give
the same predictions through `nlp.pipe`, `nlp()` and serialization, and a missing or
corrupt part of a saved transformer fails at load as one of a saved `xfer_encoder`
does (tests/pipeline/test_loading.py)."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy
import pytest
import spacy
import srsly
from spacy.lang.en import English
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import SGD, Adam
from typer.testing import CliRunner

from .test_loading import copy_of
from .test_sharing import all_examples, pos_examples, weights
from ..util import NER_DATA, TAG_DATA, examples_for, import_extra

import_extra("spacy_transformers")
import_extra("tokenizers")

from spacy_xfer.cli import app  # noqa: E402
from spacy_xfer.pipeline.xfer_transformer import XferTransformer  # noqa: E402

from ..test_configs import write_corpus  # noqa: E402
from ..transformer_util import TINY_BERT, save_bert  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEXTS = [text for text, _ in TAG_DATA + NER_DATA]
LISTENER = {
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "pooling": {"@layers": "reduce_mean.v1"},
}
TARGETS = {"pos_head": "tag", "ner_head": "ents"}


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    return str(save_bert(tmp_path_factory.mktemp("tiny_bert"), TEXTS, **TINY_BERT))


def make_nlp(bert: str, order: List[str], factory: str = "xfer_transformer") -> English:
    nlp = English()
    nlp.add_pipe(factory, name="transformer", config={"model": {"name": bert}})
    for name in order:
        model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": LISTENER}
        nlp.add_pipe("xfer_tagger", name=name, config={"target": TARGETS[name], "model": model})
    return nlp


def read(doc) -> tuple:
    return tuple(t.tag_ for t in doc), tuple((e.start, e.end, e.label_) for e in doc.ents)


@pytest.mark.parametrize(
    "factory",
    [
        "xfer_transformer",
        pytest.param(
            "transformer",
            marks=pytest.mark.xfail(
                strict=True,
                reason="spacy-transformers steps the transformer before its listeners backpropagate",
            ),
        ),
    ],
)
def test_shared_transformer_moves_with_the_batch_task_whichever_head_is_last(tiny_bert, factory):
    first = make_nlp(tiny_bert, ["pos_head", "ner_head"], factory)
    first.initialize(lambda: all_examples(first))
    second = make_nlp(tiny_bert, ["ner_head", "pos_head"], factory)
    second.initialize(lambda: all_examples(second))
    second.from_bytes(first.to_bytes())
    alone = make_nlp(tiny_bert, ["pos_head"], factory)
    alone.initialize(lambda: pos_examples(alone))
    alone.get_pipe("pos_head").from_bytes(first.get_pipe("pos_head").to_bytes())

    before = weights(first, "transformer")
    ner_before = weights(first, "ner_head")
    after = {}
    for key, nlp in (("first", first), ("second", second), ("alone", alone)):
        # SGD: Adam's first step would blow round-off (1e-12) gradients up to ~1e-6 moves
        nlp.update(pos_examples(nlp), sgd=SGD(0.1, L2=0.0))
        after[key] = weights(nlp, "transformer")
    assert not numpy.allclose(after["first"], before)
    numpy.testing.assert_allclose(after["first"], after["second"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(after["first"], after["alone"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_array_equal(weights(first, "ner_head"), ner_before)
    numpy.testing.assert_array_equal(weights(second, "ner_head"), ner_before)


def test_a_listener_left_holding_an_old_batch_does_not_fail_a_batch_without_tokens(tiny_bert):
    """A head left out of an update (`exclude`) keeps the batch its listener was handed;
    a following batch without tokens, which the transformer hands no listener, must not
    make that head answer for the old batch (spacy-transformers: "Mismatched IDs")."""
    nlp = make_nlp(tiny_bert, ["pos_head", "ner_head"])
    nlp.initialize(lambda: all_examples(nlp))
    nlp.update(pos_examples(nlp), sgd=SGD(0.1, L2=0.0), exclude=["ner_head"])
    nlp.update([Example(nlp.make_doc(""), Doc(nlp.vocab, words=[]))], sgd=SGD(0.1, L2=0.0))
    before = weights(nlp, "transformer")
    nlp.update(examples_for(nlp, NER_DATA, "ents"), sgd=SGD(0.1, L2=0.0))
    assert not numpy.allclose(weights(nlp, "transformer"), before)


@pytest.fixture(scope="module")
def trained(tiny_bert) -> English:
    """A transformer and two heads after a few task-sampled updates."""
    nlp = make_nlp(tiny_bert, ["pos_head", "ner_head"])
    nlp.initialize(lambda: all_examples(nlp))
    optimizer = Adam(0.01)
    batches = [pos_examples(nlp), examples_for(nlp, NER_DATA, "ents")]
    for step in range(6):
        nlp.update(batches[step % 2], sgd=optimizer)
    return nlp


def test_trained_pipeline_is_the_same_through_pipe_call_and_serialization(trained, tiny_bert, tmp_path):
    assert isinstance(trained.get_pipe("transformer"), XferTransformer)
    texts = TEXTS + ["", "Anna eats green ham in Paris"]
    expected = [read(trained(text)) for text in texts]
    assert [read(doc) for doc in trained.pipe(texts, batch_size=3)] == expected
    assert any(tags for tags, _ in expected) and any(ents for _, ents in expected)
    from_bytes = make_nlp(tiny_bert, ["pos_head", "ner_head"]).from_bytes(trained.to_bytes())
    assert [read(doc) for doc in from_bytes.pipe(texts)] == expected
    trained.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [read(doc) for doc in loaded.pipe(texts)] == expected
    assert isinstance(loaded.get_pipe("transformer"), XferTransformer)


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("saved_trf")
    trained.to_disk(root / "trf")
    return root


@pytest.mark.parametrize("part", ["cfg", "model"])
def test_missing_part_of_the_transformer_fails_at_load_naming_the_file(saved, tmp_path, part):
    path = copy_of(saved, "trf", tmp_path)
    (path / "transformer" / part).unlink()
    with pytest.raises(ValueError, match=f"E014.*'transformer'.*{re.escape(str(path / 'transformer' / part))}"):
        spacy.load(path)


@pytest.mark.parametrize("part,content", [
    ("model", b"not a model"),  # msgpack: ExtraData
    ("model", None),  # truncated: Unpack failed
    ("cfg", b"{"),
    ("cfg", b"[1, 2]"),
    ("cfg", b'{"max_batch_items": "many"}'),
])
def test_corrupt_part_of_the_transformer_fails_at_load_naming_the_file(saved, tmp_path, part, content):
    path = copy_of(saved, "trf", tmp_path)
    file = path / "transformer" / part
    file.write_bytes(content if content is not None else file.read_bytes()[: file.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"E015.*'transformer'.*{re.escape(str(file))}"):
        spacy.load(path)


@pytest.mark.parametrize("part", ["cfg", "model"])
def test_missing_field_of_the_transformer_fails_from_bytes(saved, part):
    nlp = spacy.load(saved / "trf")
    data = srsly.msgpack_loads(nlp.get_pipe("transformer").to_bytes())
    del data[part]
    fresh = English.from_config(nlp.config)
    with pytest.raises(ValueError, match=f"E014.*'transformer'.*field '{part}'"):
        fresh.get_pipe("transformer").from_bytes(srsly.msgpack_dumps(data))


@pytest.mark.parametrize("how", ["loaded", "initialized"])
def test_a_transformer_load_that_fails_leaves_the_transformer_as_it_was(saved, tiny_bert, how):
    """Another cfg and a model whose weights are corrupt: E015, and the transformer
    keeps its cfg and weights (the heads predict as before), not the random BERT
    spacy-transformers builds before it reads the weights."""
    if how == "loaded":
        nlp = spacy.load(saved / "trf")
    else:
        nlp = make_nlp(tiny_bert, ["pos_head", "ner_head"])
        nlp.initialize(lambda: all_examples(nlp))
    pipe = nlp.get_pipe("transformer")
    before_cfg, before_weights = dict(pipe.cfg), weights(nlp, "transformer")
    before = [read(doc) for doc in nlp.pipe(TEXTS)]
    data = srsly.msgpack_loads(pipe.to_bytes())
    model = srsly.msgpack_loads(data["model"])
    shim = srsly.msgpack_loads(model["shims"][-1][0])
    shim["state"] = b"garbage"  # read after spacy-transformers has put a new, random BERT in
    model["shims"][-1][0] = srsly.msgpack_dumps(shim)
    other = {**data, "cfg": srsly.json_dumps({"max_batch_items": 7}), "model": srsly.msgpack_dumps(model)}
    with pytest.raises(ValueError, match="E015.*'transformer'.*field 'model'"):
        pipe.from_bytes(srsly.msgpack_dumps(other))
    assert pipe.cfg == before_cfg
    numpy.testing.assert_array_equal(weights(nlp, "transformer"), before_weights)
    assert [read(doc) for doc in nlp.pipe(TEXTS)] == before


def test_a_head_trained_on_a_transformer_of_another_width_says_so_at_predict_and_update(trained, tmp_path):
    """A head trained on the 32-wide tiny BERT, sourced into a pipeline whose transformer
    is 48 wide: its first batch names the head and both widths (E111), where torch
    would say only that mat1 and mat2 cannot be multiplied."""
    wider = str(save_bert(tmp_path / "bert48", TEXTS, **dict(TINY_BERT, hidden_size=48)))
    nlp = English()
    nlp.add_pipe("xfer_transformer", name="transformer", config={"model": {"name": wider}})
    nlp.add_pipe("pos_head", source=trained)
    nlp.get_pipe("transformer").initialize(lambda: pos_examples(nlp), nlp=nlp)
    expected = r"\[E111\] Component 'pos_head' gets vectors of width 48 from .*, but its emission layer takes vectors of width 32"
    with pytest.raises(ValueError, match=expected):
        nlp("Anna lives in Paris")
    with pytest.raises(ValueError, match=expected):
        nlp.update(pos_examples(nlp), sgd=SGD(0.1))


LOSSES: List[Dict[str, float]] = []


@spacy.registry.loggers("xfer_test.collect_losses.v1")
def collect_losses():
    """A training logger that keeps the losses of every evaluation in LOSSES."""

    def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
        def log_step(info):
            if info is not None:
                LOSSES.append(dict(info["losses"]))

        return log_step, lambda: None

    return setup


def train_cli(config: str, root: Path, bert: str, source: Optional[str], steps: int) -> Path:
    """`python -m spacy_xfer train configs/CONFIG.cfg` for a few steps on tiny corpora
    named after the benchmarks (conll03 -> twitter_ner), evaluating (and logging the
    losses to LOSSES) at every step. RETURNS (Path): the output folder."""
    for name, data in (("conll03", NER_DATA), ("twitter_ner", NER_DATA[::-1])):
        (root / "corpus" / name).mkdir(parents=True, exist_ok=True)
        for part in ("train", "dev"):
            write_corpus(root / "corpus" / name / f"{part}.spacy", data, "ents")
    settings = {
        "components.transformer.model.name": bert,
        "training.max_steps": steps,
        "training.eval_frequency": 1,
        "training.batcher.size": 4,
        "training.optimizer.learn_rate.warmup_steps": 2,
        "training.optimizer.learn_rate.initial_rate": 0.005,
        "training.logger": {"@loggers": "xfer_test.collect_losses.v1"},
    }
    args = ["train", str(REPO / "configs" / f"{config}.cfg"), str(root / "out"), "--target", "twitter_ner",
            "--corpus-dir", str(root / "corpus"), "--rate", "1"]
    args += ["--source", source] if source else []
    for key, value in settings.items():
        args += ["--set", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    LOSSES.clear()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root / "out"


@pytest.fixture(scope="module")
def t_b_training(tiny_bert, tmp_path_factory) -> Path:
    return train_cli("t_b_trf", tmp_path_factory.mktemp("t_b_trf"), tiny_bert, "conll03", steps=12)


@pytest.mark.slow
def test_t_b_trf_config_trains_the_transformer_and_the_target(t_b_training, tiny_bert):
    from transformers import AutoModel

    nlp = spacy.load(t_b_training / "model-last")
    assert nlp.pipe_names == ["transformer", "source", "target"]
    initial = AutoModel.from_pretrained(tiny_bert).state_dict()
    trained = nlp.get_pipe("transformer").model.transformer.state_dict()
    assert any(not numpy.allclose(trained[key].numpy(), value.numpy()) for key, value in initial.items())
    target = [losses["target"] for losses in LOSSES if losses.get("target")]
    source = [losses["source"] for losses in LOSSES if losses.get("source")]
    assert len(LOSSES) >= 12 and len(target) >= 3 and source  # evaluated at step 0 too
    assert numpy.mean(target[-2:]) < numpy.mean(target[:2])
    assert set(nlp.get_pipe("target").labels) == {"LOC", "PER"}


@pytest.mark.slow
def test_trained_transformer_pipeline_packages(t_b_training, tmp_path):
    subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(t_b_training / "model-last"), str(tmp_path),
         "--name", "xfer_trf_test", "--version", "0.0.1", "--build", "wheel", "--force"],
        check=True, capture_output=True,
    )
    wheels = list(tmp_path.glob("*/dist/*.whl"))
    assert len(wheels) == 1
    meta = json.loads(next(tmp_path.glob("*/en_xfer_trf_test/en_xfer_trf_test-0.0.1/meta.json")).read_text())
    requirements = " ".join(meta["requirements"])
    assert "spacy-transformers" in requirements and "spacy-xfer" in requirements
    packaged = spacy.load(next(tmp_path.glob("*/en_xfer_trf_test/en_xfer_trf_test-0.0.1")))
    last = spacy.load(t_b_training / "model-last")
    assert [read(doc) for doc in packaged.pipe(TEXTS)] == [read(doc) for doc in last.pipe(TEXTS)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "config,source,labels",
    # T-A maps CoNLL-03's types onto the Twitter corpus's (benchmarks.json)
    [("t_a_trf", "conll03", {"geo-loc", "person"}), ("single_trf", None, {"LOC", "PER"})],
)
def test_t_a_and_single_trf_configs_train(config, source, labels, tiny_bert, tmp_path):
    nlp = spacy.load(train_cli(config, tmp_path, tiny_bert, source, steps=4) / "model-last")
    assert nlp.pipe_names == ["transformer", "target"]
    assert isinstance(nlp.get_pipe("transformer"), XferTransformer)
    assert set(nlp.get_pipe("target").labels) == labels
    assert [read(doc) for doc in nlp.pipe(TEXTS)] == [read(nlp(text)) for text in TEXTS]
