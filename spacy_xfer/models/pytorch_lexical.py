"""Lexical feature embeddings: a vector per token for each of its lexical attributes
(e.g. spaCy's PREFIX, SUFFIX and SHAPE), joined."""

from typing import Dict

import torch
from torch import nn

from .pytorch_resizable import Resizable, drop_to_unknown, resized_embedding
from .string_table import UNKNOWN_ROW


class LexicalEmbedding(Resizable):
    """One embedding table shared by all attributes (a row per attribute value seen
    in training); a token's rows are joined in attribute order. Output width:
    n_attrs * width.
    """

    def __init__(self, n_rows: int, width: int, n_attrs: int) -> None:
        super().__init__()
        self.n_attrs = n_attrs
        self.embed = nn.Embedding(n_rows, width, padding_idx=0)

    def resize(self, n_rows: int) -> None:
        """Resize the table (rows 0 and 1 are padding and unknown)."""
        self.embed = resized_embedding(self.embed, n_rows)

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["embed.weight"].shape[0])

    def forward(self, rows: torch.Tensor, word_dropout: float = 0.0) -> torch.Tensor:
        """rows (Tensor): (n_tokens, n_attrs) table rows.
        word_dropout (float): in training mode, the probability that a row is replaced
            by the unknown row, so that the unknown row is trained for the values
            never seen in training (as word dropout does for words).
        RETURNS (Tensor): (n_tokens, n_attrs * width).
        """
        if self.training and word_dropout > 0:
            rows = drop_to_unknown(rows, word_dropout, UNKNOWN_ROW)
        return self.embed(rows).reshape(rows.shape[0], self.n_attrs * self.embed.embedding_dim)
