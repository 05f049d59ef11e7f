"""Word-level encoder: [char vector ; word embedding] -> bidirectional GRU."""

from typing import Dict

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .packing import inverse_permutation, packed_gru_train, packed_index
from .pytorch_resizable import Resizable, resized_embedding


class WordGRUEncoder(Resizable):
    """Word embeddings joined with per-token character vectors, then a bidirectional
    GRU over each sentence. Sentences are packed, so a sentence's output does not
    depend on what it is batched with. Output width: 2 * hidden.
    """

    def __init__(
        self,
        n_words: int,
        word_width: int,
        char_width: int,
        hidden: int,
        depth: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_words, word_width, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(
            char_width + word_width,
            hidden,
            num_layers=depth,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if depth > 1 else 0.0,
        )

    def resize(self, n_words: int) -> None:
        """Resize the word table (rows 0 and 1 are padding and unknown)."""
        self.embed = resized_embedding(self.embed, n_words)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["embed.weight"].shape[0])

    def forward(
        self, char_vectors: torch.Tensor, word_ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Encode a batch of sentences given as one flat run of tokens.

        char_vectors (Tensor): (n_tokens, char_width), sentences one after another.
        word_ids (Tensor): (n_tokens,) word table rows.
        lengths (Tensor): (n_sentences,) sentence lengths, all > 0, on CPU.
        RETURNS (Tensor): (n_tokens, 2 * hidden), in the input's order.
        """
        inputs = torch.cat([char_vectors, self.embed(word_ids)], dim=-1)
        inputs = self.dropout(inputs)
        index = packed_index(lengths)
        flat_index = index.flat_index.to(inputs.device)
        packed = PackedSequence(inputs.index_select(0, flat_index), index.batch_sizes)
        if self.training:
            output = packed_gru_train(self.gru, packed.data, index.batch_sizes)
        else:
            output = self.gru(packed)[0].data
        return self.dropout(output.index_select(0, inverse_permutation(flat_index)))
