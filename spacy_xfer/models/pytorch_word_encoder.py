"""Word-level encoder: [char vector ; word embedding] -> bidirectional GRU."""

from typing import Dict

import torch
from torch import nn

from .packing import inverse_permutation, packed_index
from .pytorch_gru import packed_bigru
from .pytorch_resizable import Resizable, drop_to_unknown, resized_embedding, resized_rows
from .string_table import UNKNOWN_ROW


class WordGRUEncoder(Resizable):
    """Word embeddings joined with per-token character vectors, then a bidirectional
    GRU over each sentence. Sentences are packed, so a sentence's output does not
    depend on what it is batched with. Output width: 2 * hidden.

    With `freeze_vectors`, the rows given pretrained values (`set_vector_rows`) keep
    them: they are read from a buffer the optimizer never sees (spaCy's
    `StaticVectors`), while the other rows (training words without a vector, the
    unknown row) are trained. Fine-tuning a few thousand vectors on a few hundred
    sentences moves the words seen in training away from the unseen ones they were
    close to.
    """

    def __init__(
        self,
        n_words: int,
        word_width: int,
        char_width: int,
        hidden: int,
        depth: int,
        dropout: float,
        freeze_vectors: bool = False,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_words, word_width, padding_idx=0)
        self.freeze_vectors = freeze_vectors
        if freeze_vectors:
            self.register_buffer("static_rows", torch.zeros(n_words, dtype=torch.bool))
            self.register_buffer("static_weight", torch.zeros(n_words, word_width))
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
        if self.freeze_vectors:
            self.static_rows = resized_rows(self.static_rows, n_words)
            self.static_weight = resized_rows(self.static_weight, n_words)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        """Load weights saved with or without `freeze_vectors` into either kind of model
        (torch's hook for state dicts of another layout): without the kept rows, no row
        is kept; into a model that fine-tunes, the kept rows become table rows."""
        rows_key, weight_key, table_key = prefix + "static_rows", prefix + "static_weight", prefix + "embed.weight"
        if self.freeze_vectors and rows_key not in state_dict and table_key in state_dict:
            table = state_dict[table_key]
            state_dict[rows_key] = torch.zeros(table.shape[0], dtype=torch.bool, device=table.device)
            state_dict[weight_key] = torch.zeros_like(table)
        elif not self.freeze_vectors and rows_key in state_dict:
            kept, values = state_dict.pop(rows_key), state_dict.pop(weight_key)
            table = state_dict[table_key].clone()
            table[kept] = values[kept]
            state_dict[table_key] = table
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_vector_rows(self, rows: torch.Tensor, values: torch.Tensor) -> None:
        """Give table rows their pretrained values (kept fixed under `freeze_vectors`).

        rows (Tensor): (n,) int64 table rows.
        values (Tensor): (n, k) float, k <= the embedding width; the other columns
            keep their initial values (and are kept with the row).
        """
        with torch.no_grad():
            weight = self.embed.weight
            rows = rows.to(weight.device)
            weight[rows, : values.shape[1]] = values.to(weight)
            if self.freeze_vectors:
                self.static_weight[rows] = weight[rows]
                self.static_rows[rows] = True

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        self.resize(state["embed.weight"].shape[0])

    def forward(
        self,
        char_vectors: torch.Tensor,
        word_ids: torch.Tensor,
        lengths: torch.Tensor,
        dropout: float = 0.0,
        word_dropout: float = 0.0,
    ) -> torch.Tensor:
        """Encode a batch of sentences given as one flat run of tokens.

        char_vectors (Tensor): (n_tokens, char_width), sentences one after another.
        word_ids (Tensor): (n_tokens,) word table rows.
        lengths (Tensor): (n_sentences,) sentence lengths, all > 0, on CPU.
        dropout (float): in training mode, the rate of locked (variational) dropout on
            the GRU's input and output (one mask per sentence, shared by its tokens:
            Gal & Ghahramani 2016; Reimers & Gurevych 2017) and of dropout between GRU
            layers.
        word_dropout (float): in training mode, the probability that a token's word
            row is replaced by the unknown row (its char vector is kept), so that the
            unknown row is trained and rare words lean on their characters.
        RETURNS (Tensor): (n_tokens, 2 * hidden), in the input's order.
        """
        if self.training and word_dropout > 0:
            word_ids = drop_to_unknown(word_ids, word_dropout, UNKNOWN_ROW)
        if not self.training:
            dropout = 0.0
        embedded = self.embed(word_ids)
        if self.freeze_vectors:
            static = self.static_rows[word_ids].unsqueeze(-1)
            embedded = torch.where(static, self.static_weight[word_ids], embedded)
        inputs = torch.cat([char_vectors, embedded], dim=-1)
        inputs = locked_dropout(inputs, lengths, dropout)
        index = packed_index(lengths)
        self.gru.dropout = dropout if self.gru.num_layers > 1 else 0.0
        output = packed_bigru(self.gru, inputs.index_select(0, index.flat_index.to(inputs.device)), index.batch_sizes)
        unpack = inverse_permutation(index.flat_index).to(output.device)
        return locked_dropout(output.index_select(0, unpack), lengths, dropout)


def locked_dropout(flat: torch.Tensor, lengths: torch.Tensor, rate: float) -> torch.Tensor:
    """Dropout with one mask per sentence, shared by all its tokens (variational or
    locked dropout, Gal & Ghahramani 2016), on sentences given as one flat run.

    flat (Tensor): (n_tokens, width), sentences one after another.
    lengths (Tensor): (n_sentences,) their lengths, summing to n_tokens.
    rate (float): the probability of dropping a feature; kept ones are scaled by
        1 / (1 - rate). 0 returns `flat` itself.
    RETURNS (Tensor): (n_tokens, width).
    """
    if rate <= 0:
        return flat
    keep = flat.new_empty(len(lengths), flat.shape[1]).bernoulli_(1 - rate) / (1 - rate)
    return flat * keep.repeat_interleave(lengths.to(flat.device), dim=0)
