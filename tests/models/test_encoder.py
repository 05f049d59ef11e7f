"""The encoder's featurisation and its initialisation from a pipeline's vectors."""

import copy
import itertools
from typing import List, Tuple

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.util import registry
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from spacy_xfer.models.architectures import build_char_encoder_v1, build_char_word_encoder_v1, build_char_word_encoder_v3
from spacy_xfer.models.featurize import CharFeaturizer, normalize_word
from spacy_xfer.models import pytorch_char_encoder
from spacy_xfer.models.pytorch_char_encoder import CharGRUEncoder
from spacy_xfer.models.pytorch_gru import packed_bigru
from spacy_xfer.models.string_table import UNKNOWN_ROW, KeyTable, StringTable


def split_words(chars: numpy.ndarray, lengths: numpy.ndarray) -> List[numpy.ndarray]:
    return numpy.split(chars, numpy.cumsum(lengths)[:-1])


def test_distinct_words_are_encoded_once():
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["the", "cat", "the"]), Doc(vocab, words=["cat", "sat"])]
    table = StringTable(sorted(set("thecatsa")))
    chars, lengths, inverse = CharFeaturizer()(docs, table)
    assert lengths.tolist() == [3] * 3  # the, cat, sat
    assert chars.shape == (9,)
    words = ["the", "cat", "the", "cat", "sat"]
    rows = split_words(chars, lengths)
    decoded = ["".join(table.strings[i - 2] for i in rows[row]) for row in inverse]
    assert decoded == words


def test_char_features_grow_with_characters_not_longest_word():
    # One 8,000-character token among 400 short words: no padding to the longest word.
    vocab = spacy.blank("en").vocab
    short = [f"w{i}" for i in range(400)]
    long_word = "x" * 8000
    docs = [Doc(vocab, words=short[:200] + [long_word]), Doc(vocab, words=short[200:])]
    table = StringTable(sorted(set("".join(short) + "x")))
    chars, lengths, inverse = CharFeaturizer()(docs, table)
    assert chars.shape == (sum(len(w) for w in short) + 8000,)
    assert sorted(lengths.tolist()) == sorted([len(w) for w in short] + [8000])
    assert len(split_words(chars, lengths)[inverse[200]]) == 8000


def padded_reference(encoder: CharGRUEncoder, chars, lengths, inverse) -> torch.Tensor:
    """The char encoder as it was: embed a (n_distinct, longest word) 0-padded matrix,
    pack_padded_sequence, GRU."""
    padded = torch.zeros(len(lengths), int(lengths.max()), dtype=torch.int64)
    for row, word in enumerate(chars.split(lengths.tolist())):
        padded[row, : len(word)] = word
    packed = pack_padded_sequence(encoder.embed(padded), lengths, batch_first=True, enforce_sorted=False)
    _, final = encoder.gru(packed)
    return torch.cat([final[-2], final[-1]], dim=-1).index_select(0, inverse)


@pytest.mark.parametrize("seed,depth,train", [(0, 1, False), (1, 2, False), (2, 2, True)])
def test_char_encoder_matches_padded_reference(seed, depth, train):
    torch.manual_seed(seed)
    rng = numpy.random.default_rng(seed)
    encoder = CharGRUEncoder(30, 5, 6, depth, 0.0).train(train)
    lengths = torch.tensor(rng.integers(1, 12, size=9).tolist() + [1, 25])
    chars = torch.randint(1, 30, (int(lengths.sum()),))
    inverse = torch.tensor(rng.integers(0, len(lengths), size=20))
    weights = torch.randn(len(inverse), 12)
    got = encoder(chars, lengths, inverse)
    d_got = torch.autograd.grad((got * weights).sum(), list(encoder.parameters()))
    expected = padded_reference(encoder, chars, lengths, inverse)
    d_expected = torch.autograd.grad((expected * weights).sum(), list(encoder.parameters()))
    assert got.shape == (20, 12)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    for d_a, d_b in zip(d_got, d_expected):
        torch.testing.assert_close(d_a, d_b, rtol=1e-5, atol=1e-6)


class LargestTensor(TorchDispatchMode):
    """Records the largest tensor storage (bytes) any torch operation creates."""

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                self.nbytes = max(self.nbytes, value.untyped_storage().nbytes())
        return out


def memory_use(forward, long_word: int) -> Tuple[int, int, int]:
    """A training forward and backward pass over 50 distinct 3-character words and one
    word of `long_word` characters: the largest tensor built (bytes), and the number
    and total size (bytes) of the tensors autograd keeps for the backward pass."""
    lengths = torch.tensor([3] * 50 + [long_word])
    chars = torch.randint(1, 30, (int(lengths.sum()),), generator=torch.Generator().manual_seed(0))
    saved = [0, 0]

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        saved[0] += 1
        saved[1] += tensor.numel() * tensor.element_size()
        return tensor

    with LargestTensor() as recorder:
        with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
            output = forward(chars, lengths, torch.arange(len(lengths)))
        output.sum().backward()
    return recorder.nbytes, saved[0], saved[1]


def test_char_encoder_memory_grows_with_characters():
    torch.manual_seed(0)
    width, hidden, depth = 25, 8, 2
    encoder = CharGRUEncoder(30, width, hidden, depth, 0.0).train()
    added = 150  # characters, from a 50- to a 200-character word
    # Per character, the widest tensor holds the 3 gates of both directions, and the
    # backward pass keeps the embedding and, per layer and direction, at most 10 *
    # hidden floats (input projections, gates, states).
    widest, kept = 4 * max(width, 2 * 3 * hidden), 4 * (width + depth * 2 * 10 * hidden)
    (largest_short, n_short, saved_short), (largest_long, n_long, saved_long) = (
        memory_use(encoder, 50),
        memory_use(encoder, 200),
    )
    assert 0 < largest_long - largest_short <= added * widest
    assert 0 < saved_long - saved_short <= added * kept
    assert n_long == n_short  # no autograd state per time step
    # The padded layout through nn.GRU grows with (distinct words x longest word),
    # and keeps tensors per step: the same measures catch it.
    reference = lambda *args: padded_reference(encoder, *args)  # noqa: E731
    (ref_largest_short, ref_n_short, _), (ref_largest_long, ref_n_long, _) = (
        memory_use(reference, 50),
        memory_use(reference, 200),
    )
    assert ref_largest_long - ref_largest_short > 5 * added * widest
    assert ref_n_long > ref_n_short + added


def test_char_encoder_model_reads_a_very_long_token():
    vocab = spacy.blank("en").vocab
    long_word = "ab" * 4000
    docs = [Doc(vocab, words=["a", long_word, "b"]), Doc(vocab, words=["ba", "a"])]
    model = build_char_encoder_v1(width=4, hidden=3, depth=1)
    model.initialize(X=docs)
    batched = model.predict(docs)
    assert [v.shape for v in batched] == [(3, 6), (2, 6)]
    alone = model.predict([Doc(vocab, words=[long_word])])[0]
    numpy.testing.assert_allclose(batched[0][1], alone[0], rtol=1e-5, atol=1e-6)


def test_normalisation():
    assert normalize_word("Year-2017") == "year-0000"


def make_vectors_nlp(width: int):
    nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    words = ["king", "queen", "apple", "banana", "the", "paris"]
    data = rng.normal(size=(len(words), width)).astype("float32")
    data[1] = data[0] * 2  # queen points the way king does
    nlp.vocab.reset_vectors(width=width)
    for word, vector in zip(words, data):
        nlp.vocab.set_vector(word, vector)
    return nlp


@pytest.mark.parametrize("vector_width,width", [(12, 4), (3, 4)])
def test_rows_come_from_the_vectors(vector_width, width):
    nlp = make_vectors_nlp(vector_width)
    model = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=width, hidden=4, depth=1)
    docs = [Doc(nlp.vocab, words=["The", "King", "saw", "PARIS"])]
    model.initialize(X=docs)
    table = model.attrs["table"]
    # training words and vector words all have rows (lowercased)
    for word in ("the", "king", "saw", "paris", "queen", "banana"):
        assert table.row(word) != UNKNOWN_ROW
    weight = model.shims[0]._model.embed.weight.detach().numpy()
    king, queen = weight[table.row("king")], weight[table.row("queen")]
    used = min(vector_width, width)
    cosine = king[:used] @ queen[:used] / numpy.linalg.norm(king[:used]) / numpy.linalg.norm(queen[:used])
    assert cosine == pytest.approx(1.0, abs=1e-4)
    random_init = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=width, hidden=4, depth=1)
    random_init.initialize(X=[Doc(spacy.blank("en").vocab, words=["king", "queen"])])
    table2 = random_init.attrs["table"]
    w2 = random_init.shims[0]._model.embed.weight.detach().numpy()
    k2, q2 = w2[table2.row("king")], w2[table2.row("queen")]
    assert abs(k2 @ q2 / numpy.linalg.norm(k2) / numpy.linalg.norm(q2)) < 0.99


def test_use_vectors_false_ignores_them():
    nlp = make_vectors_nlp(6)
    model = build_char_word_encoder_v1(char_width=4, char_hidden=4, char_depth=1, width=4, hidden=4, depth=1, use_vectors=False)
    model.initialize(X=[Doc(nlp.vocab, words=["king"])])
    assert "queen" not in model.attrs["table"]


def test_key_table_finds_every_64_bit_key_and_survives_bytes():
    keys = [2**64 - 1, 5, 2**63, 2**63 - 1]
    table = KeyTable(keys, [10, 11, 12, 13])
    for loaded in (table, KeyTable().from_bytes(table.to_bytes())):
        assert [loaded.row(key) for key in keys] == [10, 11, 12, 13]
        assert loaded.row(2**63 + 1) == loaded.row(6) == UNKNOWN_ROW
    assert not KeyTable() and KeyTable().row(5) == UNKNOWN_ROW


def pruned_vectors_nlp():
    """Vectors with more keys than rows, as spaCy's pruned tables (en_core_web_md):
    "londres" and "Roi" are keys of the rows of "paris" and "king"."""
    nlp = make_vectors_nlp(4)
    vectors = nlp.vocab.vectors
    vectors.add("londres", row=vectors.find(key="paris"))
    vectors.add("Roi", row=vectors.find(key="king"))
    return nlp


def word_rows(model, words: List[str], vocab) -> List[int]:
    return model.attrs["featurizer"]([Doc(vocab, words=words)], model.attrs["table"], model.attrs["vector_keys"]).tolist()


def test_a_word_without_a_row_takes_the_row_of_its_vector_key():
    nlp = pruned_vectors_nlp()
    settings = dict(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model = build_char_word_encoder_v3(**settings)
    model.initialize(X=[Doc(nlp.vocab, words=["The", "king", "saw"])])
    table = model.attrs["table"]
    assert "londres" not in table and "roi" not in table
    paris, king = table.row("paris"), table.row("king")
    # by the text's key, then the lowercased text's; a word the vectors lack stays unknown
    assert word_rows(model, ["Londres", "LONDRES", "Roi", "roi", "unseen", "saw"], nlp.vocab) == [
        paris, paris, king, UNKNOWN_ROW, UNKNOWN_ROW, table.row("saw")
    ]
    # and the encoder reads it: without the map its output for the word changes
    londres = [Doc(nlp.vocab, words=["Londres"])]
    with_map = model.predict(londres)[0]
    vector_keys, model.attrs["vector_keys"] = model.attrs["vector_keys"], KeyTable()
    assert not numpy.allclose(model.predict(londres)[0], with_map)
    model.attrs["vector_keys"] = vector_keys
    # the keys are saved with the model: it reads a word the same in a pipeline without the vectors
    loaded = build_char_word_encoder_v3(**settings)
    loaded.initialize(X=[Doc(spacy.blank("en").vocab, words=["x"])])
    loaded.from_bytes(model.to_bytes())
    assert word_rows(loaded, ["Londres", "Roi"], spacy.blank("en").vocab) == [paris, king]
    assert numpy.array_equal(loaded.predict([Doc(spacy.blank("en").vocab, words=["Londres"])])[0], with_map)


def test_vector_keys_are_read_when_no_table_word_has_a_key_of_its_own():
    # capitalised keys only: the table's lowercased words have no key, the keys still map
    nlp = spacy.blank("en")
    nlp.vocab.reset_vectors(width=4)
    nlp.vocab.set_vector("Paris", numpy.arange(1, 5, dtype="float32"))
    nlp.vocab.vectors.add("Lyon", row=nlp.vocab.vectors.find(key="Paris"))
    model = build_char_word_encoder_v3(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    assert word_rows(model, ["Lyon", "Paris", "Nice"], nlp.vocab) == [model.attrs["table"].row("paris")] * 2 + [UNKNOWN_ROW]


def test_a_single_constant_vector_keeps_its_values():
    nlp = spacy.blank("en")
    nlp.vocab.set_vector("paris", numpy.ones((4,), dtype="float32"))
    model = build_char_word_encoder_v3(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    weight = model.shims[0]._model.embed.weight.detach().numpy()
    numpy.testing.assert_array_equal(weight[model.attrs["table"].row("paris")], numpy.ones(4))


def test_a_table_word_with_its_own_key_on_a_vector_row_takes_the_rows_keys():
    # "mann" is a pruned key on Müller's row: a training word with its own key there
    # reads the row's other keys, as before words without a key started from a vector
    nlp = spacy.blank("en")
    nlp.vocab.reset_vectors(width=4)
    nlp.vocab.set_vector("Müller", numpy.arange(1, 5, dtype="float32"))
    for alias in ("mann", "Mueller"):
        nlp.vocab.vectors.add(alias, row=nlp.vocab.vectors.find(key="Müller"))
    model = build_char_word_encoder_v3(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model.initialize(X=[Doc(nlp.vocab, words=["Mann", "sah"])])
    table = model.attrs["table"]
    assert word_rows(model, ["Mueller", "Müller"], nlp.vocab) == [table.row("mann"), table.row("müller")]


def test_vectors_that_give_no_table_word_a_row_map_no_keys():
    # a vector whose key has no string adds no word, and no table word has a key
    nlp = spacy.blank("en")
    nlp.vocab.reset_vectors(shape=(1, 4))
    nlp.vocab.vectors.add(12345, vector=numpy.ones((4,), dtype="float32"))
    model = build_char_word_encoder_v3(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    assert model.attrs["table"].strings == ["saw"] and len(model.attrs["vector_keys"]) == 0
    assert numpy.isfinite(model.predict([Doc(nlp.vocab, words=["saw"])])[0]).all()


def test_a_word_added_under_a_form_without_a_key_starts_from_the_vector_it_was_added_for():
    # "Mr." and "20th" have vectors; their table words "mr." and "00th" have no key of their own
    nlp = spacy.blank("en")
    nlp.vocab.reset_vectors(width=4)
    data = numpy.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    for word, vector in zip(["Mr.", "20th", "king"], data):
        nlp.vocab.set_vector(word, vector)
    model = build_char_word_encoder_v3(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    model.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    table = model.attrs["table"]
    weight = model.shims[0]._model.embed.weight.detach().numpy()
    rows = [table.row(word) for word in ("mr.", "00th", "king")]
    # every row from the vectors is the vector rescaled by one factor
    scale = weight[rows] / data
    numpy.testing.assert_allclose(scale, numpy.full_like(scale, scale[0, 0]), rtol=1e-5)


def test_vector_keys_of_rows_beyond_max_vectors_and_without_vectors_stay_unknown():
    nlp = pruned_vectors_nlp()
    settings = dict(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    limited = build_char_word_encoder_v3(**settings, max_vectors=1)  # only the first row's word: king
    limited.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    assert word_rows(limited, ["Roi", "londres"], nlp.vocab) == [limited.attrs["table"].row("king"), UNKNOWN_ROW]
    unused = build_char_word_encoder_v3(**settings, use_vectors=False)
    unused.initialize(X=[Doc(nlp.vocab, words=["saw"])])
    assert len(unused.attrs["vector_keys"]) == 0
    assert word_rows(unused, ["Roi", "londres"], nlp.vocab) == [UNKNOWN_ROW, UNKNOWN_ROW]


def char_batch(words: List[str], table: StringTable) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The char encoder's arguments for these distinct words, one token each."""
    ids = [[table.row(char) for char in word] for word in words]
    return (
        torch.tensor([i for word in ids for i in word]),
        torch.tensor([len(word) for word in ids]),
        torch.arange(len(words)),
    )


class CountingGRU:
    """Counts the words the char encoder runs its GRU over (`packed_bigru`'s sequences),
    whichever implementation runs it."""

    def __init__(self, monkeypatch) -> None:
        self.words = 0
        monkeypatch.setattr(pytorch_char_encoder, "packed_bigru", self)

    def __call__(self, gru, data, batch_sizes):
        self.words += int(batch_sizes[0])
        return packed_bigru(gru, data, batch_sizes)


def test_char_vector_cache_skips_known_words_and_predicts_the_same(monkeypatch):
    torch.manual_seed(0)
    table = StringTable(sorted(set("abcdefgh")))
    encoder = CharGRUEncoder(len(table), 5, 6, 2, 0.0).eval()
    counting = CountingGRU(monkeypatch)
    # "x", "y", "z": unknown chars, so one key; the GRU runs over it once
    first, second = ["abc", "de", "fgh"], ["de", "x", "hhhh", "abc", "y"]
    with torch.no_grad():
        expected = [encoder.encode_words(*char_batch(words, table)[:2]) for words in (first, second)]
        counting.words = 0
        got = [encoder(*char_batch(words, table)) for words in (first, second)]
        assert counting.words == 3 + 2  # "de" and "abc" come from the cache the 2nd time
        again = encoder(*char_batch(second, table))
        third = encoder(*char_batch(["z", "ab", "de"], table))
        assert counting.words == 6
        torch.testing.assert_close(third, encoder.encode_words(*char_batch(["z", "ab", "de"], table)[:2]))
    for a, b in zip(got + [again], expected + [expected[1]]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_char_vector_cache_stays_within_its_limit():
    torch.manual_seed(0)
    table = StringTable(sorted(set("abcdefgh")))
    encoder = CharGRUEncoder(len(table), 5, 6, 1, 0.0).eval()
    encoder.vector_cache.limit = 5
    words = ["".join(chars) for chars in itertools.product("abc", repeat=2)]  # 9 words
    with torch.no_grad():
        for start in range(0, 9, 2):
            batch = words[start : start + 3]
            got = encoder(*char_batch(batch, table))
            torch.testing.assert_close(got, encoder.encode_words(*char_batch(batch, table)[:2]), rtol=1e-5, atol=1e-6)
            assert len(encoder.vector_cache.rows) <= 5


@pytest.mark.parametrize("change", ["replace data", "in place", "resize", "dtype"])
def test_char_vector_cache_is_emptied_when_the_weights_change(change):
    torch.manual_seed(0)
    table = StringTable(sorted(set("abcdefgh")))
    encoder = CharGRUEncoder(len(table), 5, 6, 2, 0.0).eval()
    args = char_batch(["abc", "de"], table)
    with torch.no_grad():
        before = encoder(*args)
        weight = encoder.gru.weight_hh_l0
        if change == "replace data":  # as thinc's optimizer writes its updates
            weight.data = weight.data + 0.5
        elif change == "in place":
            weight.add_(0.5)
        elif change == "resize":
            encoder.resize(len(table) + 3)
        else:
            encoder.double()
        after = encoder(*args)
        torch.testing.assert_close(after, encoder.encode_words(*args[:2]), rtol=1e-5, atol=1e-6)
    if change in ("replace data", "in place"):
        assert not torch.allclose(before, after)


def test_char_vector_cache_is_not_copied_or_used_with_gradients():
    table = StringTable(sorted(set("abc")))
    encoder = CharGRUEncoder(len(table), 5, 6, 1, 0.0).eval()
    with torch.no_grad():
        encoder(*char_batch(["abc"], table))
    assert len(encoder.vector_cache.rows) == 1
    assert len(copy.deepcopy(encoder).vector_cache.rows) == 0
    out = encoder(*char_batch(["abc", "cab"], table))  # grad enabled: computed afresh
    assert out.requires_grad and len(encoder.vector_cache.rows) == 1



def test_char_vectors_predicted_after_a_training_step_are_the_new_weights():
    # an optimizer may write the new weights where torch's version counters do not see
    # it (thinc's through numpy views); the shim's finish_update must still empty the
    # char vector cache
    model = build_char_encoder_v1(width=4, hidden=3, depth=1)
    docs = [Doc(spacy.blank("en").vocab, words=["abc", "de", "abc"])]
    model.initialize(X=docs)
    before = model.predict(docs)[0]
    train_on(model, docs, steps=1)
    after = model.predict(docs)[0]
    encoder = [node for node in model.walk() if node.shims][0].shims[0]._model
    assert len(encoder.vector_cache.rows) == 2
    encoder.vector_cache.rows.clear()
    assert not numpy.allclose(before, after)
    numpy.testing.assert_allclose(after, model.predict(docs)[0], rtol=1e-6)


def test_an_encoder_made_in_inference_mode_predicts_without_the_cache():
    # e.g. a pipeline loaded inside `torch.inference_mode()`: its parameters have no
    # version counter, so the cache cannot tell new weights from old
    table = StringTable(sorted(set("abcde")))
    with torch.inference_mode():
        encoder = CharGRUEncoder(len(table), 5, 6, 1, 0.0).eval()
        args = char_batch(["abc", "de"], table)
        before = encoder(*args)
        encoder.gru.weight_hh_l0.add_(0.5)
        after = encoder(*args)
        torch.testing.assert_close(after, encoder.encode_words(*args[:2]))
    assert not torch.allclose(before, after) and len(encoder.vector_cache.rows) == 0


def test_char_vector_cache_made_in_inference_mode_is_written_outside_it():
    table = StringTable(sorted(set("abc")))
    encoder = CharGRUEncoder(len(table), 5, 6, 1, 0.0).eval()
    with torch.inference_mode():
        encoder(*char_batch(["abc"], table))
    with torch.no_grad():
        got = encoder(*char_batch(["abc", "cab"], table))
        torch.testing.assert_close(got, encoder.encode_words(*char_batch(["abc", "cab"], table)[:2]))


def train_on(model, docs, steps: int = 3) -> None:
    """A few Adam updates towards outputs of all ones."""
    optimizer = registry.resolve({"o": {"@optimizers": "spacy_xfer.Adam.v1", "learn_rate": 0.05}})["o"]
    for _ in range(steps):
        outputs, backprop = model.begin_update(docs)
        backprop([output - 1 for output in outputs])
        model.finish_update(optimizer)


@pytest.mark.parametrize("freeze", [True, False])
def test_freeze_vectors_keeps_the_vector_rows_and_trains_the_others(freeze):
    nlp = make_vectors_nlp(4)
    model = build_char_word_encoder_v3(
        char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1, freeze_vectors=freeze
    )
    docs = [Doc(nlp.vocab, words=["The", "king", "saw", "PARIS"])]
    model.initialize(X=docs)
    module = model.shims[0]._model
    table = model.attrs["table"]
    king, saw = table.row("king"), table.row("saw")

    weight = module.embed.weight
    king_before, saw_before = weight[king].detach().clone(), weight[saw].detach().clone()
    train_on(model, docs)
    assert not torch.equal(weight[saw], saw_before)  # a training word without a vector trains
    if freeze:
        assert torch.equal(module.static_weight[king], king_before)
        # forward reads the kept row, not the table's trainable copy of it
        expected = model.predict(docs)[0]
        with torch.no_grad():
            weight[king] += 100.0
        assert numpy.array_equal(model.predict(docs)[0], expected)
    else:
        assert not torch.equal(weight[king], king_before)
    assert all(param is not getattr(module, "static_weight", None) for param in module.parameters())
    # saved and loaded, the frozen rows come back with the weights
    loaded = build_char_word_encoder_v3(
        char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1, freeze_vectors=freeze
    )
    loaded.initialize(X=[Doc(spacy.blank("en").vocab, words=["x"])])
    loaded.from_bytes(model.to_bytes())
    expected = model.predict(docs)[0]
    assert numpy.array_equal(loaded.predict(docs)[0], expected)


@pytest.mark.parametrize("saved_frozen,loaded_frozen", [(False, True), (True, False)])
def test_weights_saved_with_or_without_freeze_vectors_load_into_either_and_predict_the_same(saved_frozen, loaded_frozen):
    nlp = make_vectors_nlp(4)
    settings = dict(char_width=4, char_output_width=4, char_depth=1, width=4, output_width=4, depth=1)
    docs = [Doc(nlp.vocab, words=["The", "king", "saw", "PARIS"])]
    saved = build_char_word_encoder_v3(**settings, freeze_vectors=saved_frozen)
    saved.initialize(X=docs)
    train_on(saved, docs)
    loaded = build_char_word_encoder_v3(**settings, freeze_vectors=loaded_frozen)
    loaded.initialize(X=[Doc(spacy.blank("en").vocab, words=["x"])])
    loaded.from_bytes(saved.to_bytes())
    assert numpy.array_equal(loaded.predict(docs)[0], saved.predict(docs)[0])
