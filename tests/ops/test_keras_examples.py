"""The computations of Keras examples that made nbtrain fail at ``from keras import ops`` (written here by us in
their style), run eagerly and under the tape, with float64 gradient checks."""

from __future__ import annotations

import numpy as np
from gradcheck import check_ops_function

from nbtrain import backend as K
from nbtrain import ops


def antirectifier(inputs, kernel):
    # the "antirectifier" custom layer's call(): centre, split into positive and negative parts, project
    inputs = inputs - ops.mean(inputs, axis=-1, keepdims=True)
    pos = ops.relu(inputs)
    neg = ops.relu(-inputs)
    concatenated = ops.concatenate([pos, neg], axis=-1)
    return ops.matmul(concatenated, kernel)


def euclidean_distance(vectors):
    # a siamese network's Lambda layer
    x, y = vectors
    sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
    return ops.sqrt(ops.maximum(sum_square, K.epsilon()))


def contrastive_loss(y_true, y_pred, margin=1.0):
    square_pred = ops.square(y_pred)
    margin_square = ops.square(ops.maximum(margin - y_pred, 0))
    return ops.mean((1 - y_true) * square_pred + y_true * margin_square)


def rmse(y_true, y_pred):
    return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))


def test_antirectifier(rng):
    x, kernel = rng.standard_normal((4, 6)), rng.standard_normal((12, 3))
    eager = antirectifier(x.astype(np.float32), kernel.astype(np.float32))
    assert eager.shape == (4, 3) and eager.dtype == np.float32
    check_ops_function(antirectifier, [x, kernel], rng, "antirectifier")


def test_siamese_distance_and_contrastive_loss(rng):
    labels = np.array([[1.0], [0.0], [1.0]])

    def model(x, y):
        return contrastive_loss(labels, euclidean_distance([x, y]))

    check_ops_function(model, [rng.standard_normal((3, 5)), rng.standard_normal((3, 5))], rng, "siamese")


def test_rmse_loss_written_for_compile(rng):
    y_true = rng.standard_normal((5, 3))
    check_ops_function(lambda y_pred: rmse(y_true, y_pred), [rng.standard_normal((5, 3))], rng, "rmse")
    expected = np.sqrt(np.mean((y_true - 1.0) ** 2, axis=-1))
    np.testing.assert_allclose(rmse(y_true, np.ones((5, 3))), expected)
