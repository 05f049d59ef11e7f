"""Character-level encoder: a bidirectional GRU over the characters of each word."""

from typing import Dict, List, Optional, Tuple

import numpy
import torch
from torch import nn

from .packing import end_rows, packed_index
from .parameters import parameters_of
from .pytorch_gru import packed_bigru
from .pytorch_resizable import Resizable, resized_embedding


class CharGRUEncoder(Resizable):
    """Char embeddings -> bidirectional GRU; a word's vector is the final forward state
    concatenated with the final backward state (the backward GRU's state after reading
    the first character), so the output width is 2 * hidden.
    """

    def __init__(self, n_chars: int, width: int, hidden: int, depth: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, width, padding_idx=0)
        self.gru = nn.GRU(
            width,
            hidden,
            num_layers=depth,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if depth > 1 else 0.0,
        )
        self.vector_cache = CharVectorCache()

    def resize(self, n_chars: int) -> None:
        """Resize the character table (rows 0 and 1 are padding and unknown)."""
        self.embed = resized_embedding(self.embed, n_chars)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["embed.weight"].shape[0])

    def forward(
        self, chars: torch.Tensor, lengths: torch.Tensor, inverse: torch.Tensor, dropout: float = 0.0
    ) -> torch.Tensor:
        """Encode distinct words once, then scatter the vectors back to tokens. Memory
        grows with the number of characters: the words are packed by index, never
        padded to the longest word, and training on CPU runs the hand-written
        recurrence (`packed_bigru`), which keeps a few rows per character for the
        backward pass rather than an autograd graph per time step (nn.GRU's, some
        80 KB per step of the longest word on CPU); on a GPU, cuDNN's. To predict
        (eval mode, no gradient), words encoded before are taken from `CharVectorCache`.

        chars (Tensor): (n_chars,) character ids of the distinct words, one word after
            another.
        lengths (Tensor): (n_distinct,) word lengths in characters, all > 0, on CPU.
        inverse (Tensor): (n_tokens,) the distinct-word row of each token.
        dropout (float): in training mode, the dropout rate between GRU layers.
        RETURNS (Tensor): (n_tokens, 2 * hidden) token vectors.
        """
        self.gru.dropout = dropout if self.gru.num_layers > 1 else 0.0
        if self.training or torch.is_grad_enabled() or not len(lengths):
            words = self.encode_words(chars, lengths)
        else:
            words = self.vector_cache.vectors(self, chars, lengths)
        return words.index_select(0, inverse)

    def encode_words(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The vectors of the words, in the order given (arguments as `forward`'s).

        RETURNS (Tensor): (n_distinct, 2 * hidden).
        """
        index = packed_index(lengths)
        data = self.embed(chars.index_select(0, index.flat_index.to(chars.device)))
        output = packed_bigru(self.gru, data, index.batch_sizes)
        # The last layer's final states: forward at each word's last character,
        # backward at its first.
        first, last = (rows.to(output.device) for rows in end_rows(lengths, index))
        hidden = self.gru.hidden_size
        return torch.cat([output.index_select(0, last)[:, :hidden], output.index_select(0, first)[:, hidden:]], dim=-1)

    def __getstate__(self):
        """The module's state with an empty vector cache, so that a copy (`copy.deepcopy`,
        as `quantize` makes its int8 twin, whose vectors differ) starts empty."""
        state = dict(super().__getstate__())
        state["vector_cache"] = CharVectorCache()
        return state


class CharVectorCache:
    """The vectors of words the encoder has predicted, by their character ids, so that a
    word seen before skips the char GRU. A word's vector depends only on its characters
    and the weights. A large batch then runs the GRU over fewer words (bench/peers.py:
    1.23x at batch 256); at batch 1 the GRU still takes as many steps as the longest new
    word has characters, so it gains less (1.10x).

    The cache empties itself when the encoder's parameters change (a training step,
    loading, resizing, a dtype or device move): it keeps which tensors they were, with
    their storage and torch's version counter (which every in-place torch op bumps).
    A write that torch does not see, through a numpy view of a parameter, must bump
    the counter itself (`torch.autograd.graph.increment_version`), as
    `TorchShim.finish_update` does after thinc's optimizer step. The check reads no
    tensor values; comparing the weights by value took 17 `torch.equal` per
    `nlp(text)`, 2.4% of batch-1 inference under torch.profiler (README "Speed").
    Parameters made in inference mode have no version counter: with them the encoder
    runs the GRU over every word, uncached.
    It keeps at most `limit` words (emptied when full; 100,000 words
    of the default 80 dims are 32 MB of vectors). A word's vector is the one computed
    with the batch it first came in, equal to any other batch's up to float rounding.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.rows: Dict[bytes, int] = {}  # a word's characters -> its row of `table`
        self.table: Optional[torch.Tensor] = None  # (capacity, 2 * hidden)
        self.weights: List[torch.Tensor] = []  # the parameters at filling
        self.weight_state: Tuple[List[int], List[int]] = ([], [])  # their versions and storages then

    def vectors(self, encoder: CharGRUEncoder, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`encoder.encode_words(chars, lengths)`, running the GRU only over the words not
        cached.

        RETURNS (Tensor): (n_distinct, 2 * hidden).
        """
        if not self._check_weights(encoder):
            return encoder.encode_words(chars, lengths)
        # each word's key: the bytes of its character ids, sliced from the batch's
        data = chars.cpu().numpy()
        word_lengths = lengths.numpy()
        ends = (numpy.cumsum(word_lengths) * data.itemsize).tolist()
        data_bytes = data.tobytes()
        keys = [data_bytes[start:end] for start, end in zip([0] + ends[:-1], ends)]
        missing = _first_of_each(keys, self.rows)
        if missing and len(self.rows) + len(missing) > self.limit:
            self.rows.clear()
            missing = _first_of_each(keys, self.rows)
        if missing:
            new_keys = [keys[i] for i in missing]
            new_chars = torch.from_numpy(numpy.frombuffer(b"".join(new_keys), dtype=data.dtype).copy())
            new_lengths = torch.from_numpy(word_lengths[missing])
            self._add(new_keys, encoder.encode_words(new_chars.to(chars.device), new_lengths))
        assert self.table is not None
        rows = torch.tensor([self.rows[key] for key in keys], device=self.table.device)
        return self.table.index_select(0, rows)

    def _add(self, keys: List[bytes], vectors: torch.Tensor) -> None:
        n = len(self.rows)
        table = self.table
        same_kind = table is not None and (table.device, table.dtype) == (vectors.device, vectors.dtype)
        # a table made in inference mode takes in-place writes only inside it
        writable = table is not None and (torch.is_inference_mode_enabled() or not table.is_inference())
        if table is None or not same_kind or not writable or n + len(keys) > len(table):
            self.table = vectors.new_empty(max(2 * n, n + len(keys), 1024), vectors.shape[1])
            if n:
                self.table[:n] = table[:n]
        self.table[n : n + len(keys)] = vectors
        self.rows.update(zip(keys, range(n, n + len(keys))))

    def _check_weights(self, encoder: CharGRUEncoder) -> bool:
        """Empty the cache if the encoder's parameters changed since it was filled.

        RETURNS (bool): whether the cache can be used: False for parameters made in
            inference mode (e.g. loaded inside `torch.inference_mode()`), which keep
            no version counter to tell a change by.
        """
        weights = parameters_of(encoder)
        if any(weight.is_inference() for weight in weights):
            return False
        state = ([weight._version for weight in weights], [weight.data_ptr() for weight in weights])
        same = (
            len(weights) == len(self.weights)
            and all(a is b for a, b in zip(weights, self.weights))
            and state == self.weight_state
        )
        if not same:
            self.rows.clear()
            self.weights, self.weight_state = weights, state
        return True


def _first_of_each(keys: List[bytes], known: Dict[bytes, int]) -> List[int]:
    """The position of the first occurrence of each key not known (words with different
    unknown characters can share a key)."""
    first: Dict[bytes, int] = {}
    for i, key in enumerate(keys):
        if key not in known:
            first.setdefault(key, i)
    return list(first.values())

