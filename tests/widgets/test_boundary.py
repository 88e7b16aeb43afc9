"""Boundary rendering in NumPy, DecisionBoundary as a callback of a real fit, plot_decision_boundary."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrain
from nbtrain.display.outputs import WIDGET_VIEW, RecordingOutput
from nbtrain.widgets.boundary import (BOUNDARY_LUT, LUT, MIDDLE, NEGATIVE, POSITIVE, BoundaryGrid, DecisionBoundary,
                                      colour_values, composite, encode_png, plot_decision_boundary, points_layer)


def tiny_model(inputs=2, units=1, activation="sigmoid"):
    model = nbtrain.Sequential([nbtrain.Input(shape=(inputs,)), nbtrain.layers.Dense(8, activation="tanh"),
                                nbtrain.layers.Dense(units, activation=activation)], name="tiny")
    loss = {"sigmoid": "binary_crossentropy", "softmax": "sparse_categorical_crossentropy"}.get(activation, "mse")
    model.compile(optimizer=nbtrain.optimizers.Adam(0.05), loss=loss)
    return model


@pytest.fixture
def xor_data():
    return nbtrain.widgets.make_2d_data("xor", samples=120, seed=0)


def test_the_grid_runs_from_the_top_left_corner_row_by_row():
    grid = BoundaryGrid((0, 4, 0, 2), resolution=2)
    np.testing.assert_allclose(grid.points, [[1, 1.5], [3, 1.5], [1, 0.5], [3, 0.5]])
    with pytest.raises(ValueError, match="resolution must be an integer of at least 2"):
        BoundaryGrid((0, 1, 0, 1), resolution=1)


def test_the_colour_map_goes_orange_grey_blue():
    assert tuple(LUT[0]) == NEGATIVE and tuple(LUT[-1]) == POSITIVE
    assert np.abs(LUT[127].astype(int) - MIDDLE).max() <= 2
    rgb = colour_values(np.array([0.0, 1.0, 0.5, 0.25], dtype=np.float32), 2)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    # the regions: the same hues, lighter than the points drawn on them
    assert rgb[0, 0].tolist() == BOUNDARY_LUT[0].tolist() and rgb[0, 1].tolist() == BOUNDARY_LUT[-1].tolist()
    assert all(BOUNDARY_LUT[0][i] >= NEGATIVE[i] for i in (0, 1, 2))
    assert int(BOUNDARY_LUT[-1].astype(int).sum()) > sum(POSITIVE)
    regression = colour_values(np.array([-2.0, 2.0, 0.0, 1.0]), 2, "regression", value_range=2.0)
    assert regression[0, 0].tolist() == BOUNDARY_LUT[0].tolist()
    assert regression[0, 1].tolist() == BOUNDARY_LUT[-1].tolist()
    classes = colour_values(np.array([[1, 0, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0]]), 2, "classes")
    assert np.abs(classes[1, 0].astype(int) - MIDDLE).max() <= 1          # unsure: grey
    assert classes[0, 0].tolist() != classes[0, 1].tolist()


def test_points_are_drawn_where_they_are_with_their_class_colour():
    x = np.array([[-5.0, 5.0], [5.0, -5.0]], dtype=np.float32)
    layer = points_layer(x, np.array([0, 1]), (-6, 6, -6, 6), size=120, scale=1)
    assert layer.shape == (120, 120, 4) and layer[..., 3].max() == 255
    # (-5, 5) is 1/12 of the way from the top-left corner; (5, -5) is as far from the bottom-right one
    assert tuple(layer[10, 10, :3]) == NEGATIVE and tuple(layer[110, 110, :3]) == POSITIVE
    assert layer[60, 60, 3] == 0                            # transparent between the points
    picture = composite(np.zeros((4, 4, 3), np.uint8), layer)
    assert picture.shape == (120, 120, 3) and tuple(picture[10, 10]) == NEGATIVE     # points: full colour


def test_encode_png_round_trips():
    from io import BytesIO

    from PIL import Image

    rgb = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    assert np.array_equal(np.asarray(Image.open(BytesIO(encode_png(rgb)))), rgb)


def test_decision_boundary_draws_live_frames_then_leaves_a_static_picture(xor_data, clock, comm_traffic):
    x, y = xor_data
    output = RecordingOutput()
    boundary = DecisionBoundary(x, y, clock=clock, output=output, live=True, interval=0.0)
    model = tiny_model()
    model.fit(x, y, epochs=4, batch_size=32, verbose=0, callbacks=[boundary])
    assert boundary.frames == 4
    # one output: the live widget, replaced by the picture when training ended; every widget model closed
    assert len(output.outputs) == 1 and WIDGET_VIEW not in output.outputs[0]
    assert {"image/png", "text/html", "text/plain"} <= set(output.outputs[0])
    assert "after 4 epochs" in output.outputs[0]["text/plain"]
    opened = sum(kind == "comm_open" for kind, _ in comm_traffic)
    closed = sum(kind == "comm_close" for kind, _ in comm_traffic)
    assert opened == closed > 0
    # a frame sends the boundary alone: a few KB
    assert len(boundary.png) < 8_000


def test_decision_boundary_frames_are_throttled(xor_data, clock):
    x, y = xor_data
    boundary = DecisionBoundary(x, y, clock=clock, output=RecordingOutput(), live=True, interval=1.0)
    tiny_model().fit(x, y, epochs=5, verbose=0, callbacks=[boundary])
    assert boundary.frames == 1                   # the fake clock never moved: the first epoch only


def test_decision_boundary_refuses_models_without_2d_inputs(xor_data):
    x, y = xor_data
    with pytest.raises(ValueError, match=r"takes inputs of shape \(None, 3\)"):
        tiny_model(inputs=3).fit(np.zeros((10, 3)), np.zeros(10), verbose=0,
                                 callbacks=[DecisionBoundary(x, y, live=False, output=RecordingOutput())])
    with pytest.raises(ValueError, match=r"x must hold 2-D points, shape \(n, 2\), but got shape \(10, 3\)"):
        DecisionBoundary(np.zeros((10, 3)), np.zeros(10))


def test_decision_boundary_without_a_notebook_shows_nothing(xor_data):
    x, y = xor_data
    boundary = DecisionBoundary(x, y)
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[boundary])
    assert boundary.record is None and boundary.frames == 0


def test_multiclass_and_regression_boundaries(clock):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (90, 2)).astype(np.float32)
    labels = (np.arctan2(x[:, 1], x[:, 0]) > 0).astype(int) + (x[:, 0] > 0.5)
    for model, y in ((tiny_model(units=3, activation="softmax"), labels),
                     (tiny_model(activation="linear"), x[:, 0] * 3.0)):
        boundary = DecisionBoundary(x, y, clock=clock, output=RecordingOutput(), live=False)
        model.fit(x, y, epochs=2, verbose=0, callbacks=[boundary])
        assert boundary.record is not None


def test_plot_decision_boundary_is_a_figure_with_the_boundary(xor_data):
    import matplotlib

    matplotlib.use("Agg")
    x, y = xor_data
    model = tiny_model()
    model.fit(x, y, epochs=2, verbose=0)
    fig = nbtrain.plot_decision_boundary(model, x, y, x_test=x[:10], y_test=y[:10], resolution=50)
    images = fig.axes[0].get_images()
    assert len(images) == 1 and images[0].get_array().shape[2] == 3
    assert fig.axes[0].get_xlabel() == "x\u2081"
    with pytest.raises(ValueError, match=r"takes inputs of shape \(None, 3\)"):
        plot_decision_boundary(tiny_model(inputs=3), x, y)
    import matplotlib.pyplot as plt

    plt.close("all")
