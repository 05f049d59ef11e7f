"""The vectors setting of experiments: its identity and width, the word encoders it
resizes, and grid results kept apart from the runs without vectors."""

from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from spacy.util import load_config

from spacy_xfer.experiments.grid import Grid, load_rows, plan_runs, run_grid, run_status, select_rows
from spacy_xfer.experiments.report import load_results, results_table
from spacy_xfer.experiments.steps import train_overrides
from spacy_xfer.experiments.vectors import vectors_info, vectors_width_overrides

from .fake_runner import FakeRunner, tiny_docs, write_docs

REPO = Path(__file__).resolve().parents[2]
ROW = "ptb-twitter_pos-t_a-0.1"


def vectors_pipeline(path: Path, width: int = 7) -> Path:
    """A blank English pipeline with 3 static vectors of `width`, saved as spaCy saves any."""
    nlp = spacy.blank("en")
    for i, word in enumerate(["cat", "dog", "fish"]):
        nlp.vocab.set_vector(word, numpy.full((width,), i, dtype="float32"))
    nlp.meta["name"] = "tiny_vectors"
    nlp.meta["version"] = "1.2.3"
    nlp.to_disk(path)
    return path


def test_vectors_info_reads_name_and_shape_from_the_pipeline(tmp_path):
    info = vectors_info(str(vectors_pipeline(tmp_path / "vec")))
    rows = spacy.load(tmp_path / "vec").vocab.vectors.shape[0]  # the table's rows, free ones too
    assert (info.name, info.rows, info.width) == ("en_tiny_vectors-1.2.3", rows, 7)


def test_vectors_info_names_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match=r"\[E062\] .*not a folder or an installed pipeline package"):
        vectors_info(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"\[E062\] .*meta.json not found"):
        vectors_info(str(tmp_path / "empty"))
    spacy.blank("en").to_disk(tmp_path / "novectors")
    with pytest.raises(ValueError, match=r"\[E062\] .*no width"):
        vectors_info(str(tmp_path / "novectors"))


@pytest.mark.parametrize("name,keys", [
    ("single", ["components.target.model.tok2vec.width"]),
    ("t_a", ["components.target.model.tok2vec.width"]),
    ("t_b", ["components.encoder.model.width"]),
    ("t_c", ["components.source.model.tok2vec.width", "components.target.model.tok2vec.width"]),
])
def test_every_word_encoder_of_the_shipped_configs_takes_the_vectors_width(name, keys):
    config = load_config(REPO / "configs" / f"{name}.cfg", interpolate=False)
    assert vectors_width_overrides(config, 300) == {key: 300 for key in keys}
    for key in keys:  # the settings exist, so spaCy applies the overrides
        section = config
        for part in key.split(".")[:-1]:
            section = section[part]
        assert "width" in section


def test_an_encoder_without_vectors_keeps_its_width():
    config = {"components": {"x": {"model": {"@architectures": "spacy_xfer.WordEncoder.v2", "width": 50, "use_vectors": False}}}}
    assert vectors_width_overrides(config, 300) == {}


def test_train_with_vectors_sets_the_word_width(tmp_path):
    corpus = tmp_path / "corpus"
    for part in ("train", "dev", "test"):
        write_docs(corpus / "twitter_pos" / f"{part}.spacy", tiny_docs(4))
    config = load_config(REPO / "configs" / "single.cfg", interpolate=False)
    vectors = str(vectors_pipeline(tmp_path / "vec", width=11))
    overrides = train_overrides(config, None, "twitter_pos", corpus, rate=1.0, seed=1, vectors=vectors)
    assert overrides["paths.vectors"] == vectors
    assert overrides["components.target.model.tok2vec.width"] == 11
    plain = train_overrides(config, None, "twitter_pos", corpus, rate=1.0, seed=1, vectors=None)
    assert not any(key.endswith(".width") for key in plain)


def test_vectors_runs_keep_their_own_results_beside_the_runs_without(tmp_path):
    vectors = str(vectors_pipeline(tmp_path / "vec"))

    def grid(**settings) -> Grid:
        return Grid(tmp_path / "raw", tmp_path / "work", tmp_path / "results", configs_dir=REPO / "configs",
                    python="python", max_seconds=60, **settings)

    runs = plan_runs(select_rows(ROW), [13], ["none", "spacy"])
    plain, with_vectors = grid(), grid(vectors=vectors)
    run_grid(runs, plain, runner=FakeRunner(test_score=0.6), echo=lambda _: None)
    # the runs without vectors do not make the vectors runs done or stale, nor the reverse
    assert [run_status(run, with_vectors)[0] for run in runs] == ["todo", "todo"]
    runner = FakeRunner(test_score=0.8)
    summary = run_grid(runs, with_vectors, runner=runner, echo=lambda _: None)
    assert len(summary.ran) == 2
    assert [run_status(run, plain)[0] for run in runs] == ["done", "done"]
    train, spacy_train = runner.commands[0], runner.commands[2]
    assert train[train.index("--vectors") + 1] == vectors and "/runs/vectors/" in train[5]
    assert spacy_train[spacy_train.index("--paths.vectors") + 1] == vectors
    saved = srsly.read_json(tmp_path / "results" / "vectors" / f"{ROW}-none-s13.json")
    name = vectors_info(vectors)
    assert saved["settings"]["vectors"] == f"{name.name} ({name.rows} x 7)"  # not the machine's path
    assert srsly.read_json(tmp_path / "results" / f"{ROW}-none-s13.json")["settings"]["vectors"] is None
    # each table shows its own runs, and the vectors table names them
    _, sets = load_rows()
    table = results_table(sets["table2"], load_results(tmp_path / "results" / "vectors"), with_vectors=True)
    assert "80.00 (n=1)" in table and "60.00" not in table
    assert "--vectors PATH" in table and saved["settings"]["vectors"] in table
    assert "60.00 (n=1)" in results_table(sets["table2"], load_results(tmp_path / "results"))
