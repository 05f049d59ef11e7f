"""One bidirectional GRU layer's recurrence over packed data, compiled by numba: the
fused path that predicts at small batches on CPU.

Why it exists: at batch 1, `nn.GRU` spends most of each time step on a dozen small
torch ops (a 1 x 100 matrix product, gate slices, sigmoid, tanh, ...), each a dispatch
of a few microseconds around well under a microsecond of arithmetic, so the word and
char BiGRUs took 1.64 of the 3.10 ms a CoNLL03 sentence cost (README "Speed",
`bench/gru_floor.py`). Here each step of both directions is one loop of compiled
code. It gains only while few sequences share a step: with many rows a step's matrix
product is where the time goes, and torch's (MKL/oneDNN) is faster than this loop's.
`pytorch_gru.inference_path` makes the choice.

numba is an optional dependency (`numba_jit`); without it predictions run `nn.GRU`.
`vector_exp` also gives the training loops' sigmoid and tanh (`fused_gru_train`).
numba compiles the loop at its first call and caches it on disk (`numba_jit.compiled`).
"""

from typing import Tuple

import numpy
import torch

from ..errors import Errors
from .numba_jit import AVAILABLE, compiled


def fused_bigru_layer(
    gi: Tuple[torch.Tensor, torch.Tensor],
    w_hh: Tuple[torch.Tensor, torch.Tensor],
    b_hh: Tuple[torch.Tensor, torch.Tensor],
    batch_sizes: torch.Tensor,
) -> torch.Tensor:
    """Both directions of one bidirectional GRU layer over packed data, with zero initial
    states, as `nn.GRU` computes them (gates r, z, n; PyTorch's `nn.GRU` documentation),
    up to float rounding. Float32 on CPU only; no gradient.

    gi (Tuple[Tensor, Tensor]): each direction's input projections x @ W_ih^T + b_ih,
        (n_items, 3 * hidden), packed (the data of a PackedSequence), forward first.
    w_hh (Tuple[Tensor, Tensor]): each direction's recurrent weights, (3 * hidden, hidden).
    b_hh (Tuple[Tensor, Tensor]): each direction's recurrent biases, (3 * hidden,).
    batch_sizes (Tensor): the packed data's batch sizes (CPU).
    RETURNS (Tensor): (n_items, 2 * hidden), the forward states then the backward ones,
        as `nn.GRU(...)(packed)[0].data` of a one-layer GRU.
    RAISES (ValueError): If the batch sizes do not describe n_items packed rows (positive,
        non-increasing, summing to n_items) or the shapes do not fit one another (E113):
        the compiled loop checks no index, so they are checked before it runs.
    """
    hidden = w_hh[0].shape[1]
    out = torch.empty(gi[0].shape[0], 2 * hidden, dtype=gi[0].dtype)
    out_array = out.numpy()
    arrays = [t.detach().contiguous().numpy() for t in (*gi, *w_hh, *b_hh)]
    steps = batch_sizes.numpy().astype(numpy.int64, copy=False)
    if not _fits(*arrays, steps, out_array):
        shapes = ", ".join(str(tuple(t.shape)) for t in (*gi, *w_hh, *b_hh))
        raise ValueError(Errors.E113.format(n=len(out), sizes=steps.tolist(), shapes=shapes))
    _bigru_layer(*arrays, steps, out_array)
    return out


def _fits(gi_f, gi_b, w_f, w_b, b_f, b_b, steps, out):  # pragma: no cover - compiled
    """Whether `_bigru_layer` may run on these arrays: every index it takes is in range."""
    hidden = w_f.shape[1]
    n_rows = out.shape[0]
    if steps.shape[0] == 0:
        return False
    total = 0
    for t in range(steps.shape[0]):
        if steps[t] < 1 or (t and steps[t] > steps[t - 1]):
            return False
        total += steps[t]
        if total > n_rows:  # also before the sum could wrap around
            return False
    for gi in (gi_f, gi_b):
        if gi.shape[0] != n_rows or gi.shape[1] != 3 * hidden:
            return False
    for w, b in ((w_f, b_f), (w_b, b_b)):
        if w.shape[0] != 3 * hidden or w.shape[1] != hidden or b.shape[0] != 3 * hidden:
            return False
    return total == n_rows and out.shape[1] == 2 * hidden


def _bigru_layer(gi_f, gi_b, w_f, w_b, b_f, b_b, steps, out):  # pragma: no cover - compiled
    """The recurrence (arguments as `fused_bigru_layer`'s, as numpy arrays; writes `out`).
    The backward direction reads the steps from the last; a sequence that ends at step t
    joins it there with a zero state. Each step runs in passes over whole rows, which
    the compiler runs in vector lanes: gh = W_hh h + b_hh for the step's rows (each row
    of W_hh read once per step), the gates' pre-activations, `vector_exp` of them, the new
    states."""
    n_steps = steps.shape[0]
    hidden = w_f.shape[1]
    one = numpy.float32(1.0)
    two = numpy.float32(2.0)
    offsets = numpy.zeros(n_steps, numpy.int64)
    for t in range(1, n_steps):
        offsets[t] = offsets[t - 1] + steps[t - 1]
    state = numpy.zeros((steps[0], hidden), numpy.float32)
    gh = numpy.empty((steps[0], 3 * hidden), numpy.float32)
    gates = numpy.empty(3 * hidden, numpy.float32)
    scale = numpy.empty(3 * hidden, numpy.int32)  # 2^n of `vector_exp`, as float32 bits
    for direction in range(2):
        gi, w, b = (gi_f, w_f, b_f) if direction == 0 else (gi_b, w_b, b_b)
        column = direction * hidden
        state[:, :] = 0.0
        for k in range(n_steps):
            t = k if direction == 0 else n_steps - 1 - k
            if direction == 1 and t + 1 < n_steps:
                state[steps[t + 1] : steps[t], :] = 0.0
            rows = steps[t]
            for j in range(3 * hidden):
                for item in range(rows):
                    total = b[j]
                    for i in range(hidden):
                        total += w[j, i] * state[item, i]
                    gh[item, j] = total
            for item in range(rows):
                row = offsets[t] + item
                # -(r, z pre-activations), then 2 x the candidate's: sigmoid(x) =
                # 1 / (1 + e^-x) and tanh(x) = 1 - 2 / (e^2x + 1)
                for i in range(2 * hidden):
                    gates[i] = -(gi[row, i] + gh[item, i])
                vector_exp(gates[: 2 * hidden], scale)
                for i in range(2 * hidden):
                    gates[i] = one / (one + gates[i])
                for i in range(hidden):
                    gates[2 * hidden + i] = two * (gi[row, 2 * hidden + i] + gates[i] * gh[item, 2 * hidden + i])
                vector_exp(gates[2 * hidden :], scale)
                for i in range(hidden):
                    n = one - two / (gates[2 * hidden + i] + one)
                    h = n + gates[hidden + i] * (state[item, i] - n)
                    state[item, i] = h
                    out[row, column + i] = h


def vector_exp(x, scale):  # pragma: no cover - compiled
    """e^x of float32 `x` in place, within about one float32 ulp (Cody-Waite range
    reduction and the polynomial of Cephes' `expf`, as SLEEF and Eigen compute it), in
    a loop the compiler runs in vector lanes, unlike the C library's `expf`; x is
    clamped to [-87, 88], where e^x is finite and normal (so sigmoid and tanh of large
    pre-activations come out as 0, 1 or -1, never from an infinity). `scale` is scratch space of
    at least len(x) int32s."""
    for i in range(x.shape[0]):
        v = min(max(x[i], numpy.float32(-87.0)), numpy.float32(88.0))
        n = numpy.floor(v * numpy.float32(1.44269504088896341) + numpy.float32(0.5))
        r = v - n * numpy.float32(0.693359375) + n * numpy.float32(2.12194440e-4)
        p = numpy.float32(1.9875691500e-4)
        p = p * r + numpy.float32(1.3981999507e-3)
        p = p * r + numpy.float32(8.3334519073e-3)
        p = p * r + numpy.float32(4.1665795894e-2)
        p = p * r + numpy.float32(1.6666665459e-1)
        p = p * r + numpy.float32(5.0000001201e-1)
        x[i] = p * r * r + r + numpy.float32(1.0)
        scale[i] = (numpy.int32(n) + numpy.int32(127)) << 23
    powers = scale[: x.shape[0]].view(numpy.float32)
    for i in range(x.shape[0]):
        x[i] *= powers[i]


if AVAILABLE:
    # "reassoc" lets the dot products run in vector lanes, "contract" fuse multiply-adds;
    # no flag assumes finite values
    vector_exp = compiled(vector_exp, fastmath={"reassoc", "contract"})
    _fits = compiled(_fits)
    _bigru_layer = compiled(_bigru_layer, fastmath={"reassoc", "contract"}, error_model="numpy")
