"""Character-level encoder: a bidirectional GRU over the characters of each word."""

from typing import Dict

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .packing import inverse_permutation, packed_index
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
        80 KB per step of the longest word on CPU); on a GPU, cuDNN's.

        chars (Tensor): (n_chars,) character ids of the distinct words, one word after
            another.
        lengths (Tensor): (n_distinct,) word lengths in characters, all > 0, on CPU.
        inverse (Tensor): (n_tokens,) the distinct-word row of each token.
        dropout (float): in training mode, the dropout rate between GRU layers.
        RETURNS (Tensor): (n_tokens, 2 * hidden) token vectors.
        """
        self.gru.dropout = dropout if self.gru.num_layers > 1 else 0.0
        index = packed_index(lengths)
        data = self.embed(chars.index_select(0, index.flat_index.to(chars.device)))
        if self.training:
            # The last layer's final states: forward at each word's last character,
            # backward at its first (packed step 0 holds every word's first character).
            output = packed_bigru(self.gru, data, index.batch_sizes)
            step_offsets = torch.cumsum(index.batch_sizes, 0) - index.batch_sizes
            last = step_offsets[lengths[index.order] - 1] + torch.arange(len(lengths))
            hidden = self.gru.hidden_size
            words = torch.cat(
                [output.index_select(0, last.to(output.device))[:, :hidden], output[: len(lengths), hidden:]], dim=-1
            )
        else:
            _, final = self.gru(PackedSequence(data, index.batch_sizes))
            words = torch.cat([final[-2], final[-1]], dim=-1)
        # Rows of `words` are in `index.order`.
        rank = inverse_permutation(index.order).to(inverse.device)
        return words.index_select(0, rank.index_select(0, inverse))
