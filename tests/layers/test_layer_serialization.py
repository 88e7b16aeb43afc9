"""Every layer survives serialize -> JSON -> deserialize with the same config, weights and outputs.

The table below has one example per layer class. A test checks that every Layer subclass exported from
``nbtrain.layers`` (and from the layer modules) has an example, so a new layer is round-tripped as soon as it
exists; another checks that every constructor argument appears in ``get_config()`` (the usual cause of a
model that loads but behaves differently).
"""

from __future__ import annotations

import importlib
import inspect
import json

import numpy as np
import pytest

import nbtrain
from nbtrain.layers import Dense, Layer, serialization
from nbtrain.layers.serialization import UnknownLayerError

LAYER_MODULES = ["core", "input_layer", "merging", "convolutional", "pooling", "normalization", "regularization",
                 "recurrent", "embedding", "reshaping", "preprocessing", "activations", "image_augmentation",
                 "separable", "rnn_cells", "convolutional3d", "pooling3d", "operators"]


def _x(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _pair(a, b):
    return lambda rng: [rng.standard_normal(a).astype(np.float32), rng.standard_normal(b).astype(np.float32)]


def _tokens(*shape):
    return lambda rng: rng.integers(0, 10, shape)


def _layers():
    from nbtrain import constraints, regularizers

    lstm = lambda **k: _cls("recurrent", "LSTM")(3, return_sequences=True, **k)  # noqa: E731
    return {
        # name: (module, factory, input maker, constructor arguments legitimately absent from get_config)
        "Dense": ("core", lambda c: c(3, activation="relu", use_bias=True, kernel_initializer="he_normal",
                                      kernel_regularizer=regularizers.L2(0.01), bias_regularizer="l1",
                                      kernel_constraint=constraints.MaxNorm(2.0), bias_constraint="non_neg"),
                  _x(2, 4), ()),
        "Activation": ("core", lambda c: c("softmax"), _x(2, 4), ()),
        "Dropout": ("core", lambda c: c(0.3, noise_shape=(None, 1), seed=3), _x(2, 4), ()),
        "Flatten": ("core", lambda c: c(), _x(2, 3, 4), ()),
        "Conv2DTranspose": ("convolutional", lambda c: c(3, 3, strides=2, padding="same", output_padding=1),
                            _x(2, 4, 4, 2), ()),
        "Conv1DTranspose": ("convolutional", lambda c: c(2, 4, strides=2), _x(2, 5, 3), ()),
        "Reshape": ("core", lambda c: c((2, 6)), _x(2, 12), ()),
        "InputLayer": ("input_layer", lambda c: c(shape=(4,)), _x(2, 4), ("shape", "batch_size")),
        "Add": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Subtract": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Multiply": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Average": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Maximum": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Minimum": ("merging", lambda c: c(), _pair((2, 3), (2, 3)), ()),
        "Concatenate": ("merging", lambda c: c(axis=-1), _pair((2, 3), (2, 2)), ()),
        "Dot": ("merging", lambda c: c(axes=(1, 2), normalize=True), _pair((2, 3, 4), (2, 5, 3)), ()),
        "Identity": ("core", lambda c: c(), _x(2, 4), ()),
        "ActivityRegularization": ("core", lambda c: c(l1=0.01, l2=0.02), _x(2, 4), ()),
        "UnitNormalization": ("normalization", lambda c: c(axis=[1, 2]), _x(2, 3, 4), ()),
        "GroupNormalization": ("normalization", lambda c: c(groups=2, epsilon=1e-2, center=False,
                                                           gamma_regularizer="l2"), _x(2, 3, 4), ()),
        "DepthwiseConv2D": ("separable", lambda c: c(3, strides=2, padding="same", depth_multiplier=2,
                                                      activation="relu", depthwise_regularizer="l2",
                                                      bias_constraint="non_neg"), _x(2, 6, 6, 3), ()),
        "DepthwiseConv1D": ("separable", lambda c: c(3, dilation_rate=2, use_bias=False), _x(2, 8, 3), ()),
        "SeparableConv2D": ("separable", lambda c: c(4, (3, 2), padding="same", depth_multiplier=2,
                                                      pointwise_initializer="he_normal",
                                                      pointwise_constraint="max_norm"), _x(2, 6, 6, 3), ()),
        "SeparableConv1D": ("separable", lambda c: c(5, 3, strides=2, activation="tanh"), _x(2, 9, 3), ()),
        "RandomFlip": ("image_augmentation", lambda c: c("vertical", seed=2), _x(2, 5, 5, 3), ()),
        "RandomTranslation": ("image_augmentation", lambda c: c((-0.2, 0.1), 0.3, fill_mode="constant",
                                                              interpolation="nearest", seed=1, fill_value=0.5),
                              _x(2, 5, 5, 3), ()),
        "RandomRotation": ("image_augmentation", lambda c: c(0.2, fill_mode="wrap", seed=3), _x(2, 5, 5, 3), ()),
        "RandomZoom": ("image_augmentation", lambda c: c(0.2, (-0.1, 0.3), fill_mode="nearest", seed=4),
                       _x(2, 5, 5, 3), ()),
        "RandomContrast": ("image_augmentation", lambda c: c(0.3, value_range=(0, 1), seed=5), _x(2, 5, 5, 3), ()),
        "RandomBrightness": ("image_augmentation", lambda c: c((-0.1, 0.2), value_range=[0, 1], seed=6),
                             _x(2, 5, 5, 3), ()),
        "Conv2D": ("convolutional", lambda c: c(4, 3, strides=(1, 2), padding="same", activation="tanh"),
                   _x(2, 6, 6, 2), ()),
        "Conv1D": ("convolutional", lambda c: c(4, 3, padding="causal", dilation_rate=2), _x(2, 8, 3), ()),
        "ZeroPadding2D": ("convolutional", lambda c: c(((1, 0), (2, 1))), _x(2, 3, 3, 2), ()),
        "ZeroPadding1D": ("convolutional", lambda c: c((1, 2)), _x(2, 5, 3), ()),
        "UpSampling2D": ("convolutional", lambda c: c((2, 3)), _x(2, 3, 3, 2), ()),
        "UpSampling1D": ("convolutional", lambda c: c(3), _x(2, 4, 3), ()),
        "Cropping1D": ("reshaping", lambda c: c((1, 2)), _x(2, 5, 3), ()),
        "Cropping2D": ("reshaping", lambda c: c(((1, 0), (2, 1))), _x(2, 4, 5, 2), ()),
        "Permute": ("reshaping", lambda c: c((2, 1)), _x(2, 3, 4), ()),
        "RepeatVector": ("reshaping", lambda c: c(3), _x(2, 4), ()),
        "Rescaling": ("preprocessing", lambda c: c(np.array([0.5, 2.0, 1.0]), offset=0.1), _x(2, 3), ()),
        "TensorOperator": ("operators", lambda c: c("power", constant=np.array([2.0, 3.0, 1.0]),
                                                 constant_first=True), _x(2, 3), ()),
        "Normalization": ("preprocessing", lambda c: c(axis=-1), _x(4, 3), ()),
        "ReLU": ("activations", lambda c: c(max_value=6.0, negative_slope=0.1, threshold=0.5), _x(2, 4), ()),
        "LeakyReLU": ("activations", lambda c: c(0.2), _x(2, 4), ()),
        "ELU": ("activations", lambda c: c(0.5), _x(2, 4), ()),
        "Softmax": ("activations", lambda c: c(axis=[1, 2]), _x(2, 3, 4), ()),
        "PReLU": ("activations", lambda c: c(alpha_regularizer="l2", alpha_constraint="non_neg", shared_axes=[1]),
                  _x(2, 3, 4), ()),
        "MaxPooling2D": ("pooling", lambda c: c((2, 2), strides=1, padding="same"), _x(2, 5, 5, 2), ()),
        "AveragePooling2D": ("pooling", lambda c: c((3, 2)), _x(2, 6, 6, 2), ()),
        "MaxPooling1D": ("pooling", lambda c: c(2), _x(2, 6, 3), ()),
        "AveragePooling1D": ("pooling", lambda c: c(3, strides=2, padding="same"), _x(2, 7, 3), ()),
        "GlobalAveragePooling2D": ("pooling", lambda c: c(keepdims=True), _x(2, 4, 4, 3), ()),
        "GlobalAveragePooling1D": ("pooling", lambda c: c(), _x(2, 5, 3), ()),
        "GlobalMaxPooling2D": ("pooling", lambda c: c(), _x(2, 4, 4, 3), ()),
        "GlobalMaxPooling1D": ("pooling", lambda c: c(keepdims=True), _x(2, 5, 3), ()),
        "BatchNormalization": ("normalization", lambda c: c(momentum=0.9, epsilon=1e-2, center=False),
                               _x(4, 3), ()),
        "LayerNormalization": ("normalization", lambda c: c(epsilon=1e-2), _x(2, 3, 4), ()),
        "GaussianNoise": ("regularization", lambda c: c(0.1, seed=1), _x(2, 4), ()),
        "GaussianDropout": ("regularization", lambda c: c(0.2, seed=2), _x(2, 4), ()),
        "SpatialDropout1D": ("regularization", lambda c: c(0.2, seed=3), _x(2, 5, 3), ()),
        "SpatialDropout2D": ("regularization", lambda c: c(0.2), _x(2, 4, 4, 3), ()),
        "SpatialDropout3D": ("regularization", lambda c: c(0.2, data_format="channels_first"), _x(2, 3, 2, 2, 3), ()),
        "SimpleRNN": ("recurrent", lambda c: c(3, return_sequences=True, go_backwards=True), _x(2, 5, 4), ()),
        "LSTM": ("recurrent", lambda c: c(3, recurrent_activation="hard_sigmoid", unit_forget_bias=False),
                 _x(2, 5, 4), ()),
        "GRU": ("recurrent", lambda c: c(3, reset_after=False), _x(2, 5, 4), ()),
        "RNN": ("rnn_cells", lambda c: c(_cls("rnn_cells", "StackedRNNCells")([
            _cls("rnn_cells", "LSTMCell")(3, unit_forget_bias=False), _cls("rnn_cells", "GRUCell")(2, reset_after=False),
            _cls("rnn_cells", "SimpleRNNCell")(2, activation="relu")]), return_sequences=True, go_backwards=True,
            zero_output_for_mask=True), _x(2, 5, 4), ()),
        # Keras keeps `weights` (initial values) out of the config too
        "Bidirectional": ("recurrent", lambda c: c(lstm(), merge_mode="sum"), _x(2, 5, 4), ("weights",)),
        "TimeDistributed": ("recurrent", lambda c: c(Dense(2, activation="relu")), _x(2, 5, 4), ()),
        "Embedding": ("embedding", lambda c: c(10, 3, mask_zero=True), _tokens(2, 5), ("weights", "input_length")),
        "Masking": ("embedding", lambda c: c(0.5), _x(2, 5, 3), ()),
        "Conv3D": ("convolutional3d", lambda c: c(4, (2, 3, 2), strides=(1, 2, 1), padding="same", groups=2,
                                                  data_format="channels_first"), _x(2, 2, 4, 5, 3), ()),
        "Conv3DTranspose": ("convolutional3d", lambda c: c(2, 3, strides=2, padding="same", output_padding=1),
                            _x(2, 2, 3, 2, 3), ()),
        "ZeroPadding3D": ("convolutional3d", lambda c: c(((1, 0), (0, 2), (1, 1))), _x(2, 2, 3, 2, 2), ()),
        "UpSampling3D": ("convolutional3d", lambda c: c((2, 1, 3), data_format="channels_first"),
                         _x(2, 2, 3, 2, 2), ()),
        "Cropping3D": ("reshaping", lambda c: c(((1, 0), (0, 1), (1, 1))), _x(2, 3, 3, 4, 2), ()),
        "MaxPooling3D": ("pooling3d", lambda c: c(2, strides=1, padding="same"), _x(2, 3, 4, 3, 2), ()),
        "AveragePooling3D": ("pooling3d", lambda c: c((2, 1, 2), data_format="channels_first"), _x(2, 2, 4, 3, 4),
                             ()),
        "GlobalAveragePooling3D": ("pooling3d", lambda c: c(keepdims=True), _x(2, 3, 2, 2, 3), ()),
        "GlobalMaxPooling3D": ("pooling3d", lambda c: c(data_format="channels_first"), _x(2, 3, 2, 2, 3), ()),
    }


def _cls(module: str, name: str):
    found = getattr(importlib.import_module(f"nbtrain.layers.{module}"), name, None)
    if found is None:
        pytest.skip(f"nbtrain.layers.{module}.{name} does not exist (yet)")
    return found


def _all_layer_classes() -> set[type]:
    """Every public Layer subclass in nbtrain.layers and its modules."""
    found = set(serialization.builtin_layer_classes().values())
    for module_name in LAYER_MODULES:
        try:
            module = importlib.import_module(f"nbtrain.layers.{module_name}")
        except ImportError:
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Layer) and value.__module__ == module.__name__ \
                    and not name.startswith("_"):
                found.add(value)
    return found


# Base classes that are not layers one uses directly.
ABSTRACT = {"Layer", "ActivatedLayer", "Merge", "SlidingWindowLayer", "ImageAugmentation", "AffineAugmentation",
            "ClippedAugmentation"}
# Lambda's function comes back only through custom_objects: tests/layers/test_lambda_layer.py round-trips it.
ABSTRACT |= {"Lambda"}
# Cells compute one step inside RNN(...): the RNN example above round-trips all of them inside StackedRNNCells.
ABSTRACT |= {"SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"}


def _shape_of(x):
    if isinstance(x, list):
        return [(None,) + tuple(a.shape[1:]) for a in x]
    return (None,) + tuple(x.shape[1:])


def _build(layer, x):
    if not layer.built:
        layer.build(_shape_of(x))


def _json(value):
    return json.loads(json.dumps(value))


def _outputs_equal(a, b):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _outputs_equal(u, v)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_every_layer_class_has_a_round_trip_example():
    examples = set(_layers())
    missing = sorted({cls.__name__ for cls in _all_layer_classes()} - examples - ABSTRACT)
    assert missing == [], f"add an example for {missing} to the table in {__file__}"


@pytest.mark.parametrize("name", sorted(_layers()))
def test_round_trip_through_json_keeps_config_weights_and_outputs(name, rng):
    module, factory, make_input, _ = _layers()[name]
    cls = _cls(module, name)
    layer = factory(cls)
    x = make_input(rng)
    _build(layer, x)
    # non-default weights, so an initializer that re-ran on load would show
    layer.set_weights([w + rng.uniform(0.0, 0.1, w.shape).astype(w.dtype) for w in layer.get_weights()])
    config = _json(serialization.serialize(layer))
    assert config["class_name"] == name

    rebuilt = serialization.deserialize(config)
    assert type(rebuilt) is cls
    assert _json(rebuilt.get_config()) == config["config"]
    _build(rebuilt, x)
    assert [w.shape for w in rebuilt.get_weights()] == [w.shape for w in layer.get_weights()]
    rebuilt.set_weights(layer.get_weights())
    _outputs_equal(rebuilt.forward(x, training=False), layer.forward(x, training=False))


# Gaps found by the test below, in files this suite does not own. strict=True: once fixed, the XPASS fails,
# reminding to delete the entry.
KNOWN_CONFIG_GAPS = {
}


def _with_known_gaps(names):
    return [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_CONFIG_GAPS[n], strict=True))
            if n in KNOWN_CONFIG_GAPS else n for n in names]


@pytest.mark.parametrize("name", _with_known_gaps(sorted(_layers())))
def test_every_constructor_argument_is_in_the_config(name):
    module, factory, _, absent = _layers()[name]
    cls = _cls(module, name)
    config = factory(cls).get_config()
    arguments = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
    missing = [a for a in arguments if a not in config and a not in absent]
    assert missing == [], f"{name}.get_config() lacks {missing}: a saved model would lose these settings"
    assert "name" in config


def test_names_and_trainable_flags_survive():
    layer = Dense(2, name="head", trainable=False)
    rebuilt = serialization.deserialize(_json(serialization.serialize(layer)))
    assert rebuilt.name == "head" and rebuilt.trainable is False


# ----- registry ---------------------------------------------------------------------------------------------


def test_builtin_classes_are_found_from_the_package_exports():
    classes = serialization.builtin_layer_classes()
    for name in ("Dense", "Dropout", "Flatten", "Reshape", "Activation", "InputLayer"):
        assert classes[name] is getattr(nbtrain.layers, name)
    assert "Layer" in classes
    assert serialization.get_layer_class("Dense") is nbtrain.layers.Dense


class Stretch(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def forward(self, x, training=False):
        return x * self.factor

    def backward(self, grad_output):
        return grad_output * self.factor

    def get_config(self):
        return super().get_config() | {"factor": self.factor}


def test_custom_objects_come_first_and_defined_subclasses_are_found():
    class Dense(Layer):  # a user class that shadows a built-in name
        pass

    assert serialization.get_layer_class("Dense", custom_objects={"Dense": Dense}) is Dense
    # a layer class defined in this session (a notebook cell) is found without custom_objects
    layer = serialization.deserialize(_json(serialization.serialize(Stretch(3.0, name="stretch"))))
    assert type(layer) is Stretch and layer.factor == 3.0 and layer.name == "stretch"
    assert type(serialization.deserialize({"class_name": "Stretch", "config": {}}, {"Stretch": Stretch})) is Stretch


def test_same_named_classes_from_different_places_are_ambiguous():
    def define():
        class Twin(Layer):
            pass

        return Twin

    first, second = define(), define()  # one place: a re-run cell redefines the class, the latest wins
    assert serialization.get_layer_class("Twin") is second

    class Twin(Layer):  # another place
        pass

    with pytest.raises(UnknownLayerError, match=r"Several layer classes are named 'Twin' .*"
                                                r"custom_objects=\{'Twin': Twin\}"):
        serialization.get_layer_class("Twin")
    assert serialization.get_layer_class("Twin", custom_objects={"Twin": first}) is first


def test_unknown_layer_names_the_fix():
    with pytest.raises(UnknownLayerError) as error:
        serialization.deserialize({"class_name": "MyMissingLayer", "config": {}}, where="'model.keras'")
    message = str(error.value)
    assert "Unknown layer 'MyMissingLayer' in 'model.keras'" in message
    assert "custom_objects={'MyMissingLayer': MyMissingLayer}" in message
    with pytest.raises(UnknownLayerError, match="Did you mean 'Dense'"):
        serialization.get_layer_class("Dnese")


def test_custom_objects_must_be_layer_classes():
    with pytest.raises(TypeError, match="must be a Layer subclass"):
        serialization.get_layer_class("Stretch", custom_objects={"Stretch": Stretch(1.0)})


def test_custom_activation_in_a_layer_config_is_resolved_from_custom_objects(rng):
    from nbtrain.activations import ActivationFunction

    cube = ActivationFunction("cube", lambda x: x ** 3, lambda g, x, y: g * 3 * x ** 2)
    layer = Dense(2, activation=cube)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    _build(layer, x)
    config = _json(serialization.serialize(layer))
    assert config["config"]["activation"] == "cube"
    with pytest.raises(ValueError, match=r"Could not rebuild layer 'dense' \(Dense\).*custom_objects"):
        serialization.deserialize(config)
    rebuilt = serialization.deserialize(config, custom_objects={"cube": cube})
    _build(rebuilt, x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt.forward(x), layer.forward(x))


def test_bad_input_is_reported_clearly():
    with pytest.raises(TypeError, match="expects a layer"):
        serialization.serialize("dense")
    with pytest.raises(ValueError, match="'class_name' and 'config'"):
        serialization.deserialize({"units": 3})
    with pytest.raises(TypeError, match=r"Could not rebuild layer 'd' \(Dense\): .*'activaton'. Did you mean "
                                        r"'activation'"):
        serialization.deserialize({"class_name": "Dense", "config": {"name": "d", "units": 3, "activaton": "relu"}})
