"""Lexical features (`spacy_xfer.LexicalEmbed.v1`) and the v3 encoders that join them
to the char vectors."""

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.util import fix_random_seed

from spacy_xfer.models.architectures import build_lexical_embed_v1
from spacy_xfer.models.featurize import LexicalFeaturizer
from spacy_xfer.models.layers.torch_layer import module_of
from spacy_xfer.models.pytorch_lexical import LexicalEmbedding
from spacy_xfer.models.string_table import UNKNOWN_ROW, StringTable

from ..util import TAG_DATA, examples_for, train

LEXICAL = {"@architectures": "spacy_xfer.LexicalEmbed.v1", "width": 4, "word_dropout": 0.1}


def tiny_v3(lexical=None) -> dict:
    encoder = {
        "@architectures": "spacy_xfer.CharWordEncoder.v3",
        "char_width": 8, "char_output_width": 16, "char_depth": 1, "width": 8, "output_width": 32, "depth": 1,
    }
    return {**encoder, "lexical": lexical} if lexical else encoder


def tagger_over(tok2vec: dict) -> spacy.language.Language:
    nlp = spacy.blank("en")
    model = {"@architectures": "spacy_xfer.CRFTagger.v1", "tok2vec": tok2vec}
    nlp.add_pipe("xfer_tagger", config={"target": "tag", "model": model})
    return nlp


def test_featurizer_looks_up_spacy_lexeme_strings():
    vocab = spacy.blank("en").vocab
    featurizer = LexicalFeaturizer(["PREFIX", "SUFFIX", "SHAPE"])
    table = StringTable(["PREFIX=R", "SUFFIX=ing", "SHAPE=Xxxxx", "SHAPE=dddd"])
    docs = [Doc(vocab, words=["Running", "2024"]), Doc(vocab, words=["jumping"])]
    rows = featurizer(docs, table)
    unknown = UNKNOWN_ROW
    expected = [
        [table.row("PREFIX=R"), table.row("SUFFIX=ing"), table.row("SHAPE=Xxxxx")],
        [unknown, unknown, table.row("SHAPE=dddd")],
        [unknown, table.row("SUFFIX=ing"), unknown],
    ]
    assert rows.tolist() == expected
    assert featurizer([Doc(vocab, words=[])], table).shape == (0, 3)


def test_unknown_attribute_and_bad_sizes_are_errors():
    with pytest.raises(ValueError, match="E039.*'SUFIX'"):
        build_lexical_embed_v1(["SUFIX"])
    with pytest.raises(ValueError, match="E038"):
        build_lexical_embed_v1([])
    with pytest.raises(ValueError, match="E038.*attrs"):
        build_lexical_embed_v1(["SHAPE", "SHAPE"])
    with pytest.raises(ValueError, match="E038.*width"):
        build_lexical_embed_v1(width=0)
    with pytest.raises(ValueError, match=r"E038.*attrs.*'PREFIX'.*a list"):  # not E039 for 'P'
        build_lexical_embed_v1("PREFIX")


def test_v3_errors_name_the_v3_architecture_and_its_arguments():
    from spacy_xfer.models.architectures import build_char_word_encoder_v3, build_char_encoder_v2, build_word_encoder_v3

    with pytest.raises(ValueError, match=r"E030\] spacy_xfer.CharWordEncoder.v3: `char_output_width` = 15"):
        build_char_word_encoder_v3(char_output_width=15)
    with pytest.raises(ValueError, match=r"E030\] spacy_xfer.WordEncoder.v3: `output_width` = 31"):
        build_word_encoder_v3(build_char_encoder_v2(), output_width=31)
    widthless = spacy.registry.resolve({"x": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 8, "attrs": ["NORM"], "rows": [100], "include_static_vectors": False}})["x"]
    with pytest.raises(ValueError, match=r"E085\] spacy_xfer.WordEncoder.v3: its `lexical` model"):
        build_word_encoder_v3(build_char_encoder_v2(), lexical=widthless)


def test_an_encoder_with_lexical_features_takes_batches_without_docs_or_tokens():
    nlp = tagger_over(tiny_v3(LEXICAL))
    nlp.initialize(lambda: examples_for(nlp, TAG_DATA, "tag"))
    tok2vec = nlp.get_pipe("xfer_tagger").model.get_ref("tok2vec")
    assert tok2vec.predict([]) == []
    outputs = tok2vec.predict([nlp.make_doc(""), nlp.make_doc("green ham")])
    assert [output.shape for output in outputs] == [(0, 32), (2, 32)]


def test_values_not_seen_in_training_share_the_unknown_row():
    nlp = spacy.blank("en")
    model = build_lexical_embed_v1(["SUFFIX", "SHAPE"], width=3)
    model.initialize(X=[nlp("I like running")])
    assert set(model.attrs["table"].strings) == {"SUFFIX=I", "SUFFIX=ike", "SUFFIX=ing", "SHAPE=X", "SHAPE=xxxx"}
    (seen, unseen), _ = model([nlp("jumping"), nlp("ABC")], is_train=False)
    assert seen.shape == (1, 6) and unseen.shape == (1, 6)
    weight = module_of(model).embed.weight.detach().numpy()
    assert numpy.allclose(unseen[0], numpy.concatenate([weight[UNKNOWN_ROW], weight[UNKNOWN_ROW]]))
    assert not numpy.allclose(seen[0, :3], weight[UNKNOWN_ROW])


def test_word_dropout_replaces_rows_in_training_only():
    module = LexicalEmbedding(10, 2, 1)
    rows = torch.full((2000, 1), 5, dtype=torch.int64)
    module.train()
    dropped = (module(rows, word_dropout=0.5) == module.embed.weight[UNKNOWN_ROW]).all(dim=1).float().mean()
    assert 0.4 < float(dropped) < 0.6
    module.eval()
    assert torch.equal(module(rows, word_dropout=0.5), module.embed.weight[rows.reshape(-1)])


def test_v3_without_lexical_is_the_v2_model():
    v2 = {**tiny_v3(), "@architectures": "spacy_xfer.CharWordEncoder.v2"}
    predictions = []
    for tok2vec in (v2, tiny_v3()):
        fix_random_seed(0)
        nlp = tagger_over(tok2vec)
        train(nlp, examples_for(nlp, TAG_DATA, "tag"), steps=5)
        predictions.append(nlp.get_pipe("xfer_tagger").model.predict([nlp("I like ham")]).crf.emissions.numpy())
    assert numpy.array_equal(*predictions)


def test_lexical_features_are_trained_saved_and_loaded():
    fix_random_seed(0)
    nlp = tagger_over(tiny_v3(LEXICAL))
    examples = examples_for(nlp, TAG_DATA, "tag")
    nlp.initialize(lambda: examples)
    lexical = next(node for node in nlp.get_pipe("xfer_tagger").model.walk() if node.name == "xfer_lexical")
    before = module_of(lexical).embed.weight.detach().clone()
    train(nlp, examples, steps=40)
    lexical = next(node for node in nlp.get_pipe("xfer_tagger").model.walk() if node.name == "xfer_lexical")
    assert "SUFFIX=ham" in lexical.attrs["table"]
    assert not torch.equal(module_of(lexical).embed.weight[2:], before[2:])
    assert nlp.evaluate(examples)["tag_acc"] == 1.0
    texts = ["They like green ham", "Eat eggs daily"]
    again = tagger_over(tiny_v3(LEXICAL)).from_bytes(nlp.to_bytes())
    assert [[t.tag_ for t in doc] for doc in again.pipe(texts)] == [[t.tag_ for t in nlp(text)] for text in texts]


def test_v3_encoder_width_counts_the_char_vectors_only_once():
    from spacy_xfer.models.architectures import build_char_word_encoder_v3

    encoder = build_char_word_encoder_v3(char_output_width=16, output_width=32, lexical=build_lexical_embed_v1(width=4))
    assert encoder.get_dim("nO") == 32
    assert encoder.layers[0].get_dim("nO") == 16 + 3 * 4
