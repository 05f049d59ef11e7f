"""Torch modules whose table sizes are only known at initialize.

Vocabulary and label counts are known only once the training data is seen, so the
modules are built small and resized in place; on load, they take the sizes of the
saved weights before the weights are loaded.
"""

from io import BytesIO
from typing import Dict

import torch
from torch import nn


class Resizable(nn.Module):
    """A module that can take the table sizes of a saved state dict."""

    def resize_from_state(self, state: Dict[str, torch.Tensor]) -> None:
        raise NotImplementedError


def resized_embedding(old: nn.Embedding, n_rows: int) -> nn.Embedding:
    """A new embedding table with `n_rows` rows, keeping the rows old and new share."""
    new = nn.Embedding(n_rows, old.embedding_dim, padding_idx=old.padding_idx)
    new.to(old.weight.device)
    keep = min(n_rows, old.num_embeddings)
    with torch.no_grad():
        new.weight[:keep] = old.weight[:keep]
    return new


def resized_rows(old: torch.Tensor, n_rows: int) -> torch.Tensor:
    """A zero tensor of `n_rows` rows (a buffer's new size), keeping the rows shared."""
    new = old.new_zeros((n_rows,) + tuple(old.shape[1:]))
    keep = min(n_rows, old.shape[0])
    new[:keep] = old[:keep]
    return new


def drop_to_unknown(rows: torch.Tensor, rate: float, unknown_row: int) -> torch.Tensor:
    """Table rows, each replaced by `unknown_row` with probability `rate` (word dropout,
    Lample et al. 2016): the unknown row is trained, and rare strings lean on the
    model's other inputs. Same shape as `rows`."""
    dropped = torch.rand(rows.shape, device=rows.device) < rate
    return rows.masked_fill(dropped, unknown_row)


def deserialize_resizable(module: Resizable, state_bytes: bytes, device: torch.device) -> Resizable:
    """Load weights saved by thinc's PyTorchShim, first resizing the module to fit."""
    state = torch.load(BytesIO(state_bytes), map_location=device, weights_only=True)
    module.resize_from_state(state)
    module.load_state_dict(state)
    module.to(device)
    return module
