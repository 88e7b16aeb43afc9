"""The errors a learner hits at compile and fit read as the issue describes: what, expected, how to fix."""

import numpy as np
import pytest

import nbtrain as keras
from nbtrain.layers import Dense, Flatten
from nbtrain.models import Sequential


@pytest.fixture
def model():
    return Sequential([Dense(8, activation="relu", input_shape=(784,)), Dense(10, activation="softmax")])


def test_compile_refuses_optimizer_none(model):
    with pytest.raises(ValueError, match=r"^optimizer=None: compile\(\) needs an optimizer.*optimizer='adam'"):
        model.compile(optimizer=None, loss="mse")


def test_compile_defaults_to_rmsprop_as_keras_does(model):
    model.compile(loss="mse")
    assert type(model.optimizer).__name__ == "RMSprop"


def test_fit_requires_a_loss_when_no_layer_adds_one(model):
    model.compile(optimizer="adam")     # allowed, as in Keras: layers may add their loss with add_loss()
    with pytest.raises(ValueError, match=r"^loss must be specified.*sparse_categorical_crossentropy"):
        model.fit(np.zeros((4,) + model.input_shape[1:], "float32"), np.zeros((4, 1)), verbose=0)


def test_unknown_optimizer_name_suggests_the_nearest(model):
    with pytest.raises(ValueError, match=r"Did you mean 'adam'\?") as error:
        model.compile(optimizer="adm", loss="mse")
    assert "'sgd'" in str(error.value) and "'rmsprop'" in str(error.value)


def test_unknown_loss_fails_at_compile(model):
    with pytest.raises(ValueError, match=r"Did you mean 'categorical_crossentropy'\?"):
        model.compile(optimizer="adam", loss="categorical_crossentropie")


def test_unknown_metric_fails_at_compile(model):
    with pytest.raises(ValueError, match=r"Did you mean 'accuracy'\?"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])


def test_misspelled_compile_keyword_names_metrics(model):
    with pytest.raises(TypeError, match=r"compile\(\) got an unexpected keyword argument 'metrices'\. "
                                        r"Did you mean 'metrics'\?"):
        model.compile(optimizer="adam", loss="mse", metrices=["accuracy"])


def test_metrics_as_a_bare_string_explains_the_list(model):
    with pytest.raises(TypeError, match=r"metrics=\['accuracy'\]"):
        model.compile(optimizer="adam", loss="mse", metrics="accuracy")


def test_fit_before_compile(model):
    with pytest.raises(ValueError, match=r"must be compiled before fit\(\)"):
        model.fit(np.zeros((4, 784)), np.zeros((4, 10)))


def test_misspelled_fit_keyword(model):
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(TypeError, match="Did you mean 'epochs'"):
        model.fit(np.zeros((4, 784)), np.zeros((4, 10)), epoch=3)


def test_x_and_y_of_different_lengths_name_the_shapes(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError) as error:
        model.fit(np.zeros((100, 784)), np.zeros((90, 10)))
    message = str(error.value)
    assert "x has 100 samples" in message and "y has 90 samples" in message and "(90, 10)" in message


def test_image_input_to_dense_model_suggests_flatten(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError) as error:
        model.fit(np.zeros((32, 28, 28)), np.zeros((32, 10)))
    message = str(error.value)
    assert "(None, 784)" in message and "(32, 28, 28)" in message and "Flatten()" in message


def test_integer_labels_with_categorical_crossentropy(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical\(y, 10\)"):
        model.fit(np.zeros((8, 784)), np.arange(8))


def test_one_hot_labels_with_sparse_crossentropy(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="look one-hot encoded.*loss='categorical_crossentropy'"):
        model.fit(np.zeros((8, 784)), np.eye(10)[:8])


def test_wrong_number_of_output_units(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"outputs 10 values per sample.*targets have 3.*Dense\(3"):
        model.fit(np.zeros((8, 784)), np.zeros((8, 3)))


def test_bad_verbose_and_validation_data(model):
    model.compile(optimizer="adam", loss="mse")
    x, y = np.zeros((8, 784)), np.zeros((8, 10))
    with pytest.raises(ValueError, match="verbose must be"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x_val, y_val\)"):
        model.fit(x, y, validation_data=x)


def test_callbacks_must_be_callback_objects(model):
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(TypeError, match="list of nbtrain.callbacks.Callback"):
        model.fit(np.zeros((8, 784)), np.zeros((8, 10)), callbacks=[print], verbose=0)


def test_a_plain_function_with_operators_and_methods_is_a_loss_with_a_gradient(model):
    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1)     # operators and .mean() are recorded too

    model.compile(optimizer="adam", loss=my_loss)
    y_true, y_pred = np.eye(10)[:2], np.full((2, 10), 0.1)
    np.testing.assert_allclose(model._compiled_loss.losses[0].gradient(y_true, y_pred),
                               keras.losses.MeanSquaredError().gradient(y_true, y_pred), rtol=1e-6)


def test_sequential_add_rejects_a_layer_class():
    with pytest.raises(TypeError, match=r"Did you mean to call the layer class, e.g. Dense\(10\)\?"):
        Sequential().add(Flatten)


def test_functional_model_needs_inputs_and_outputs():
    with pytest.raises(TypeError, match=r"needs both inputs and outputs: Model\(inputs=input_tensor"):
        keras.Model(inputs=None, outputs=None)
