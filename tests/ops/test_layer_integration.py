"""The integration path for custom layers, shown with a layer defined here (nbtrain.layers is untouched): its
``_apply`` runs the forward pass under ``ops.vjp`` and its backprop hands gradients to and from the built-in
layers around it. The model's gradients pass the float64 check and equal a built-in Dense's."""

from __future__ import annotations

import numpy as np
from gradcheck import check_model_gradients

from nbtrain import ops
from nbtrain.layers import Dense, Layer
from nbtrain.models import Sequential


class OpsDense(Layer):
    """relu(x @ kernel + bias), written with ops; no backward pass."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), initializer="glorot_uniform")
        self.add_weight("bias", (self.units,), initializer="zeros")
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def call(self, inputs, kernel, bias):
        return ops.relu(inputs @ kernel + bias)

    def _apply(self, x, training, need_input_grad):
        names = list(self.params)
        variables = [ops.Variable.wrap(self._weights[name]) for name in names]
        y, backward = ops.vjp(lambda inputs: self.call(inputs, *variables), x)

        def backprop(grad_y):
            grad_inputs, grads = backward(grad_y, variables=variables, arguments=need_input_grad)
            for name, grad in zip(names, grads):
                np.copyto(self.grad_buffer(name), grad)
            return grad_inputs[0] if need_input_grad else None

        return y, backprop


def test_gradients_flow_between_builtin_and_ops_layers(rng):
    model = Sequential([Dense(4, activation="tanh"), OpsDense(3), Dense(2)])
    model.build((None, 5))
    check_model_gradients(model, [rng.standard_normal((6, 5))], rng)


def test_an_ops_layer_has_the_gradients_of_the_builtin_dense(rng):
    x = rng.standard_normal((8, 5)).astype(np.float32)
    upstream = rng.standard_normal((8, 2)).astype(np.float32)
    grads = []
    for middle in (OpsDense(3), Dense(3, activation="relu")):
        model = Sequential([Dense(4, activation="tanh", kernel_initializer="ones"), middle,
                            Dense(2, kernel_initializer="ones")])
        model.build((None, 5))
        middle.set_weights([np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), np.full(3, 0.1, np.float32)])
        outputs = model._forward([x], training=False)
        model._backward([(upstream, False)])
        grads.append((outputs[0], [layer.grads[name].copy() for layer in model.layers for name in layer.params]))
    (out_ops, grads_ops), (out_builtin, grads_builtin) = grads
    np.testing.assert_allclose(out_ops, out_builtin, rtol=1e-6)
    for ours, theirs in zip(grads_ops, grads_builtin):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
