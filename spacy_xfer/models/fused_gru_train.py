"""The GRU training recurrence with each time step's elementwise work compiled by numba:
the float32 CPU path of `pytorch_gru.packed_gru_train`.

Why it exists: the recurrence written in torch ops (`pytorch_gru._BiGRURecurrence`) runs
about eight small ops per time step forward (gate sums, sigmoid, tanh, the new state,
copies into the saved rows) and three backward, plus a dozen passes over all the saved
rows to build the backward's gate coefficients. Each op is a dispatch of microseconds,
and each pass reads and writes every row again. Here a step is one torch matrix product
(the recurrent one, MKL's/oneDNN's, which a compiled loop does not beat beyond a few
rows) and one compiled loop that does the rest of the step in one pass over its rows,
in both directions; the backward's loop also writes the input projections' gradient,
so nothing is concatenated after it.

The arithmetic is the same as `_BiGRURecurrence`'s up to float rounding: sigmoid and
tanh come from `fused_gru.vector_exp` (within about one float32 ulp of e^x), so float32
only. numba is optional (`numba_jit`); without it the torch-op recurrence trains.
"""

from typing import List, Tuple

import numpy
import torch

from .fused_gru import vector_exp
from .numba_jit import AVAILABLE, compiled


class FusedBiGRURecurrence(torch.autograd.Function):
    """Both directions of one GRU layer over packed data, as `_BiGRURecurrence` computes
    them: gates r, z, n as in `nn.GRU`, zero initial state. Takes the input projections
    and gives the states in the packed layout, as the layer's linear map makes them and
    the next layer reads them: the backward direction's rows are mirrored (`mirror`) by
    the compiled loops as they read and write them, so no copy reorders them. Float32
    on CPU, numba installed."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        gi: torch.Tensor,
        w_hh: torch.Tensor,
        b_hh: torch.Tensor,
        steps: List[int],
        offsets: List[int],
        mirror: numpy.ndarray,
    ) -> torch.Tensor:
        """gi (n_tokens, 6 * hidden): x @ W_ih^T + b_ih, the forward direction's then the
        backward one's; w_hh (2, 3 * hidden, hidden), b_hh (2, 3 * hidden); steps: the
        rows of each time step, offsets: each step's first row; mirror (n_tokens,):
        `packing.mirrored_rows`, as int64 -> the states (n_tokens, 2 * hidden), as
        `nn.GRU(...)(packed)[0].data`."""
        gi = gi.contiguous()
        n_tokens, hidden = gi.shape[0], gi.shape[1] // 6
        out = gi.new_empty(n_tokens, 2 * hidden)
        # per direction, in the order it reads the rows (direction d's row at d * n_tokens + row)
        states = gi.new_empty(2, n_tokens, hidden)
        rz_all = gi.new_empty(2 * n_tokens, 2 * hidden)  # gates r and z
        n_all = gi.new_empty(2 * n_tokens, hidden)  # the candidate state n
        ghn_all = gi.new_empty(2 * n_tokens, hidden)  # W_hn h + b_hn
        h_prev_all = gi.new_empty(2, n_tokens, hidden)
        gh_buffer = gi.new_empty(2 * steps[0] * 3 * hidden)  # each step's W_hh h + b_hh
        gh_rows = gh_buffer.numpy().reshape(2 * steps[0], 3 * hidden)
        arrays = [
            gi.numpy(),
            out.numpy(),
            states.numpy().reshape(2 * n_tokens, hidden),
            rz_all.numpy(),
            n_all.numpy(),
            ghn_all.numpy(),
            h_prev_all.numpy().reshape(2 * n_tokens, hidden),
            mirror,
        ]
        w_t, bias = w_hh.detach().transpose(1, 2), b_hh.detach().unsqueeze(1)
        for t, (start, rows) in enumerate(zip(offsets, steps)):
            gh = gh_buffer[: 2 * rows * 3 * hidden].view(2, rows, 3 * hidden)
            if t:
                previous = offsets[t - 1]
                torch.baddbmm(bias, states[:, previous : previous + rows], w_t, out=gh)
            else:
                previous = -1  # the zero initial state
                gh.copy_(bias.expand(2, rows, 3 * hidden))
            _forward_step(gh_rows, *arrays, start, previous, rows)
        ctx.save_for_backward(w_hh, rz_all, n_all, ghn_all, h_prev_all)
        ctx.steps, ctx.offsets, ctx.mirror = steps, offsets, mirror
        return out

    @staticmethod
    def backward(  # type: ignore[override]
        ctx, d_out: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, None, None, None]:
        """The gradients of gi, W_hh and b_hh. Per step, from the last: one compiled
        loop turns the states' gradient into the gates' (written into both d_gh and
        d_gi) and the part carried through z, then one matrix product carries the
        rest through W_hh to the previous step."""
        w_hh, rz_all, n_all, ghn_all, h_prev_all = ctx.saved_tensors
        steps, offsets = ctx.steps, ctx.offsets
        n_tokens, hidden = h_prev_all.shape[1], h_prev_all.shape[2]
        d_out = d_out.contiguous()
        d_gh = d_out.new_empty(2, n_tokens, 3 * hidden)
        d_gi = d_out.new_empty(n_tokens, 6 * hidden)
        # the gradient carried to the previous step's states, and its part through z
        d_h_buffer = d_out.new_empty(2 * steps[0] * hidden)
        d_hz_buffer = d_out.new_empty(2 * steps[0] * hidden)
        arrays = [
            d_h_buffer.numpy().reshape(2 * steps[0], hidden),
            d_hz_buffer.numpy().reshape(2 * steps[0], hidden),
            d_out.numpy(),
            rz_all.numpy(),
            n_all.numpy(),
            ghn_all.numpy(),
            h_prev_all.numpy().reshape(2 * n_tokens, hidden),
            d_gh.numpy().reshape(2 * n_tokens, 3 * hidden),
            d_gi.numpy(),
            ctx.mirror,
        ]
        w = w_hh.detach()
        rows_next = 0  # no gradient comes from after the last step
        for t in range(len(steps) - 1, -1, -1):
            start, rows = offsets[t], steps[t]
            _backward_step(*arrays, start, rows, rows_next)
            if t:  # the initial state is no parameter
                size = 2 * rows * hidden
                torch.baddbmm(
                    d_hz_buffer[:size].view(2, rows, hidden),
                    d_gh[:, start : start + rows],
                    w,
                    out=d_h_buffer[:size].view(2, rows, hidden),
                )
            rows_next = rows
        return d_gi, torch.bmm(d_gh.transpose(1, 2), h_prev_all), d_gh.sum(1), None, None, None


def _forward_step(
    gh, gi, out, states, rz, n_all, ghn, h_prev, mirror, start, previous, rows
):  # pragma: no cover - compiled
    """One time step of both directions, given gh = W_hh h + b_hh of its rows (row
    d * rows + item of `gh` for direction d's item): the gates and new states of packed
    rows start .. start + rows, written into `out` (the backward direction's at its
    `mirror` row), `states` and the rows the backward pass reads (`rz`, `n_all`, `ghn`,
    `h_prev`); direction d's rows of these are d * n_tokens + row. The previous states
    are `states`' rows from `previous` on, or zeros if `previous` < 0."""
    n_tokens = out.shape[0]
    hidden = n_all.shape[1]
    one = numpy.float32(1.0)
    two = numpy.float32(2.0)
    gates = numpy.empty(3 * hidden, numpy.float32)
    scale = numpy.empty(3 * hidden, numpy.int32)
    for direction in range(2):
        for item in range(rows):
            row, k, source = _rows(direction, item, start, rows, n_tokens, mirror)
            g_column, h_column = direction * 3 * hidden, direction * hidden
            if previous < 0:
                for i in range(hidden):
                    h_prev[row, i] = 0.0
            else:
                p = direction * n_tokens + previous + item
                for i in range(hidden):
                    h_prev[row, i] = states[p, i]
            # -(r, z pre-activations), then 2 x the candidate's: sigmoid(x) =
            # 1 / (1 + e^-x) and tanh(x) = 1 - 2 / (e^2x + 1)
            for i in range(2 * hidden):
                gates[i] = -(gi[source, g_column + i] + gh[k, i])
            vector_exp(gates[: 2 * hidden], scale)
            for i in range(2 * hidden):
                rz[row, i] = one / (one + gates[i])
            for i in range(hidden):
                ghn[row, i] = gh[k, 2 * hidden + i]
            for i in range(hidden):
                gates[2 * hidden + i] = two * (gi[source, g_column + 2 * hidden + i] + rz[row, i] * ghn[row, i])
            vector_exp(gates[2 * hidden :], scale)
            for i in range(hidden):
                n_all[row, i] = one - two / (gates[2 * hidden + i] + one)
            for i in range(hidden):
                states[row, i] = n_all[row, i] + rz[row, hidden + i] * (h_prev[row, i] - n_all[row, i])
            for i in range(hidden):
                out[source, h_column + i] = states[row, i]


def _rows(direction, item, start, rows, n_tokens, mirror):  # pragma: no cover - compiled
    """Where the compiled steps find `item` of a step (its first packed row `start`,
    `rows` items) in `direction`: its row of the per-direction arrays (the direction's
    n_tokens rows in the order it reads them), of gh and d_hz (d * rows + item), and
    of gi, out, d_out and d_gi (the backward direction's mirrored)."""
    source = start + item if direction == 0 else mirror[start + item]
    return direction * n_tokens + start + item, direction * rows + item, source


def _backward_step(
    d_h, d_hz, d_out, rz, n_all, ghn, h_prev, d_gh, d_gi, mirror, start, rows, rows_next
):  # pragma: no cover - compiled
    """One time step of both directions backward (rows as `_forward_step`'s): d, the
    gradient of each row's new state (from `d_out` and, for the first `rows_next` items,
    `d_h`, carried from the next step), gives the gradients of gh (`d_gh`: r, z and
    W_hn h + b_hn) and of gi (`d_gi`, in gi's layout: r, z and the candidate's
    pre-activation), and d * z into `d_hz` (row d * rows + item), the part of the
    previous state's gradient not through W_hh."""
    n_tokens = d_out.shape[0]
    hidden = n_all.shape[1]
    one = numpy.float32(1.0)
    for direction in range(2):
        for item in range(rows):
            row, k, source = _rows(direction, item, start, rows, n_tokens, mirror)
            g_column, h_column = direction * 3 * hidden, direction * hidden
            for i in range(hidden):
                d_hz[k, i] = d_out[source, h_column + i]
            if item < rows_next:
                k_next = direction * rows_next + item
                for i in range(hidden):
                    d_hz[k, i] += d_h[k_next, i]
            for i in range(hidden):
                d = d_hz[k, i]
                r = rz[row, i]
                z = rz[row, hidden + i]
                n = n_all[row, i]
                d_n = d * (one - z) * (one - n * n)  # through tanh
                d_r = d_n * ghn[row, i] * r * (one - r)
                d_z = d * (h_prev[row, i] - n) * z * (one - z)
                d_gh[row, i] = d_r
                d_gh[row, hidden + i] = d_z
                d_gh[row, 2 * hidden + i] = d_n * r
                d_gi[source, g_column + i] = d_r
                d_gi[source, g_column + hidden + i] = d_z
                d_gi[source, g_column + 2 * hidden + i] = d_n
                d_hz[k, i] = d * z


if AVAILABLE:
    # "reassoc" and "contract" as `fused_gru`'s loop; no flag assumes finite values
    _rows = compiled(_rows)
    _forward_step = compiled(_forward_step, fastmath={"reassoc", "contract"}, error_model="numpy")
    _backward_step = compiled(_backward_step, fastmath={"reassoc", "contract"}, error_model="numpy")
