"""`disable-heads`: a copy of a trained pipeline to package, its source heads disabled."""

import spacy
from typer.testing import CliRunner

from spacy_xfer.cli import app
from spacy_xfer.experiments import steps

from ..util import TINY_ENCODER, examples_for, tiny_model

TAGS = [("I like green eggs", ["PRP", "VBP", "JJ", "NNS"]), ("you eat ham", ["PRP", "VBP", "NN"])]
ENTS = [("Anna visits Paris", ["U-PER", "O", "U-LOC"]), ("Paris likes Anna", ["U-LOC", "O", "U-PER"])]
TEXT = "Anna likes green Paris"


def t_b_pipeline(tmp_path):
    """A saved T-B pipeline: a shared encoder, a tag source head (not primary) and an
    entity target head listening to it."""
    nlp = spacy.blank("en")
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": TINY_ENCODER})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 32, "upstream": "encoder"}
    for name, target, primary in (("source", "tag", False), ("target", "ents", True)):
        config = {"target": target, "primary": primary, "model": tiny_model(listener)}
        nlp.add_pipe("xfer_tagger", name=name, config=config)
    nlp.initialize(lambda: examples_for(nlp, TAGS, "tag") + examples_for(nlp, ENTS, "ents"))
    nlp.to_disk(tmp_path / "model")
    return nlp


def disable_heads(*args):
    return CliRunner().invoke(app, ["disable-heads", *map(str, args)])


def test_the_copy_serves_the_target_and_runs_the_source_head_once_enabled(tmp_path):
    nlp = t_b_pipeline(tmp_path)
    result = disable_heads(tmp_path / "model", tmp_path / "served")
    assert result.exit_code == 0, result.output
    assert "source disabled; runs encoder, target" in result.output
    served = spacy.load(tmp_path / "served")
    assert served.pipe_names == ["encoder", "target"] and served.disabled == ["source"]
    expected = nlp(TEXT)
    doc = served(TEXT)
    assert [(e.text, e.label_) for e in doc.ents] == [(e.text, e.label_) for e in expected.ents]
    assert all(token._.source is None for token in doc)  # the source head did not run
    served.enable_pipe("source")
    assert [token._.source for token in served(TEXT)] == [token._.source for token in expected]
    assert spacy.load(tmp_path / "model").disabled == []  # the trained pipeline is unchanged


def test_named_heads_are_disabled_and_an_unknown_name_writes_nothing(tmp_path):
    t_b_pipeline(tmp_path)
    assert disable_heads(tmp_path / "model", tmp_path / "served", "--heads", "target").exit_code == 0
    assert spacy.load(tmp_path / "served").pipe_names == ["encoder", "source"]
    result = disable_heads(tmp_path / "model", tmp_path / "other", "--heads", "target,nope")
    assert result.exit_code == 1 and "E122" in result.output and "nope" in result.output
    assert not (tmp_path / "other").exists()


def test_an_earlier_copy_is_replaced_and_a_failed_save_leaves_it_as_it_was(tmp_path, monkeypatch):
    t_b_pipeline(tmp_path)
    assert disable_heads(tmp_path / "model", tmp_path / "served", "--heads", "target").exit_code == 0
    assert disable_heads(tmp_path / "model", tmp_path / "served").exit_code == 0
    assert spacy.load(tmp_path / "served").disabled == ["source"]
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(spacy.language.Language, "to_disk", fail)
    result = disable_heads(tmp_path / "model", tmp_path / "served", "--heads", "target")
    assert result.exit_code == 1 and "disk full" in result.output
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before  # no part, no temp folder
    monkeypatch.undo()
    assert spacy.load(tmp_path / "served").disabled == ["source"]


def test_a_folder_of_other_files_or_the_model_itself_is_refused(tmp_path):
    t_b_pipeline(tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    result = disable_heads(tmp_path / "model", tmp_path / "notes")
    assert result.exit_code == 1 and "E038" in result.output and "config.cfg" in result.output
    assert [path.name for path in (tmp_path / "notes").iterdir()] == ["todo.txt"]
    (tmp_path / "link").symlink_to(tmp_path / "notes")
    for output in ("model", "model/served", ".", "link"):  # the model, in it, holding it, a link
        result = disable_heads(tmp_path / "model", tmp_path / output)
        assert result.exit_code == 1 and "E038" in result.output, output
    assert spacy.load(tmp_path / "model").disabled == [] and not (tmp_path / "model" / "served").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link", "model", "notes"]


def test_a_shared_encoder_is_refused_while_heads_listen_to_it(tmp_path):
    t_b_pipeline(tmp_path)
    result = disable_heads(tmp_path / "model", tmp_path / "served", "--heads", "encoder,source")
    assert result.exit_code == 1 and "E123" in result.output and "target" in result.output
    assert not (tmp_path / "served").exists()
    assert disable_heads(tmp_path / "model", tmp_path / "served", "--heads", "encoder,source,target").exit_code == 0


def test_the_copy_is_as_readable_as_a_folder_the_user_makes(tmp_path):
    t_b_pipeline(tmp_path)
    (tmp_path / "made").mkdir()
    assert disable_heads(tmp_path / "model", tmp_path / "served").exit_code == 0
    assert (tmp_path / "served").stat().st_mode == (tmp_path / "made").stat().st_mode


def test_secondary_heads_are_the_heads_that_are_not_primary(tmp_path):
    nlp = t_b_pipeline(tmp_path)
    nlp.add_pipe("sentencizer")
    assert steps.secondary_heads(nlp) == ["source"]
