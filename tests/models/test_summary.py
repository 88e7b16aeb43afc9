"""model.summary(): Keras's table layout, shapes, counts and totals."""

from nbtrain import Input, Model
from nbtrain.layers import Concatenate, Dense, Dropout
from nbtrain.models import Sequential
from nbtrain.models.summary import format_size


def captured(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines[0]


def test_sequential_summary_lists_layers_shapes_and_totals():
    model = Sequential([Dense(512, activation="relu", input_shape=(784,)), Dropout(0.2), Dense(10)])
    text = captured(model)
    assert text.startswith('Model: "sequential"\n┏')
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text and "Connected to" not in text
    assert "│ dense (Dense)" in text and "(None, 512)" in text and "401,920 │" in text
    assert " Total params: 407,050 (1.55 MB)" in text and " Non-trainable params: 0 (0.00 B)" in text


def test_unbuilt_layers_show_question_marks():
    text = captured(Sequential([Dense(3)]))
    assert "?" in text and "0 (unbuilt)" in text


def test_branching_functional_summary_has_connections():
    a, b = Input(shape=(3,), name="a"), Input(shape=(2,), name="b")
    hidden = Dense(4, name="hidden")(Concatenate(name="join")([a, b]))
    text = captured(Model([a, b], Dense(1, name="out")(hidden)))
    assert "Connected to" in text and "a[0][0], b[0][0]" in text and "join[0][0]" in text
    assert "a (InputLayer)" in text


def test_optimizer_params_appear_once_built():
    import numpy as np

    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0)
    assert " Optimizer params: " in captured(model)


def test_sizes_are_1024_based():
    assert format_size(13610 * 4) == "53.16 KB" and format_size(0) == "0.00 B"
