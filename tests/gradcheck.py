"""Float64 central-difference gradient checks shared by the layer, activation and loss tests.

Every check contracts the function's output with a *random* upstream gradient, because a plain ``.sum()``
hides bugs such as a softmax backward that ignores the other outputs of its row.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-6
TOLERANCE = 1e-6


def numerical_gradient(scalar_fn, x: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """d scalar_fn() / d x by central differences, perturbing ``x`` in place one element at a time."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + epsilon
        plus = scalar_fn()
        flat_x[i] = original - epsilon
        minus = scalar_fn()
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * epsilon)
    return grad


def assert_gradients_close(analytic, numeric, name: str, tolerance: float = TOLERANCE) -> None:
    """Compare with a relative error that is scale aware, and name the offending tensor on failure."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    assert analytic.shape == numeric.shape, f"{name}: gradient shape {analytic.shape} != {numeric.shape}"
    scale = max(1.0, np.abs(numeric).max(initial=0.0), np.abs(analytic).max(initial=0.0))
    error = np.abs(analytic - numeric).max(initial=0.0) / scale
    assert error < tolerance, f"{name}: max relative gradient error {error:.3e} >= {tolerance:.1e}"


def check_elementwise_function(forward, backward, x: np.ndarray, rng: np.random.Generator, name: str) -> None:
    """Check ``backward(upstream, x, y)`` of a function y = forward(x) (activations)."""
    x = np.array(x, dtype=np.float64)
    y = forward(x)
    upstream = rng.standard_normal(np.shape(y))
    analytic = backward(upstream, x, y)
    numeric = numerical_gradient(lambda: float(np.sum(forward(x) * upstream)), x)
    assert_gradients_close(analytic, numeric, name)


def check_layer(layer, x, rng, training=False, reset_noise=None, **forward_kwargs):
    """Check a layer's ``backward`` against central differences, for its input and every trainable weight.

    Weights are cast to float64 first, and the scalar is ``sum(forward(x) * G)`` with a random ``G``.

    Args:
        layer: the layer (built from ``x.shape`` if needed).
        x: a float64 input.
        rng: generator for the upstream gradient.
        training: forward mode (dropout, batch statistics).
        reset_noise: called before every forward pass so random layers draw the same noise each time.
        **forward_kwargs: passed to ``forward`` (e.g. ``mask=``).
    """
    layer.ensure_built(x.shape)
    layer.cast_weights(np.float64)

    def forward():
        if reset_noise is not None:
            reset_noise()
        return layer.forward(x, training=training, **forward_kwargs)

    upstream = rng.standard_normal(np.shape(forward()))

    def scalar():       # with what the call added with add_loss (a layer written with call())
        output = forward()
        return float(np.sum(output * upstream)) + sum(getattr(layer.last_backprop(), "added_losses", ()))

    forward()
    grad_x = layer.backward(upstream)
    analytic = {name: layer.grads[name].copy() for name in layer.params}
    assert_gradients_close(grad_x, numerical_gradient(scalar, x), f"{layer.name} input")
    for name, weight in layer.params.items():
        assert analytic[name].dtype == np.float64, f"{layer.name} {name} gradient not in the weights' dtype"
        assert_gradients_close(analytic[name], numerical_gradient(scalar, weight), f"{layer.name} {name}")


def check_model_gradients(model, xs, rng):
    """Check a model's backward pass against central differences of ``sum(outputs * G)`` (plus the losses its
    layers add), for every trainable weight, with float64 weights and inputs and a random ``G`` per output."""
    for layer in model.layers:
        layer.cast_weights(np.float64)
    xs = [x.astype(np.float64) for x in xs]
    outputs = model._forward(xs, training=False)
    upstream = [rng.standard_normal(o.shape) for o in outputs]

    def scalar():       # with the losses layers added with add_loss
        outputs = model._forward(xs, training=False)
        return sum(float(np.sum(o * g)) for o, g in zip(outputs, upstream)) + getattr(model, "_added_loss", 0.0)

    model._forward(xs, training=False)
    model._backward([(g, False) for g in upstream])
    for layer in model.layers:
        for name, weight in layer.params.items():
            assert_gradients_close(layer.grads[name].copy(), numerical_gradient(scalar, weight),
                                   f"{layer.name}/{name}")


def check_ops_function(fn, inputs, rng, name, tolerance=TOLERANCE):
    """Check the tape's gradients of ``fn`` (written with ``nbtrain.ops``) for every input, in float64.

    ``fn(*inputs)`` runs once under a ``GradientTape`` (tracked inputs) and again eagerly on plain arrays for
    the central differences of ``sum(fn(*inputs) * G)`` with a random ``G``.
    """
    from nbtrain import ops

    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    with ops.GradientTape() as tape:
        tracked = [tape.watch(x) for x in inputs]
        output = fn(*tracked)
    assert isinstance(output, ops.Tensor), f"{name}: the result of tracked inputs is not a tracked Tensor"
    assert output.dtype == np.float64, f"{name}: float64 inputs gave a {output.dtype} result"
    upstream = rng.standard_normal(output.shape)
    analytic = tape.gradient(output, tracked, output_gradients=upstream)
    eager = fn(*inputs)
    assert not isinstance(eager, ops.Tensor), f"{name}: plain arrays in gave a tracked Tensor out"
    np.testing.assert_allclose(eager, output.value, rtol=1e-12, atol=1e-12, err_msg=f"{name}: eager != taped")
    for i, (x, grad) in enumerate(zip(inputs, analytic)):
        assert grad is not None, f"{name}: no gradient reached input {i}"
        numeric = numerical_gradient(lambda: float(np.sum(fn(*inputs) * upstream)), x)
        assert_gradients_close(grad, numeric, f"{name} input {i}", tolerance)
