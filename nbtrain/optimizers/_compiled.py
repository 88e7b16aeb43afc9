"""The compiled update loops behind :mod:`nbtrain.optimizers.fused`. Importing this module imports Numba.

Each loop reads every array once and writes each updated one once, where the NumPy ``update_step`` makes a pass
over memory per operation. Every loop does the NumPy update's float32 operations on each element in the same
order, with float32 scalars, so the two give the same bits (:func:`nbtrain.utils.compiled.jit` says how they are
compiled to keep it so).

The arrays are flat, C-contiguous float32 arrays of one size; the scalars are ``np.float32``.
"""

from __future__ import annotations

import numpy as np

from nbtrain.utils.compiled import jit


@jit
def rmsprop(gradient, variable, velocity, rho, one_minus_rho, epsilon, learning_rate):
    for i in range(variable.size):
        g = gradient[i]
        v = velocity[i] * rho + (g * g) * one_minus_rho
        velocity[i] = v
        variable[i] -= (g / np.sqrt(v + epsilon)) * learning_rate


@jit
def rmsprop_momentum(gradient, variable, velocity, momentum, rho, one_minus_rho, epsilon, learning_rate,
                     momentum_rate):
    for i in range(variable.size):
        g = gradient[i]
        v = velocity[i] * rho + (g * g) * one_minus_rho
        velocity[i] = v
        m = momentum[i] * momentum_rate + (g / np.sqrt(v + epsilon)) * learning_rate
        momentum[i] = m
        variable[i] -= m


@jit
def _adam_moments(i, gradient, first, second, one_minus_beta_1, one_minus_beta_2):
    """Element ``i``'s new moving averages (stored, and returned), as ``adam.update_moments``."""
    g = gradient[i]
    m = first[i] + (g - first[i]) * one_minus_beta_1
    v = second[i] + (g * g - second[i]) * one_minus_beta_2
    first[i] = m
    second[i] = v
    return m, v


@jit
def adam(gradient, variable, first, second, one_minus_beta_1, one_minus_beta_2, epsilon, alpha):
    for i in range(variable.size):
        m, v = _adam_moments(i, gradient, first, second, one_minus_beta_1, one_minus_beta_2)
        variable[i] -= (m / (np.sqrt(v) + epsilon)) * alpha


@jit
def adam_amsgrad(gradient, variable, first, second, second_max, one_minus_beta_1, one_minus_beta_2, epsilon,
                 alpha):
    for i in range(variable.size):
        m, v = _adam_moments(i, gradient, first, second, one_minus_beta_1, one_minus_beta_2)
        v = np.maximum(second_max[i], v)
        second_max[i] = v
        variable[i] -= (m / (np.sqrt(v) + epsilon)) * alpha


@jit
def sgd(gradient, variable, learning_rate):
    for i in range(variable.size):
        variable[i] -= gradient[i] * learning_rate


@jit
def sgd_momentum(gradient, variable, velocity, momentum, learning_rate):
    for i in range(variable.size):
        u = velocity[i] * momentum - gradient[i] * learning_rate
        velocity[i] = u
        variable[i] += u


@jit
def sgd_nesterov(gradient, variable, velocity, momentum, learning_rate):
    for i in range(variable.size):
        step = gradient[i] * learning_rate
        u = velocity[i] * momentum - step
        velocity[i] = u
        variable[i] = (variable[i] - step) + u * momentum


_EXPONENT = np.uint32(0x7F800000)
_ZERO = np.uint32(0)


@jit
def flush_subnormal(values):
    """Zero the subnormal numbers (and negative zeros) of a float32 array, as ``optimizer._flush_subnormal``: a
    value whose exponent bits are all zero becomes +0.0. One pass, on the bits (no float operation)."""
    bits = values.view(np.uint32)
    for k in range(bits.size):
        word = bits[k]
        bits[k] = word if word & _EXPONENT else _ZERO
