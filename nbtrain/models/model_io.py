"""What goes into a model and what it is trained against: arrays in, shapes checked, problems explained.

:class:`ModelIO` turns the ``x``, ``y`` and ``sample_weight`` a user passes into float32 arrays ordered as
the model's inputs and outputs, applies Keras 3's one forgiving reshape, and explains a mismatch with its
fix (``target_problem``). It reads the model it serves; the Trainer asks it, and nothing here trains.
"""

from __future__ import annotations

import numpy as np

from nbtrain.data.arrays import (ArrayData, as_array_list, cast_floats, check_all_finite, check_same_length,
                                 sample_weight_array)
from nbtrain.losses import binary_label_problem
from nbtrain.utils.naming import shape_text


class ModelIO:
    """The model's boundary for data: conversion to float32 arrays and the checks that go with it.

    Args:
        model: the model served; read for ``input_names``, ``output_names``, ``output_shapes``, ``built``,
            ``input_shape``, ``_check_inputs`` and the compiled losses.
    """

    def __init__(self, model):
        self.model = model

    def inputs(self, x, what="x") -> list[np.ndarray]:
        """``x`` as a checked list of float32 arrays, one per model input (one batch: ``model(x)``)."""
        xs = self._input_arrays(x, what)
        self.model._check_inputs(xs)
        check_all_finite(xs, what)
        return xs

    def prediction_data(self, x) -> ArrayData:
        """``x`` checked against the model's inputs, for ``predict``, which casts it batch by batch."""
        xs = self._input_arrays(x, "x", per_batch=True)
        self.model._check_inputs(xs)
        check_all_finite(xs, "x")
        return ArrayData(xs, cast_per_batch=True)

    def arrays(self, x, y, sample_weight, x_name="x", y_name="y", per_batch=False) -> ArrayData:
        """Inputs, targets and sample weights of one length, checked against the model, and cast to float32
        once (or batch by batch with ``per_batch``, for a single pass over the data: see ``cast_floats``)."""
        xs = self._input_arrays(x, x_name, per_batch)
        ys = None if y is None else cast_floats(
            as_array_list(by_name(y, self.model.output_names, y_name), y_name, len(self.model.output_names)),
            per_batch)
        sw_name = "sample_weight" if x_name == "x" else "validation sample_weight"
        sw = None if sample_weight is None else sample_weight_array(sample_weight, ys, sw_name)
        samples = check_same_length({x_name: xs, y_name: ys, sw_name: None if sw is None else [sw]})
        if samples == 0:
            raise ValueError(empty_data_message(x_name, xs, y_name, ys))
        self.model._check_inputs(xs)
        if ys is not None:
            self.check_targets(ys, y_name)
        check_all_finite(xs, x_name)
        check_all_finite(ys, y_name)
        check_all_finite(None if sw is None else [sw], sw_name)
        return ArrayData(xs, ys, sw, cast_per_batch=per_batch)

    def training_arrays(self, x, y, sample_weight) -> ArrayData:
        """:meth:`arrays` for ``fit`` and ``train_on_batch``, which need both ``x`` and ``y``."""
        if x is None:
            raise ValueError("fit() needs training data: model.fit(x, y, ...).")
        if y is None and not self.trains_without_targets():
            raise ValueError("fit() received x but no targets y. Pass the labels too: model.fit(x, y, ...).")
        return self.arrays(x, y, sample_weight)

    def trains_without_targets(self) -> bool:
        """``compile()`` without a loss, for a model whose layers add theirs: ``fit(x)`` needs no ``y``, as in
        Keras (the guide's LogisticEndpoint takes its targets as an input)."""
        compiled = self.model._compiled_loss
        return compiled is not None and all(loss is None for loss in compiled.losses)

    def evaluation_arrays(self, x, y, sample_weight) -> ArrayData:
        """:meth:`arrays` for ``evaluate``, which needs both ``x`` and ``y`` and reads them once."""
        if x is None or (y is None and not self.trains_without_targets()):
            raise ValueError("evaluate() needs inputs and targets: model.evaluate(x, y).")
        return self.arrays(x, y, sample_weight, per_batch=True)

    def validation_arrays(self, validation_data) -> ArrayData:
        """``validation_data=(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)`` as checked arrays."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), got "
                f"{type(validation_data).__name__}"
                + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else "") + "."
            )
        x_val, y_val, *rest = validation_data
        return self.arrays(x_val, y_val, rest[0] if rest else None, "validation x", "validation y")

    def check_targets(self, ys, y_name) -> None:
        """Raise with the fix when the targets cannot train the model's outputs with its losses."""
        model = self.model
        if len(ys) != len(model.output_names):
            raise ValueError(f"The model has {len(model.output_names)} outputs {model.output_names} but {y_name} "
                             f"holds {len(ys)} arrays.")
        losses = model._compiled_loss.losses if model._compiled_loss else [None] * len(ys)
        for y, output_shape, loss in zip(ys, model.output_shapes, losses):
            problem = target_problem(y.shape, output_shape, loss) or binary_label_problem(loss, y)
            if problem:
                raise ValueError(problem)

    def _input_arrays(self, x, what, per_batch=False) -> list[np.ndarray]:
        build_from_data = getattr(self.model, "build_from_data", None)
        if build_from_data is not None:     # a subclassed model not built yet: a dict of inputs names them
            build_from_data(x)
        names = self.model.input_names
        xs = cast_floats(as_array_list(by_name(x, names, what), what, 1 if names is None else len(names)), per_batch)
        return self._match_input_ranks(xs)

    def _match_input_ranks(self, xs) -> list[np.ndarray]:
        """Keras 3's one forgiving reshape of inputs: an array of shape ``(samples,)`` feeds an input of shape
        ``(None, 1)`` (a single feature, as in the regression tutorials), and one axis of 1 too many is
        dropped. Any other mismatch is left for the model's ``_check_inputs`` to explain."""
        if not self.model.built:
            return xs
        shape = self.model.input_shape
        expected = shape if self.model.input_names and len(self.model.input_names) > 1 else [shape]
        return [match_rank(x, tuple(shape)) for x, shape in zip(xs, expected)]


def empty_data_message(x_name, xs, y_name, ys) -> str:
    """The error for data with no samples, with the shapes received."""
    shapes = ", ".join(f"{name} shape {arrays[0].shape if len(arrays) == 1 else [a.shape for a in arrays]}"
                       for name, arrays in ((x_name, xs), (y_name, ys)) if arrays)
    fix = ("pass at least one validation sample, or leave validation_data out" if x_name.startswith("validation")
           else "check the step that loaded or filtered the data (a mask or df.dropna() that removed every row)")
    return f"{x_name} has 0 samples ({shapes}): there is nothing to compute on. {fix[0].upper() + fix[1:]}."


def non_finite_loss_message(what: str, loss, where: str) -> str:
    """Why training stopped at a batch whose loss (or gradient) is NaN or inf, and what usually causes it.

    ``where`` is ``"epoch 2, batch 5 (counting from 1)"`` or ``"this train_on_batch call"``.
    """
    found = f"the loss was {float(loss)}" + ("" if what == "loss" else " but a gradient was NaN or inf")
    return (f"Training stopped at {where}: {found}. This batch did not change the weights; "
            f"they are those of the last good batch. Likely causes: a learning rate too high (try 10 times "
            f"lower, or clipnorm=1.0 in the optimizer); the data (values far from 0: standardize the inputs); "
            f"or a loss that does not fit the labels or the last layer (binary_crossentropy needs labels in "
            f"[0, 1], categorical_crossentropy one-hot labels). To let training go on and decide with a "
            f"callback instead, add callbacks=[TerminateOnNaN()].")


def match_rank(x: np.ndarray, expected: tuple) -> np.ndarray:
    """``x`` with a trailing axis of 1 added or removed when that alone makes its rank ``len(expected)``."""
    if x.ndim == len(expected) - 1 and expected[-1] == 1:
        return x[..., np.newaxis]
    if x.ndim == len(expected) + 1 and x.shape[-1] == 1:
        return x[..., 0]
    return x


def by_name(data, names, what):
    """Order a dict of arrays by the model's input or output names; anything else passes through."""
    if not isinstance(data, dict):
        return data
    if names is None:
        raise TypeError(f"{what} was given as a dict, which needs a functional model with named inputs/outputs.")
    unknown = [key for key in data if key not in names]
    missing = [name for name in names if name not in data]
    if unknown or missing:
        raise ValueError(f"{what} has keys {sorted(data)} but the model expects {names}"
                         + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else "") + ".")
    return [data[name] for name in names]


def target_problem(y_shape, output_shape, loss) -> str | None:
    """Explain, with the fix, why targets of ``y_shape`` cannot train an output of ``output_shape``."""
    out = tuple(output_shape)
    y_sample, out_sample = tuple(y_shape[1:]), tuple(out[1:])
    if any(d is None for d in out_sample):
        return None
    loss_name = str(getattr(loss, "name", loss))
    if y_sample == out_sample:
        return _one_hot_for_sparse_loss(y_shape, out, loss_name)
    # Targets with a dropped (or size-1) class axis: integer labels, or the (n,) vs (n, 1) squeeze Keras allows.
    if y_sample in (out_sample[:-1], out_sample[:-1] + (1,)):
        return _labels_for_one_hot_loss(y_shape, out, loss_name)
    if len(out_sample) == len(y_sample) + 1 and out_sample[1:] == y_sample and len(out_sample) >= 2:
        return (f"The model outputs shape {shape_text(out)}, one prediction per time step, but the targets have shape "
                f"{tuple(y_shape)}. Use return_sequences=False on the last recurrent layer to predict once per "
                f"sequence, or give targets of shape {shape_text((y_shape[0],) + out_sample)}.")
    if len(y_sample) == len(out_sample) and y_sample[:-1] == out_sample[:-1]:
        return (f"The model outputs {out_sample[-1]} values per sample (shape {shape_text(out)}) but the targets have "
                f"{y_sample[-1]} (shape {tuple(y_shape)}). Make the last layer Dense({y_sample[-1]}, ...) or check "
                f"the targets.")
    return (f"Targets of shape {tuple(y_shape)} do not match the model's output shape {shape_text(out)}. Each target "
            f"should have shape {out_sample} (or the class index, for sparse losses).")


def _one_hot_for_sparse_loss(y_shape, out, loss_name) -> str | None:
    if "sparse" in loss_name and out[1:] and out[-1] > 1:
        return (f"The loss '{loss_name}' expects integer class labels of shape (n_samples,), but the targets "
                f"have shape {tuple(y_shape)}, the same as the model's output {shape_text(out)}: they look one-hot "
                f"encoded. Use loss='categorical_crossentropy' for one-hot targets.")
    return None


def _labels_for_one_hot_loss(y_shape, out, loss_name) -> str | None:
    if "sparse" in loss_name or out[-1] == 1:
        return None
    if "categorical_crossentropy" in loss_name or "categorical_hinge" in loss_name:
        return (f"The loss '{loss_name}' expects one-hot targets of shape {shape_text((y_shape[0],) + tuple(out[1:]))} "
                f"but got shape {tuple(y_shape)}, which looks like integer class labels. Use "
                f"loss='sparse_categorical_crossentropy', or one-hot encode the labels with "
                f"nbtrain.utils.to_categorical(y, {out[-1]}).")
    return None
