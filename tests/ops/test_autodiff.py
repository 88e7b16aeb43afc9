"""The tape: what is tracked and what is not, errors for NumPy on tracked tensors, Variables, vjp, and an MLP
written with ops giving the same gradients as the built-in Dense layers and loss."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nbtrain import ops
from nbtrain.layers import Dense
from nbtrain.losses import CategoricalCrossentropy
from nbtrain.models import Sequential

# ------------------------------------------------------------------------------------------- eager use


def test_ops_on_plain_arrays_return_plain_float32_arrays():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for result in (ops.mean(x), ops.exp(x), x * 2.0, ops.softmax(x), ops.matmul(x, x.T), ops.add(x, 1)):
        assert not isinstance(result, ops.Tensor)
        assert np.asarray(result).dtype == np.float32
    labels = np.array([1, 0], dtype=np.int32)
    assert ops.subtract(labels[:, None], x).dtype == np.float32  # NumPy alone would give float64
    assert ops.mean(labels).dtype == np.float32
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32


def test_a_loss_function_written_with_ops_runs_eagerly():
    def rmse(y_true, y_pred):
        return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))

    y_true = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
    y_pred = np.array([[0.0, 0.0], [1.0, 3.0]], np.float32)
    np.testing.assert_allclose(rmse(y_true, y_pred), np.sqrt([0.5, 2.0]), rtol=1e-6)


# ---------------------------------------------------------------------------------------- what is tracked


def test_results_of_tracked_inputs_are_tracked_and_others_are_not():
    with ops.GradientTape() as tape:
        x = tape.watch(np.ones(3, np.float32))
        assert isinstance(x * 2, ops.Tensor)
        assert isinstance(np.ones(3, np.float32) * x, ops.Tensor)  # NumPy's operator gives way
        assert isinstance(np.ones((3, 2), np.float32).T @ x, ops.Tensor)
        assert not isinstance(ops.argmax(x), ops.Tensor)      # integer results carry no gradient
        assert not isinstance(x > 0, ops.Tensor)              # nor do booleans
        assert not isinstance(ops.cast(x, "int32"), ops.Tensor)
        assert not isinstance(ops.stop_gradient(x), ops.Tensor)
        assert not isinstance(ops.exp(np.ones(3)), ops.Tensor)


def test_stop_gradient_blocks_the_gradient():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array([1.0, 2.0], np.float32))
        y = ops.sum(x * ops.stop_gradient(x))
    np.testing.assert_allclose(tape.gradient(y, x), [1.0, 2.0])


def test_a_tensor_used_by_several_ops_sums_its_gradients_without_mixing_them():
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(4)

    def fn(x):
        a = x + x          # the add's gradient hands the same array to both parents
        b = a * x + a
        return ops.sum(b * b + a)

    with ops.GradientTape() as tape:
        x = tape.watch(x0)
        y = fn(x)
    analytic = tape.gradient(y, x)
    # d/dx of sum((2x^2 + 2x)^2 + 2x)
    expected = 2 * (2 * x0 ** 2 + 2 * x0) * (4 * x0 + 2) + 2
    np.testing.assert_allclose(analytic, expected, rtol=1e-12)


def test_gradients_keep_the_inputs_float32_dtype():
    with ops.GradientTape() as tape:
        w = tape.watch(np.ones((3, 2), np.float32))
        y = ops.mean(ops.square(w - 0.5) * 3.0)
    assert tape.gradient(y, w).dtype == np.float32


def test_deep_graphs_do_not_hit_the_recursion_limit():
    with ops.GradientTape() as tape:
        x = tape.watch(np.array(1.0))
        y = x
        for _ in range(5000):
            y = y * 1.0001
    np.testing.assert_allclose(tape.gradient(y, x), 1.0001 ** 5000, rtol=1e-9)


def test_a_source_the_target_does_not_depend_on_gets_none():
    with ops.GradientTape() as tape:
        x, unused = tape.watch([np.ones(2), np.ones(3)])
        y = ops.sum(x)
    grad_x, grad_unused = tape.gradient(y, [x, unused])
    np.testing.assert_array_equal(grad_x, [1, 1])
    assert grad_unused is None


def test_watching_integers_is_refused_with_a_fix():
    with ops.GradientTape() as tape, pytest.raises(TypeError, match="astype"):
        tape.watch(np.array([1, 2]))


def test_tapes_are_per_thread():
    variable = ops.Variable(np.ones(2))
    seen = []
    with ops.GradientTape() as tape:
        tape.watch(variable)
        thread = threading.Thread(target=lambda: seen.append(type(ops.multiply(variable, 2.0))))
        thread.start()
        thread.join()
        assert isinstance(ops.multiply(variable, 2.0), ops.Tensor)
    assert seen == [np.ndarray]


# ---------------------------------------------------------------------------------- NumPy on a tracked tensor


@pytest.mark.parametrize("call, suggestion", [
    (lambda x: np.exp(x), "ops.exp"),
    (lambda x: np.mean(x), "ops.mean"),
    (lambda x: np.sum(x, axis=0), "ops.sum"),
    (lambda x: np.concatenate([x, np.ones(3)]), "ops.concatenate"),
    (lambda x: np.maximum(x, 0), "ops.maximum"),
    (lambda x: np.tanh(x), "ops.tanh"),
    (lambda x: np.dot(x, x), "ops.dot"),
    (lambda x: np.linalg.norm(x), "ops.norm"),
])
def test_numpy_functions_on_tracked_tensors_name_the_ops_function(call, suggestion):
    with ops.GradientTape() as tape:
        x = tape.watch(np.ones(3, np.float32))
        with pytest.raises(TypeError, match=f"zero gradient.*{suggestion.replace('.', '[.]')}"):
            call(x)


def test_converting_a_tracked_tensor_to_numpy_is_refused():
    with ops.GradientTape() as tape:
        x = tape.watch(np.ones(3, np.float32))
        with pytest.raises(TypeError, match="convert_to_numpy"):
            np.asarray(x)
        np.testing.assert_array_equal(ops.convert_to_numpy(x), np.ones(3))


def test_a_tensor_shows_its_values():
    assert repr(ops.Tensor(np.array([1.0, 2.0], np.float32))) == "Tensor([1., 2.], shape=(2,), dtype=float32)"


# ------------------------------------------------------------------------------------------------ Variables


def test_a_variable_is_its_array_outside_a_tape():
    v = ops.Variable([1.0, 2.0])
    assert v.dtype == np.float32 and v.shape == (2,)
    np.testing.assert_array_equal(np.asarray(v), [1.0, 2.0])
    assert type(v * 2) is np.ndarray and type(ops.exp(v)) is np.ndarray
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])


def test_a_watched_variable_is_differentiated_wherever_ops_read_it():
    kernel = ops.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    bias = ops.Variable(np.zeros(2))
    x = np.array([[1.0, -1.0]], np.float32)
    with ops.GradientTape() as tape:
        tape.watch([kernel, bias])
        y = ops.sum((x @ kernel + bias) * 2)   # operators on a Variable
    grad_kernel, grad_bias = tape.gradient(y, [kernel, bias])
    np.testing.assert_array_equal(grad_kernel, [[2, 2], [-2, -2]])
    np.testing.assert_array_equal(grad_bias, [2, 2])


def test_variables_read_under_a_tape_are_watched_unless_told_not_to_or_not_trainable():
    v, frozen = ops.Variable(np.ones(2)), ops.Variable(np.ones(2), trainable=False)
    with ops.GradientTape() as tape:
        y = ops.sum(v * frozen * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v), [3, 3])
    assert tape.gradient(y, frozen) is None


def test_an_unwatched_variable_is_a_constant():
    v = ops.Variable(np.ones(2))
    with ops.GradientTape(watch_accessed_variables=False) as tape:
        x = tape.watch(np.ones(2))
        y = ops.sum(x * v)
    assert tape.gradient(y, v) is None
    np.testing.assert_array_equal(tape.gradient(y, x), [1, 1])


# ---------------------------------------------------------------------------------- vjp and value_and_grad


def test_vjp_returns_outputs_and_the_gradients_of_arguments_and_variables():
    rng = np.random.default_rng(0)
    kernel = ops.Variable(rng.standard_normal((3, 2)))
    x = rng.standard_normal((4, 3)).astype(np.float32)

    def layer(inputs):
        hidden = inputs @ kernel
        return [ops.relu(hidden), ops.sum(hidden, axis=1)]

    (relu_out, sums), backward = ops.vjp(layer, x)
    hidden = x @ kernel.value
    np.testing.assert_allclose(relu_out, np.maximum(hidden, 0), rtol=1e-6)
    np.testing.assert_allclose(sums, hidden.sum(axis=1), rtol=1e-5)
    g_relu, g_sum = rng.standard_normal((4, 2)), rng.standard_normal(4)
    (grad_x,), (grad_kernel,) = backward([g_relu, g_sum], variables=[kernel])
    grad_hidden = g_relu * (hidden > 0) + g_sum[:, None]
    np.testing.assert_allclose(grad_x, grad_hidden @ kernel.value.T, rtol=1e-5)
    np.testing.assert_allclose(grad_kernel, x.T @ grad_hidden, rtol=1e-5)
    assert grad_x.dtype == np.float32


def test_vjp_gives_zeros_for_what_the_outputs_do_not_depend_on():
    unused = ops.Variable(np.ones(3))
    out, backward = ops.vjp(lambda a, b: a * 2, np.ones(2, np.float32), np.ones(5, np.float32))
    np.testing.assert_array_equal(out, [2, 2])
    (grad_a, grad_b), (grad_unused,) = backward(np.ones(2, np.float32), variables=[unused])
    np.testing.assert_array_equal(grad_a, [2, 2])
    np.testing.assert_array_equal(grad_b, np.zeros(5))
    np.testing.assert_array_equal(grad_unused, np.zeros(3))


def test_value_and_grad():
    value, grad = ops.value_and_grad(lambda w, x: ops.sum(ops.square(w * x)), argnums=(0, 1))(
        np.array([1.0, 2.0]), np.array([3.0, 1.0]))
    assert value == 9 + 4
    np.testing.assert_array_equal(grad[0], [18, 4])
    np.testing.assert_array_equal(grad[1], [6, 8])


def test_value_and_grad_explains_a_constant_or_non_scalar_result():
    with pytest.raises(ValueError, match="does not depend"):
        ops.value_and_grad(lambda w: ops.sum(ops.convert_to_numpy(w)))(np.ones(2))
    with pytest.raises(ValueError, match="scalar"):
        ops.value_and_grad(lambda w: w * 2)(np.ones(2))


# ------------------------------------------------------------ an MLP with ops equals the built-in layers


@pytest.mark.parametrize("softmax_layer", [False, True])
def test_an_mlp_written_with_ops_has_the_gradients_of_dense_layers_and_the_builtin_loss(softmax_layer):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    model = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax" if softmax_layer else None)])
    model.build((None, 5))
    loss = CategoricalCrossentropy(from_logits=not softmax_layer)

    probabilities_or_logits = model._forward([x], training=False)[0]
    model._backward([(loss.gradient(y, probabilities_or_logits), False)])
    builtin = {f"{layer.name}/{name}": layer.grads[name].copy() for layer in model.layers for name in layer.params}

    weights = [ops.Variable(layer.params[name]) for layer in model.layers for name in ("kernel", "bias")]
    w1, b1, w2, b2 = weights

    def mlp_loss(inputs):
        logits = ops.relu(inputs @ w1 + b1) @ w2 + b2
        if softmax_layer:
            return ops.mean(ops.categorical_crossentropy(y, ops.softmax(logits)))
        return ops.mean(ops.categorical_crossentropy(y, logits, from_logits=True))

    value, backward = ops.vjp(mlp_loss, x)
    _, grads = backward(np.float32(1.0), variables=weights)
    np.testing.assert_allclose(value, loss(y, probabilities_or_logits), rtol=1e-6)
    for (name, expected), actual in zip(builtin.items(), grads):
        assert actual.dtype == np.float32, name
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6, err_msg=name)


def test_backward_skips_gradients_nobody_asked_for():
    from nbtrain.ops.autodiff import Tensor, backpropagate

    def must_not_run(g):
        raise AssertionError("computed a gradient for an input that leads to no target")

    unwanted, wanted = Tensor(np.ones(2)), Tensor(np.ones(2))
    output = Tensor(np.ones(2), (unwanted, wanted), (must_not_run, lambda g: 3 * g))
    (grad,) = backpropagate([output], [np.ones(2)], [wanted])
    np.testing.assert_array_equal(grad, [3, 3])


def test_vjp_without_argument_gradients():
    kernel = ops.Variable(np.full((3, 2), 2.0))
    _, backward = ops.vjp(lambda x: x @ kernel, np.ones((4, 3), np.float32))
    argument_grads, (grad_kernel,) = backward(np.ones((4, 2), np.float32), variables=[kernel], arguments=False)
    assert argument_grads is None
    np.testing.assert_array_equal(grad_kernel, np.full((3, 2), 4.0))


def test_numpy_on_a_variable_works_outside_a_tape_and_is_refused_while_recording():
    v = ops.Variable([1.0, 4.0])
    np.testing.assert_array_equal(np.sqrt(v), [1.0, 2.0])
    np.testing.assert_array_equal(np.concatenate([v, v]), [1.0, 4.0, 1.0, 4.0])
    assert np.mean(v) == 2.5
    np.testing.assert_array_equal(np.ones(2) + v, [2.0, 5.0])
    with ops.GradientTape():
        with pytest.raises(TypeError, match="ops[.]sqrt"):
            np.sqrt(v)                    # not yet read by an op: still refused, it would be watched
        with pytest.raises(TypeError, match="ops[.]mean"):
            np.mean(v)
        with pytest.raises(TypeError, match="convert_to_numpy"):
            np.asarray(v)
        assert isinstance(np.ones(2) + v, ops.Tensor)
    frozen = ops.Variable([1.0], trainable=False)
    with ops.GradientTape():
        np.testing.assert_array_equal(np.sqrt(frozen), [1.0])  # not differentiated: NumPy is fine


def test_shape_queries_on_tracked_tensors_are_allowed():
    with ops.GradientTape() as tape:
        x = tape.watch(np.ones((2, 3)))
        assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6


def test_nested_tapes_both_differentiate_a_variable_the_outer_one_watches():
    v = ops.Variable(np.array([2.0]))
    with ops.GradientTape() as outer:
        outer.watch(v)
        y, backward = ops.vjp(lambda x: x * v * v, np.array([3.0], np.float32))
        z = ops.sum(v * 5.0)
    _, (grad_inner,) = backward(np.ones(1, np.float32), variables=[v])
    np.testing.assert_array_equal(grad_inner, [12.0])
    np.testing.assert_array_equal(outer.gradient(z, v), [5.0])


def test_a_wrapped_variable_shares_its_array():
    weights = np.zeros(2, np.float32)
    v = ops.Variable.wrap(weights, name="kernel")
    weights += 1  # an optimizer's in-place update
    np.testing.assert_array_equal(v.numpy(), [1, 1])
    with ops.GradientTape() as tape:
        y = ops.sum(v * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v), [3, 3])
    with pytest.raises(TypeError, match="floating-point NumPy array"):
        ops.Variable.wrap(np.zeros(2, np.int32))


def test_a_training_loop_from_scratch_with_a_tape_and_an_nbtrain_optimizer_learns():
    from nbtrain.optimizers import Adam

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.25).astype(np.float32)
    w, b = ops.Variable(np.zeros((3, 1)), name="w"), ops.Variable(np.zeros(1), name="b")
    optimizer = Adam(learning_rate=0.1)
    for _ in range(300):
        with ops.GradientTape() as tape:
            loss = ops.mean(ops.square(x @ w + b - y))
        grads = tape.gradient(loss, [w, b])
        optimizer.apply(grads, [w.value, b.value])
    np.testing.assert_allclose(w.numpy().ravel(), [1.5, -2.0, 0.5], atol=1e-2)
    np.testing.assert_allclose(b.numpy(), [0.25], atol=1e-2)


def test_vjp_says_whether_the_outputs_depend_on_anything_differentiated():
    _, backward = ops.vjp(lambda x: x * 2.0, np.ones(2, np.float32))
    assert backward.connected
    _, backward = ops.vjp(lambda x: ops.convert_to_numpy(x) * 2.0, np.ones(2, np.float32))
    assert not backward.connected


def test_variable_assignments_as_a_keras_metric_uses_them():
    total, count = ops.Variable(0.0, name="total"), ops.Variable(0.0, name="count")
    for batch in (np.array([1.0, 2.0]), np.array([6.0])):
        total.assign_add(ops.sum(batch))
        count.assign_add(ops.cast(ops.size(batch), "float32"))
    assert float(total / count) == 3.0
    total.assign(0.0)
    count.assign_sub(1.0)
    assert total.numpy() == 0.0 and count.numpy() == 2.0 and total.dtype == np.float32
