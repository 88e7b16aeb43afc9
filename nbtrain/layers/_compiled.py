"""The compiled loops of the recurrent layers (see :mod:`nbtrain.utils.compiled`). Importing this imports Numba.

Each loop does, element by element, the float32 operations of the NumPy code it stands for, in the same order and
with float32 constants, so the two give the same bits (:func:`nbtrain.utils.compiled.jit` says how they are
compiled to keep it so).
"""

from __future__ import annotations

import numpy as np

from nbtrain.utils.compiled import jit

_ONE = np.float32(1.0)


@jit
def lstm_backward_step(gates, cell, c_prev, dh, dc, gate_grads, decay):
    """One step of the LSTM's backward pass for sigmoid gates and a tanh cell, as ``LSTM._bptt_fused`` in NumPy.

    Feature-major blocks: ``gates`` the step's activated gates o, i, f, g stacked (4u, B); ``cell`` tanh(c_t),
    ``c_prev`` c_{t-1}, ``dh`` and ``dc`` the gradients reaching h_t and c_t, all (u, B). Writes the gate
    gradients (pre-activation) to ``gate_grads`` (4u, B), and leaves in ``dc`` the gradient reaching c_{t-1}
    (``decay``) or c_t's own (not ``decay``: step 0 when nothing wants the start states' gradients).
    """
    units, batch = cell.shape
    for j in range(units):
        for b in range(batch):
            o, i = gates[j, b], gates[units + j, b]
            f, g = gates[2 * units + j, b], gates[3 * units + j, b]
            c, h = cell[j, b], dh[j, b]
            d = dc[j, b] + ((_ONE - c * c) * o) * h                   # dc += dh * o * tanh'(c)
            gate_grads[j, b] = (h * c) * ((_ONE - o) * o)             # dh * tanh(c) * o'
            gate_grads[units + j, b] = (g * ((_ONE - i) * i)) * d      # dc * g * i'
            gate_grads[2 * units + j, b] = (c_prev[j, b] * ((_ONE - f) * f)) * d   # dc * c_prev * f'
            gate_grads[3 * units + j, b] = ((_ONE - g * g) * i) * d   # dc * i * tanh'(g)
            dc[j, b] = d * f if decay else d


_HALF = np.float32(0.5)


@jit
def lstm_forward_gates(gates, c_prev, c):
    """One step of the LSTM's forward pass after ``np.tanh`` of all four gates' pre-activations, as ``LSTM._scan``
    in NumPy: o, i and f become sigmoids (``0.5 tanh(z / 2) + 0.5``: their weights were halved) in place, and
    ``c = f c_prev + i g`` is written to ``c``. Blocks as in :func:`lstm_backward_step`.
    """
    units, batch = c.shape
    for j in range(units):
        for b in range(batch):
            o = gates[j, b] * _HALF + _HALF
            i = gates[units + j, b] * _HALF + _HALF
            f = gates[2 * units + j, b] * _HALF + _HALF
            gates[j, b], gates[units + j, b], gates[2 * units + j, b] = o, i, f
            c[j, b] = f * c_prev[j, b] + i * gates[3 * units + j, b]
