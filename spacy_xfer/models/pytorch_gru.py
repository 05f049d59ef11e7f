"""A bidirectional GRU over packed sequences, and which implementation trains it.

On CPU, training runs a hand-written recurrence (`packed_gru_train`): each layer's input
projections of both directions are one matrix product, both directions advance in one
batched step (the backward one over mirrored sequences), and each step's backward pass
is written out rather than recorded by autograd, which is faster and keeps a few rows
per item instead of a graph per time step. In float32 with numba installed, each step's
elementwise work is one compiled loop (`fused_gru_train`). On a CUDA GPU that
recurrence would launch a handful of small kernels per time step, so training runs
`nn.GRU` on the packed sequence there, which is cuDNN's fused RNN. `gru_path` makes the
choice.

To predict, `nn.GRU` runs too, except where few sequences share a step on CPU: there its
dozen small ops per time step cost more than their arithmetic, and the recurrence runs
as one compiled loop (`fused_gru`, with numba installed); `inference_path` makes that
choice. The char and word encoders run their GRUs through `packed_bigru`; their layout
comes from `packing`.
"""

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, List, Optional, Tuple

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.nn.utils.rnn import PackedSequence

from ..errors import Errors
from . import fused_gru, fused_gru_train
from .packing import mirrored_rows, starts

HAND_WRITTEN = "hand-written"
NN_GRU = "nn.GRU"
FUSED = "fused"
# The most sequences sharing the first step for which the fused loop predicts. On the
# configs' BiGRUs (word 100 units, char 80) `nn.GRU` took 2.3-2.5x the loop's time for 1
# sequence, 1.13 (word) and 1.55 (char) for 6, 0.97 and 1.30 for 8, and torch's matrix
# products win with more (`python bench/gru_floor.py --rows`, README "Speed"); one
# threshold for both, near the word BiGRU's break-even.
FUSED_MAX_ROWS = 8
_forced_path: Optional[str] = None


def gru_path(device: torch.device, dtype: torch.dtype) -> str:
    """Which implementation trains a GRU on data of this device and dtype: NN_GRU on
    CUDA (cuDNN) and for dtypes other than float32/float64, HAND_WRITTEN on CPU in
    float32/float64 (what it is tested in), unless `forced_gru_path` says otherwise.

    RETURNS (str): HAND_WRITTEN or NN_GRU.
    """
    if _forced_path in (HAND_WRITTEN, NN_GRU):
        return _forced_path
    if device.type == "cpu" and dtype in (torch.float32, torch.float64):
        return HAND_WRITTEN
    return NN_GRU


def inference_path(gru: nn.Module, data: torch.Tensor, batch_sizes: torch.Tensor) -> str:
    """Which implementation predicts with `gru` over this packed data: FUSED for a
    bidirectional `nn.GRU` with biases, float32 on CPU, with at most FUSED_MAX_ROWS
    sequences and numba installed; NN_GRU otherwise, unless `forced_gru_path` says NN_GRU
    or FUSED. NN_GRU also for a quantized GRU or a subclass of `nn.GRU` (its own
    `forward`), while forward hooks are registered on the GRU or on all modules
    (`register_module_forward_hook`; the loop does not call the module, so they would
    not run), and under CPU autocast (which turns the input projections into float16 or
    bfloat16).

    RETURNS (str): FUSED or NN_GRU.
    RAISES (ValueError): If FUSED is forced and numba is not installed.
    """
    if _forced_path == NN_GRU:
        return NN_GRU
    fusable = _runs_without_calling(gru) and _compiled_loops_take(data)
    if _forced_path == FUSED:
        if not fused_gru.AVAILABLE:
            raise ValueError(Errors.E112)
        return FUSED if fusable else NN_GRU
    if fusable and fused_gru.AVAILABLE and len(batch_sizes) and batch_sizes.numpy()[0] <= FUSED_MAX_ROWS:
        return FUSED
    return NN_GRU


def _runs_without_calling(gru: nn.Module) -> bool:
    """Whether the paths that run `gru`'s recurrence from its parameters without
    calling it (the hand-written one in training, the fused loop to predict) may: a
    bidirectional `nn.GRU` itself with biases, not a subclass (a quantized GRU, or one
    whose weights are parametrized by `torch.nn.utils.parametrize`), and no forward
    hooks on it or on all modules (`register_module_forward_hook`), which would not
    run (pruning and the old `weight_norm` recompute the weights in such a hook).
    """
    return (
        type(gru) is nn.GRU
        and gru.bidirectional
        and gru.bias
        and not (gru._forward_hooks or gru._forward_pre_hooks)
        and not (module_hooks._global_forward_hooks or module_hooks._global_forward_pre_hooks)
    )


def _compiled_loops_take(data: torch.Tensor) -> bool:
    """Whether the compiled GRU loops (`fused_gru` to predict, `fused_gru_train` to
    train) can take this data: float32 on CPU, and not under CPU autocast (which turns
    the input projections into float16 or bfloat16)."""
    return data.device.type == "cpu" and data.dtype == torch.float32 and not torch.is_autocast_enabled("cpu")


@contextmanager
def forced_gru_path(path: str) -> Iterator[None]:
    """Inside the block, make `gru_path` (training) return `path` if it is HAND_WRITTEN or
    NN_GRU, and `inference_path` return `path` if it is NN_GRU or FUSED (HAND_WRITTEN and
    FUSED only for a GRU they can run, as `packed_bigru` and `inference_path` say), e.g.
    to run the GPU's `nn.GRU` path on CPU in a test, or to compare the fused loop with
    `nn.GRU` at any batch size.

    RAISES (ValueError): If `path` is not HAND_WRITTEN, NN_GRU or FUSED.
    """
    global _forced_path
    if path not in (HAND_WRITTEN, NN_GRU, FUSED):
        choices = f"{HAND_WRITTEN!r}, {NN_GRU!r}, {FUSED!r}"
        raise ValueError(Errors.E039.format(kind="GRU path", value=path, choices=choices))
    previous, _forced_path = _forced_path, path
    try:
        yield
    finally:
        _forced_path = previous


def packed_bigru(gru: nn.GRU, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
    """The output data of a bidirectional `gru` over packed data, as
    `gru(PackedSequence(data, batch_sizes))[0].data`: in training mode by the
    implementation `gru_path` chooses (`gru` itself for a GRU that is not a plain
    bidirectional `nn.GRU` or has forward hooks, as `inference_path` says);
    otherwise (no gradient) by the one `inference_path` chooses, `gru` itself
    (which may be a quantized GRU) or the fused loop.

    data (Tensor): (n_items, input_size), the data of a PackedSequence.
    batch_sizes (Tensor): its batch sizes, on CPU.
    RETURNS (Tensor): (n_items, 2 * hidden_size).
    """
    if gru.training and _runs_without_calling(gru) and gru_path(data.device, data.dtype) == HAND_WRITTEN:
        return packed_gru_train(gru, data, batch_sizes)
    if not torch.is_grad_enabled() and inference_path(gru, data, batch_sizes) == FUSED:
        return packed_gru_fused(gru, data, batch_sizes)
    return gru(PackedSequence(data, batch_sizes))[0].data


_DIRECTIONS = ("", "_reverse")  # nn.GRU's parameter name suffixes


def packed_gru_train(gru: nn.GRU, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
    """The output data of `gru` (bidirectional, in training mode) over packed data,
    faster to train on CPU than `gru` itself: each layer's input projections of both
    directions are one matrix product, and both directions run in one recurrence with
    a hand-written backward pass. In float32 with numba installed (and not under CPU
    autocast) the recurrence runs each time step's elementwise work as one compiled
    loop (`fused_gru_train`); otherwise in torch ops (`_BiGRURecurrence`). Uses `gru`'s
    parameters, and its dropout between layers.

    The backward direction reads each sequence from its end. Its input projections are
    taken in mirrored order (`mirrored_rows`: each sequence's position t swapped with
    its position length - 1 - t), which keeps the packed layout, so at every step both
    directions have the same rows and one batched matrix product per step serves both;
    its outputs are mirrored back (by the compiled loops as they read and write, or by
    copies around the torch-op recurrence).

    data (Tensor): (n_tokens, input_size), the data of a PackedSequence.
    batch_sizes (Tensor): its batch sizes, on CPU.
    RETURNS (Tensor): (n_tokens, 2 * hidden_size), as `gru(packed)[0].data`.
    """
    assert gru.bidirectional and gru.bias
    hidden = gru.hidden_size
    steps = batch_sizes.tolist()
    offsets = starts(batch_sizes.numpy()).tolist()
    mirror = mirrored_rows(batch_sizes)
    compiled = fused_gru_train.AVAILABLE and _compiled_loops_take(data)
    if not compiled:
        mirror = mirror.to(data.device)
    x = data
    for layer in range(gru.num_layers):
        if layer and gru.dropout:
            x = nn.functional.dropout(x, gru.dropout, gru.training)
        w_ih, b_ih, w_hh, b_hh = _layer_weights(gru, layer)
        gi = nn.functional.linear(x, torch.cat(w_ih), torch.cat(b_ih))
        w_hh, b_hh = torch.stack(w_hh), torch.stack(b_hh)
        if compiled:
            x = fused_gru_train.FusedBiGRURecurrence.apply(gi, w_hh, b_hh, steps, offsets, mirror.numpy())
        else:
            forward, backward = gi.split(3 * hidden, dim=1)
            out = _BiGRURecurrence.apply(
                torch.stack([forward, backward.index_select(0, mirror)]), w_hh, b_hh, steps, offsets
            )
            x = torch.cat([out[0], out[1].index_select(0, mirror)], dim=1)
    return x


def packed_gru_fused(gru: nn.GRU, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
    """The output data of `gru` (bidirectional, float32, on CPU, no gradient) over packed
    data, each layer's recurrence as one compiled loop (`fused_gru`): faster than `gru`
    itself when few sequences share a step. Arguments and result as `packed_gru_train`'s.

    RAISES (ValueError): If numba is not installed.
    """
    if not fused_gru.AVAILABLE:
        raise ValueError(Errors.E112)
    assert gru.bidirectional and gru.bias
    x = data
    for layer in range(gru.num_layers):
        w_ih, b_ih, w_hh, b_hh = _layer_weights(gru, layer)
        gi = [nn.functional.linear(x, weight, bias) for weight, bias in zip(w_ih, b_ih)]
        x = fused_gru.fused_bigru_layer(gi, w_hh, b_hh, batch_sizes)
    return x


def _layer_weights(gru: nn.GRU, layer: int) -> Tuple[List[torch.Tensor], ...]:
    """W_ih, b_ih, W_hh and b_hh of one layer, each a list of the forward direction's
    tensor and the backward one's (read from the module's parameter dict, which
    `getattr` reaches only after a failed attribute lookup, per name and call)."""
    parameters = gru._parameters
    return tuple([parameters[name] for name in names] for names in _weight_names(layer))


@lru_cache(maxsize=None)
def _weight_names(layer: int) -> Tuple[Tuple[str, ...], ...]:
    """`nn.GRU`'s names of one layer's W_ih, b_ih, W_hh and b_hh, each direction's
    (made once: `_layer_weights` runs at every GRU call)."""
    return tuple(
        tuple(f"{name}_l{layer}{suffix}" for suffix in _DIRECTIONS)
        for name in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
    )


class _BiGRURecurrence(torch.autograd.Function):
    """Both directions of one GRU layer over packed data, each from its input
    projections gi = x @ W_ih^T + b_ih (gates r, z, n as in `nn.GRU`) in the order it
    reads them, zero initial state; direction is the leading dimension throughout."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        gi: torch.Tensor,
        w_hh: torch.Tensor,
        b_hh: torch.Tensor,
        steps: List[int],
        offsets: List[int],
    ) -> torch.Tensor:
        """gi (2, n_tokens, 3 * hidden), w_hh (2, 3 * hidden, hidden), b_hh (2, 3 * hidden);
        steps: the rows of each time step, offsets: each step's first row
        -> the new states (2, n_tokens, hidden)."""
        n_tokens, hidden = gi.shape[1], gi.shape[2] // 3
        out = gi.new_empty(2, n_tokens, hidden)
        rz_all = gi.new_empty(2, n_tokens, 2 * hidden)  # gates r and z
        n_all = gi.new_empty(2, n_tokens, hidden)  # the candidate state n
        ghn_all = gi.new_empty(2, n_tokens, hidden)  # W_hn h + b_hn
        h_prev_all = gi.new_empty(2, n_tokens, hidden)
        h = gi.new_zeros(2, steps[0], hidden)
        w_t, bias = w_hh.transpose(1, 2), b_hh.unsqueeze(1)
        for t in range(len(steps)):
            rows = slice(offsets[t], offsets[t] + steps[t])
            h_prev = h[:, : steps[t]]
            h_prev_all[:, rows] = h_prev
            gh = torch.baddbmm(bias, h_prev, w_t)
            g = gi[:, rows]
            rz = torch.add(g[..., : 2 * hidden], gh[..., : 2 * hidden], out=rz_all[:, rows]).sigmoid_()
            ghn = ghn_all[:, rows]
            ghn.copy_(gh[..., 2 * hidden :])
            n = torch.addcmul(g[..., 2 * hidden :], rz[..., :hidden], ghn, out=n_all[:, rows]).tanh_()
            h = torch.addcmul(n, rz[..., hidden:], h_prev - n, out=out[:, rows])
        ctx.save_for_backward(w_hh, rz_all, n_all, ghn_all, h_prev_all)
        ctx.steps, ctx.offsets = steps, offsets
        return out

    @staticmethod
    def backward(  # type: ignore[override]
        ctx, d_out: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, None, None]:
        """The gradients of gi, W_hh and b_hh. Only d_h, the gradient of the state
        carried to the previous step, is recurrent; everything else is elementwise
        in the saved gates, so it is computed for all rows at once before and after
        the loop, which runs five small ops per step for both directions (the Python
        loop over steps, not the arithmetic, is what a small batch pays for)."""
        w_hh, rz_all, n_all, ghn_all, h_prev_all = ctx.saved_tensors
        steps, offsets = ctx.steps, ctx.offsets
        n_tokens, hidden = n_all.shape[1], n_all.shape[2]
        r, z = rz_all[..., :hidden], rz_all[..., hidden:]
        # d(h_new)/d(candidate pre-activation): (1 - z) * tanh'(n)
        d_n_coef = (1 - z) * (1 - n_all * n_all)
        # d_gh = d * coef per gate: r (through n), z, and W_hn h + b_hn (through n)
        coef = torch.cat([d_n_coef * ghn_all * r * (1 - r), (h_prev_all - n_all) * z * (1 - z), d_n_coef * r], dim=2)
        coef = coef.view(2, n_tokens, 3, hidden)
        d_all = d_out.new_empty(2, n_tokens, hidden)  # the gradient of each step's new state
        d_gh = d_out.new_empty(2, n_tokens, 3, hidden)
        d_h = d_out.new_zeros(2, steps[0], hidden)
        for t in range(len(steps) - 1, -1, -1):
            rows = slice(offsets[t], offsets[t] + steps[t])
            d = torch.add(d_out[:, rows], d_h[:, : steps[t]], out=d_all[:, rows])
            d_gh_t = torch.mul(coef[:, rows], d.unsqueeze(2), out=d_gh[:, rows])
            d_h[:, : steps[t]] = torch.baddbmm(d * z[:, rows], d_gh_t.view(2, steps[t], 3 * hidden), w_hh)
        d_gh = d_gh.view(2, n_tokens, 3 * hidden)
        d_gi = torch.cat([d_gh[..., : 2 * hidden], d_all * d_n_coef], dim=2)
        return d_gi, torch.bmm(d_gh.transpose(1, 2), h_prev_all), d_gh.sum(1), None, None
