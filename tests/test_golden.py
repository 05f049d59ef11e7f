"""Golden predictions: a fixed tiny pipeline trained from a fixed seed predicts what it
predicted when `tests/golden/tiny_pipeline.json` was written.

The pipeline is the paper's T-B shape: a shared char + word encoder (`xfer_encoder`),
a CRF head on tags and a CRF head on entities (with gazetteer features) listening to
it. It trains a few steps, one task per batch, then tags held-out texts. The losses of
every step, the predicted tags and entities, and the CRF's confidence in them must
match the file: a refactor of the model code must keep the same predictions from the
same seed. The file is written once by running this module as a script; never
regenerate it to make a refactor pass.
"""

import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import spacy
import srsly
from spacy.language import Language
from thinc.api import Adam, fix_random_seed

from .util import NER_DATA, TAG_DATA, examples_for

GOLDEN = Path(__file__).parent / "golden" / "tiny_pipeline.json"
# the pipeline of GOLDEN after training, saved by the code before the model refactor
SAVED_BEFORE_REFACTOR = GOLDEN.parent / "saved_before_refactor"
TEXTS = ["Anna eats green ham in Paris", "They like New York", "Bob", ""]
STEPS = 6
DIGITS = 4  # decimals compared: float reordering differs far below, training far above


def build_nlp(tmp_path: Path) -> Language:
    """The fixed pipeline, its gazetteer lists written under tmp_path."""
    gazetteer_dir = tmp_path / "gazetteer"
    gazetteer_dir.mkdir()
    (gazetteer_dir / "ner.loc.lst").write_text("paris\nnew york\n", encoding="utf8")
    (gazetteer_dir / "ner.per.lst").write_text("anna\n", encoding="utf8")
    nlp = spacy.blank("en")
    encoder = {
        "@architectures": "spacy_xfer.CharWordEncoder.v1",
        "char_width": 6, "char_hidden": 5, "char_depth": 1,
        "width": 6, "hidden": 8, "depth": 1,
    }
    nlp.add_pipe("xfer_encoder", name="encoder", config={"model": encoder})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 16, "upstream": "encoder"}
    tagger = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": listener}
    nlp.add_pipe("xfer_tagger", name="pos_head", config={"target": "tag", "model": tagger, "confidence": True})
    features = {"@architectures": "spacy_xfer.GazetteerFeatures.v1", "path": str(gazetteer_dir)}
    ner = {**tagger, "features": features}
    nlp.add_pipe("xfer_tagger", name="ner_head", config={"target": "ents", "model": ner, "confidence": True})
    return nlp


def train_golden(tmp_path: Path) -> Tuple[Language, List[Dict[str, float]]]:
    """The fixed pipeline trained from the fixed seed, and its losses at each step."""
    fix_random_seed(0)
    nlp = build_nlp(tmp_path)
    pos, ner = examples_for(nlp, TAG_DATA, "tag"), examples_for(nlp, NER_DATA, "ents")
    nlp.initialize(lambda: pos + ner)
    optimizer = Adam(0.05)
    losses: List[Dict[str, float]] = []
    for step in range(STEPS):
        step_losses: Dict[str, float] = {}
        nlp.update(pos if step % 2 == 0 else ner, sgd=optimizer, losses=step_losses)
        losses.append({name: round(loss, DIGITS) for name, loss in sorted(step_losses.items())})
    return nlp, losses


def predictions(nlp: Language) -> Dict[str, Any]:
    """What the pipeline predicts on TEXTS (rounded); its heads have `confidence` on."""
    docs = list(nlp.pipe(TEXTS))
    nbest = nlp.get_pipe("ner_head").nbest(docs[:2], 3, entropy=True)
    return {
        "tags": [[token.tag_ for token in doc] for doc in docs],
        "ents": [[(ent.start, ent.end, ent.label_) for ent in doc.ents] for doc in docs],
        "tag_confidence": [[round(token._.pos_head_confidence, DIGITS) for token in doc] for doc in docs],
        "ent_scores": [[round(float(s), DIGITS) for s in doc.spans["ner_head"].attrs["scores"]] for doc in docs],
        "nbest": [
            {"labels": best.labels, "log_probs": [round(p, DIGITS) for p in best.log_probs],
             "entropy": round(best.entropy, DIGITS)}
            for best in nbest
        ],
    }


def run_golden(tmp_path: Path) -> Dict[str, Any]:
    """Train the fixed pipeline and return its losses and predictions."""
    nlp, losses = train_golden(tmp_path)
    return {"losses": losses, **predictions(nlp)}


def _as_json(data: Dict[str, Any]) -> Any:
    """Tuples as lists, as the JSON file holds them."""
    return srsly.json_loads(srsly.json_dumps(data))


def assert_close(got: Any, expected: Any, where: str = "") -> None:
    """Equal structure and strings, numbers within the rounding."""
    if isinstance(expected, float) or isinstance(got, float):
        assert got == pytest.approx(expected, abs=2 * 10**-DIGITS), where
    elif isinstance(expected, dict):
        assert sorted(got) == sorted(expected), where
        for key in expected:
            assert_close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_close(g, e, f"{where}[{i}]")
    else:
        assert got == expected, where


def test_same_seed_gives_the_golden_predictions(tmp_path):
    assert_close(_as_json(run_golden(tmp_path)), srsly.read_json(GOLDEN))


def test_a_pipeline_saved_before_the_refactor_loads_and_predicts_the_same():
    confidence = {"confidence": True}
    nlp = spacy.load(SAVED_BEFORE_REFACTOR, config={"components": {"pos_head": confidence, "ner_head": confidence}})
    expected = srsly.read_json(GOLDEN)
    del expected["losses"]
    assert_close(_as_json(predictions(nlp)), expected)


if __name__ == "__main__":  # writes the golden file: once, before a refactor
    import tempfile

    if GOLDEN.exists() and "--overwrite" not in sys.argv:
        sys.exit(f"{GOLDEN} exists: the golden predictions are never regenerated")
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.parent.mkdir(exist_ok=True)
        srsly.write_json(GOLDEN, _as_json(run_golden(Path(tmp))))
