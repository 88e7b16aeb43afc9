"""Keras's guide "Making new layers and models via subclassing", section by section, with only the imports
changed (``import nbtrain as keras``; ``from nbtrain import ops``) and its printed results turned into checks.
The VAE at the end trains on random "images" instead of MNIST (no download in the tests)."""

import numpy as np
import pytest

import nbtrain as keras
from nbtrain import layers, ops


# ----- The Layer class: the combination of state (weights) and some computation ---------------------------------

class LinearInInit(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


def test_a_layer_with_weights_made_in_init():
    x = ops.ones((2, 2))
    linear_layer = LinearInInit(4, 2)
    y = linear_layer(x)
    assert y.shape == (2, 4)
    assert linear_layer.weights == [linear_layer.w, linear_layer.b]


# ----- Layers can have non-trainable weights -------------------------------------------------------------------

class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


def test_a_non_trainable_weight():
    x = ops.ones((2, 2))
    my_sum = ComputeSum(2)
    y = my_sum(x)
    np.testing.assert_array_equal(ops.convert_to_numpy(y), [2.0, 2.0])
    y = my_sum(x)
    np.testing.assert_array_equal(ops.convert_to_numpy(y), [4.0, 4.0])
    assert len(my_sum.weights) == 1
    assert len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


# ----- Best practice: deferring weight creation until the shape of the inputs is known -------------------------

class Linear(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


def test_weights_created_lazily_on_the_first_call():
    linear_layer = Linear(32)
    assert linear_layer.weights == []
    y = linear_layer(ops.ones((2, 8)))
    assert y.shape == (2, 32) and [w.shape for w in linear_layer.weights] == [(8, 32), (32,)]


# ----- Layers are recursively composable -----------------------------------------------------------------------

class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.activations.relu(x)
        x = self.linear_2(x)
        x = keras.activations.relu(x)
        return self.linear_3(x)


def test_a_block_of_linear_layers_tracks_their_weights():
    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))  # The first call to the `mlp` will create the weights
    assert y.shape == (3, 1)
    assert len(mlp.weights) == 6
    assert len(mlp.trainable_weights) == 6


def test_the_block_trains_in_a_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype("float32")
    y = (x[:, :1] * x[:, 1:2] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), MLPBlock(), layers.Activation("sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.85


# ----- The add_loss() method ------------------------------------------------------------------------------------

class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


class OuterLayerWithKernelRegularizer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))

    def call(self, inputs):
        return self.dense(inputs)


def test_losses_added_in_call_and_by_regularizers_of_inner_layers():
    layer = OuterLayer()
    assert len(layer.losses) == 0  # No losses yet since the layer has never been called
    _ = layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1  # We created one loss value
    # `layer.losses` gets reset at the start of each __call__
    _ = layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1  # This is the loss created during the call above

    layer = OuterLayerWithKernelRegularizer()
    _ = layer(ops.zeros((1, 1)))
    # This is `1e-3 * sum(layer.dense.kernel ** 2)`, created by the `kernel_regularizer` above.
    assert len(layer.losses) == 1
    assert layer.losses[0] == pytest.approx(1e-3 * float(np.sum(np.square(layer.dense.get_weights()[0]))))


def test_added_losses_in_fit_with_and_without_a_compiled_loss():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)

    # If there is a loss passed in `compile`, the regularization losses get added to it
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.random((2, 3)), np.random.random((2, 3))
    history = model.fit(x, y, verbose=0)
    expected = np.mean((x - y) ** 2) + 1e-2 * np.mean(x)
    assert history.history["loss"] == [pytest.approx(expected, rel=1e-5)]

    # It's also possible not to pass any loss in `compile`, since the model already has a loss to minimize,
    # via the `add_loss` call during the forward pass!
    model.compile(optimizer="adam")
    history = model.fit(x, y, verbose=0)
    assert history.history["loss"] == [pytest.approx(1e-2 * np.mean(x), rel=1e-5)]


# ----- You can optionally enable serialization on your layers ---------------------------------------------------

def test_get_config_and_from_config():
    layer = Linear(64)
    config = layer.get_config()
    assert config["units"] == 64
    new_layer = Linear.from_config(config)
    assert new_layer.units == 64 and new_layer.name == layer.name


# ----- Privileged training argument in the call() method ------------------------------------------------------

class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


def test_the_training_argument():
    layer = CustomDropout(0.5)
    x = np.ones((100, 10), "float32")
    np.testing.assert_array_equal(layer(x), x)
    dropped = layer(x, training=True)
    assert set(np.unique(dropped)) == {0.0, 2.0}
    model = keras.Sequential([keras.Input((10,)), CustomDropout(0.5), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, np.ones((100, 1)), verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.layers[1](x), rtol=1e-6)  # no dropout


# ----- Putting it all together: an end-to-end example ---------------------------------------------------------

class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32, name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


def test_the_variational_autoencoder_trains_with_fit():
    rng = np.random.default_rng(0)
    prototypes = (rng.random((4, 784)) > 0.7).astype("float32")      # four "digits", noisy copies of each
    x_train = np.clip(prototypes[rng.integers(0, 4, 512)] + 0.1 * rng.standard_normal((512, 784)), 0, 1)
    x_train = x_train.astype("float32")

    original_dim = 784
    vae = VariationalAutoEncoder(original_dim, 64, 32)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=6, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert len(vae.trainable_weights) == 10      # 5 Dense layers, a kernel and a bias each
    reconstruction = vae.predict(x_train[:8], verbose=0)
    assert reconstruction.shape == (8, 784) and np.all((reconstruction >= 0) & (reconstruction <= 1))
