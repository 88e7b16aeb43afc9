"""Random image augmentation layers: the resampler against Keras 3, each layer's randomness and statistics,
inference as identity, seeds, float64 gradient checks, errors and training a small CNN with augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gradcheck import check_layer

import nbtrain
from nbtrain.layers import (Conv2D, Dense, Flatten, Input, RandomBrightness, RandomContrast, RandomFlip,
                            RandomRotation, RandomTranslation, RandomZoom)
from nbtrain.layers.image_augmentation import FILL_MODES, INTERPOLATIONS, resample

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def keras_images():
    with np.load(FIXTURES / "keras_layer_reference.npz") as data:
        return dict(data)


# ----- the resampler against Keras 3 -----------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_resample_matches_keras_affine_transform(fill_mode, interpolation, keras_images):
    out, _ = resample(keras_images["affine/images"], keras_images["affine/matrices"].astype(np.float64),
                      interpolation, fill_mode, fill_value=-1.0)
    np.testing.assert_allclose(out, keras_images[f"affine/{fill_mode}/{interpolation}"], atol=2e-5)


def test_the_reference_cases_are_described():
    meta = json.loads((FIXTURES / "keras_layer_reference.json").read_text())
    assert meta["keras"].startswith("3.")


def test_resample_fill_modes_by_hand():
    row = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)            # a b c d = 0 1 2 3
    shift_right_by_two = np.array([[1.0, 0, -2.0, 0, 1.0, 0]])          # x_in = x - 2
    expected = {"reflect": [1, 0, 0, 1], "wrap": [2, 3, 0, 1], "nearest": [0, 0, 0, 1], "constant": [9, 9, 0, 1]}
    for mode, values in expected.items():
        out, _ = resample(row, shift_right_by_two, "bilinear", mode, fill_value=9.0)
        np.testing.assert_array_equal(out.ravel(), values, err_msg=mode)


# ----- each layer ------------------------------------------------------------------------------------------

LAYERS = {
    "flip": lambda **k: RandomFlip(**k),
    "translation": lambda **k: RandomTranslation(0.3, 0.3, **k),
    "rotation": lambda **k: RandomRotation(0.2, **k),
    "zoom": lambda **k: RandomZoom(0.3, **k),
    "contrast": lambda **k: RandomContrast(0.5, **k),
    "brightness": lambda **k: RandomBrightness(0.2, **k),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_identity_at_inference_and_random_in_training(make, rng):
    images = rng.uniform(0, 255, (6, 8, 8, 3)).astype(np.float32)
    layer = make(seed=1)
    np.testing.assert_array_equal(layer(images, training=False), images)
    assert not np.array_equal(layer(images), images)     # a direct call augments, as in Keras
    first = layer(images, training=True)
    second = layer(images, training=True)
    assert first.shape == images.shape and first.dtype == np.float32
    assert not np.array_equal(first, images) and not np.array_equal(first, second)


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_a_seed_repeats_the_sequence(make, rng):
    images = rng.uniform(0, 255, (4, 6, 6, 2)).astype(np.float32)
    a, b = make(seed=5), make(seed=5)
    for _ in range(2):
        np.testing.assert_array_equal(a(images, training=True), b(images, training=True))


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_one_unbatched_image_works_too(make, rng):
    image = rng.uniform(0, 255, (6, 6, 3)).astype(np.float32)
    layer = make(seed=0)
    assert layer(image, training=True).shape == (6, 6, 3)


def test_flip_modes_produce_exactly_the_expected_images(rng):
    image = rng.standard_normal((1, 3, 4, 1)).astype(np.float32)
    images = np.repeat(image, 400, axis=0)
    outcomes = {
        "horizontal": [image[0], image[0, :, ::-1]],
        "vertical": [image[0], image[0, ::-1]],
        "horizontal_and_vertical": [image[0], image[0, :, ::-1], image[0, ::-1], image[0, ::-1, ::-1]],
    }
    for mode, allowed in outcomes.items():
        out = RandomFlip(mode, seed=0)(images, training=True)
        counts = [sum(np.array_equal(o, a) for o in out) for a in allowed]
        assert sum(counts) == 400, mode                    # nothing else appears
        assert min(counts) > 400 / len(allowed) * 0.7, (mode, counts)   # and each outcome is common


def test_rotation_by_a_quarter_turn_is_exact_on_a_square_image():
    image = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    layer = RandomRotation((0.25, 0.25))
    out = layer(image, training=True)[0, :, :, 0]
    np.testing.assert_allclose(out, np.rot90(image[0, :, :, 0], k=1), atol=1e-5)   # positive: counter-clockwise


def test_zoom_out_shrinks_and_zoom_in_enlarges():
    image = np.zeros((1, 9, 9, 1), np.float32)
    image[0, 3:6, 3:6] = 1.0                                # a 3x3 square in the middle
    out_zoom = RandomZoom((0.5, 0.5), fill_mode="constant")(image, training=True)
    in_zoom = RandomZoom((-0.5, -0.5), fill_mode="constant")(image, training=True)
    assert out_zoom.sum() < image.sum() < in_zoom.sum()


def test_translation_shifts_by_the_drawn_fraction():
    image = np.zeros((1, 10, 10, 1), np.float32)
    image[0, 0, 0] = 1.0
    out = RandomTranslation((0.2, 0.2), (0.3, 0.3), fill_mode="constant")(image, training=True)
    assert out[0, 2, 3, 0] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)  # down 2 rows, right 3


def test_contrast_keeps_each_channel_mean_and_respects_the_range(rng):
    images = rng.uniform(50, 200, (20, 5, 5, 3)).astype(np.float32)
    out = RandomContrast((0.5, 0.5), seed=0)(images, training=True)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=1e-4)
    spread = out.std(axis=(1, 2)) / images.std(axis=(1, 2))
    assert 0.5 - 1e-4 <= spread.min() and spread.max() <= 1.5 + 1e-4 and spread.max() - spread.min() > 0.3
    unit = RandomContrast(1.0, value_range=(0, 1), seed=0)(rng.random((8, 4, 4, 1)), training=True)
    assert unit.min() >= 0.0 and unit.max() <= 1.0


def test_brightness_adds_one_offset_per_image_within_the_range(rng):
    images = rng.uniform(0.3, 0.7, (50, 4, 4, 3)).astype(np.float32)
    out = RandomBrightness(0.2, value_range=(0, 1), seed=0)(images, training=True)
    offsets = (out - images).reshape(50, -1)
    np.testing.assert_allclose(offsets, offsets[:, :1].repeat(48, axis=1), atol=1e-6)
    assert -0.2 - 1e-6 <= offsets.min() and offsets.max() <= 0.2 + 1e-6
    assert offsets[:, 0].min() < -0.1 and offsets[:, 0].max() > 0.1


# ----- gradients -------------------------------------------------------------------------------------------


def _same_draws(layer, seed=3):
    def reset():
        layer._rng = np.random.default_rng(seed)
    return reset


@pytest.mark.parametrize("make", [
    lambda: RandomFlip("horizontal_and_vertical"),
    lambda: RandomTranslation(0.3, 0.3, fill_mode="reflect"),
    lambda: RandomTranslation(0.3, 0.3, fill_mode="constant", fill_value=0.5),
    lambda: RandomRotation(0.3, fill_mode="wrap"),
    lambda: RandomRotation(0.3, fill_mode="nearest", interpolation="nearest"),
    lambda: RandomZoom(0.4, 0.2, fill_mode="reflect"),
    lambda: RandomContrast(0.5, value_range=(-1, 1)),
    lambda: RandomBrightness(0.3, value_range=(-1, 1)),
], ids=["flip", "translation-reflect", "translation-constant", "rotation-wrap", "rotation-nearest", "zoom",
        "contrast", "brightness"])
def test_gradient_in_training(make, rng):
    layer = make()
    x = rng.uniform(-0.9, 0.9, (3, 5, 6, 2))
    check_layer(layer, x, rng, training=True, reset_noise=_same_draws(layer))


def test_gradient_at_inference_passes_through(rng):
    check_layer(RandomRotation(0.2), rng.standard_normal((2, 4, 4, 1)), rng, training=False)


# ----- errors, configs, training ---------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: RandomRotation(1.5), r"factor to be a number in \[-1, 1\]"),
    (lambda: RandomRotation((0.1, 0.2, 0.3)), "pair"),
    (lambda: RandomZoom(-1.0), r"height_factor to be a number in \(-1, 1\]"),
    (lambda: RandomTranslation(0.1, "x"), "width_factor"),
    (lambda: RandomContrast(-0.2), r"\[0, 1\]"),
    (lambda: RandomBrightness(0.2, value_range=(1, 1)), "value_range"),
    (lambda: RandomFlip("sideways"), "'horizontal', 'vertical', 'horizontal_and_vertical'"),
    (lambda: RandomRotation(0.1, fill_mode="mirror"), "fill_mode"),
    (lambda: RandomZoom(0.1, interpolation="bicubic"), "interpolation"),
    (lambda: RandomFlip(data_format="channels_first"), "channels_last"),
])
def test_bad_arguments_get_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_grayscale_images_without_a_channel_axis_get_a_hint():
    with pytest.raises(ValueError, match=r"x\[\.\.\., None\]"):
        RandomFlip()(Input(shape=(28, 28)))
    layer = RandomFlip()
    layer(np.zeros((28, 28, 1), np.float32))                # one image builds the layer for batches of them
    assert layer.input_shape == (None, 28, 28, 1)
    assert layer(np.zeros((5, 28, 28, 1), np.float32), training=True).shape == (5, 28, 28, 1)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        layer(np.zeros((5, 32, 32, 1), np.float32))


def test_symbolic_shapes_and_summary():
    inputs = Input(shape=(32, 32, 3))
    x = RandomFlip("horizontal")(inputs)
    x = RandomRotation(0.1)(x)
    x = RandomZoom(0.1)(x)
    assert x.shape == (None, 32, 32, 3)


def test_a_cnn_trains_with_augmentation_and_predicts_deterministically(rng):
    nbtrain.utils.set_random_seed(0)
    x = rng.random((64, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)   # top half brighter
    model = nbtrain.Sequential([
        Input(shape=(8, 8, 1)),
        RandomTranslation(0.1, 0.1, seed=0), RandomContrast(0.1, value_range=(0, 1), seed=0),
        Conv2D(4, 3, activation="relu"), Flatten(), Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_channels_first_default_is_refused_not_misread():
    import nbtrain

    nbtrain.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="image_data_format"):
            RandomFlip()
        assert RandomFlip(data_format="channels_last").data_format == "channels_last"
    finally:
        nbtrain.config.set_image_data_format("channels_last")
