"""compile, fit, evaluate and predict: the training loop shared by every model.

The loop is written to read top down; each named helper does one thing. Arrays are cast to float32 once
per call, batches come from :mod:`nbtrain.data`, and every event goes to the callbacks with a ``logs``
dict of plain floats. The engine never prints: progress is a callback.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
import warnings

import numpy as np

from nbtrain import activations as activations_module
from nbtrain import optimizers as optimizers_module
from nbtrain.callbacks.callback_list import CallbackList
from nbtrain.callbacks.terminate_on_nan import TerminateOnNaN
from nbtrain.data.adapters import DEFAULT_BATCH_SIZE, get_batches
from nbtrain.data.generators import is_batch_source, no_batches_message
from nbtrain.models.background import check_not_training_in_background, start_background_fit
from nbtrain.models.compile_utils import (CompiledLoss, CompiledMetrics, LogTracker, learning_rate_log,
                                          loss_weights_with_mask, regularization_penalty, sorted_logs)
from nbtrain.models.interrupts import TrainingInterrupted, deferred_interrupts
from nbtrain.models.model_io import ModelIO, non_finite_loss_message
from nbtrain.models.outcome import FitOutcome, stop_detail
from nbtrain.models.progress import default_progress_callback
from nbtrain.utils.checks import number
from nbtrain.utils.errors import check_keyword_arguments
from nbtrain.utils.random import global_generator
from nbtrain.utils.threads import BlasThreads

_LEGACY_DATA_ARGUMENTS = ("workers", "use_multiprocessing", "max_queue_size")


def run_to_end(steps):
    """Run a generator of training steps (see ``Trainer._fit_steps``) to its end and return its result."""
    __tracebackhide__ = True   # IPython leaves the frames of nbtrain's loop out of a traceback
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


async def run_to_end_async(steps, interval: float = 0.05):
    """``run_to_end``, letting the event loop run every ``interval`` seconds between two steps.

    Each pause is one ``await asyncio.sleep(0)``: the kernel handles what arrived (a Stop click), then training
    goes on. If the awaiting task is cancelled, the steps are closed, so callbacks still see ``on_train_end``.
    """
    __tracebackhide__ = True
    import asyncio

    resume_at = time.monotonic() + interval
    try:
        while True:
            try:
                next(steps)
            except StopIteration as finished:
                return finished.value
            if time.monotonic() >= resume_at:
                await asyncio.sleep(0)
                resume_at = time.monotonic() + interval
    finally:
        steps.close()


def _parameters(method) -> tuple[str, ...]:
    """Named parameters of a method, so a misspelled keyword is matched against the real ones."""
    return tuple(p for p in inspect.signature(method).parameters if p not in ("self", "kwargs"))


def _check_verbose(verbose) -> None:
    if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, bool) and verbose is not False:
        raise ValueError(f"verbose must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line per epoch), "
                         f"got {verbose!r}.")


def _count(value, what: str, method: str):
    """A batch size or a number of steps: a positive integer, or None for the default."""
    return number(value, what, method, low=1, integer=True, optional=True)


def _should_validate(epoch: int, validation_freq) -> bool:
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq <= 0:
            raise ValueError(f"validation_freq must be a positive integer or a list of epochs, got {validation_freq}.")
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch + 1 in validation_freq
    raise TypeError(f"validation_freq must be an int or a list of 1-based epoch numbers, got {validation_freq!r}.")



_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _all_finite(arrays) -> bool:
    """Whether no array in ``arrays`` holds a NaN or an inf (checked on every gradient of every batch).

    The dot product of an array with itself is one BLAS pass, about 40% cheaper than max and min: it is NaN or
    inf whenever an element is (NaN propagates, an infinite square stays infinite, and the squares are never
    negative, so no inf - inf). It also overflows for large finite elements (above ~1e19 in float32), and only
    then do max and min decide: NaN propagates through both, and +inf or -inf is one of them.
    """
    with np.errstate(over="ignore", invalid="ignore"):     # the overflow of large finite squares is expected
        return all(map(_finite, arrays))


def _finite(array) -> bool:
    if array.dtype in _BLAS_FLOATS and array.flags.c_contiguous:
        flat = array.reshape(-1)
        if math.isfinite(np.dot(flat, flat)):
            return True
    return array.size == 0 or (math.isfinite(array.max()) and math.isfinite(array.min()))


class Trainer:
    """The training half of a model: compile, fit, evaluate, predict and the ``*_on_batch`` methods."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self._stop_training_thread = None
        self.stop_training = False
        self.fit_outcome = FitOutcome()
        self.history = None
        self._compiled_loss = None
        self._compiled_metrics = None
        self._tracker = LogTracker()
        self._io = ModelIO(self)
        self._resume_from_epoch = None
        self._compile_config = None
        self._trainable_at_compile = None
        self._variable_refs = None
        self._variable_names = None
        self._penalized_layers = []
        self._constrained_layers = []
        self._fusable = None
        self._background = None   # the TrainingHandle while fit(background=True) runs (see _check_not_busy)
        self._blas_memory = {}    # the BLAS thread count chosen per (method, batch size), kept across calls

    @property
    def stop_training(self) -> bool:
        """Keras's flag: set it to True (in a callback, or with the Stop button) to stop after the current batch."""
        return self._stop_training

    @stop_training.setter
    def stop_training(self, value) -> None:
        self._stop_training = bool(value)
        # Which thread asked: CallbackList names a callback as the one that stopped training only when the flag
        # was set on the training thread, not by a Stop click or handle.stop() that landed during its hook.
        self._stop_training_thread = threading.get_ident() if value else None

    # ================================================================================================
    # compile
    # ================================================================================================

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Choose the optimizer, the loss and the metrics, before ``fit``.

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ``"rmsprop"``, the default as in Keras) or an optimizer
                object.
            loss: a name (``"categorical_crossentropy"``, ``"mse"``), a loss object or a built-in loss function.
            metrics: a list such as ``["accuracy"]``; names, metric objects or functions ``f(y_true, y_pred)``.
            loss_weights: weights of the outputs' losses (multi-output models).
            weighted_metrics: metrics that take ``sample_weight`` and ``class_weight`` into account.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for Keras compatibility;
                nbtrain always runs eagerly on NumPy.

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # doctest: +SKIP
        """
        self._check_not_busy("compile")
        check_keyword_arguments("compile()", kwargs, _parameters(Trainer.compile))
        if optimizer is None:
            raise ValueError(
                "optimizer=None: compile() needs an optimizer, for example "
                "model.compile(optimizer='adam', loss=...) or optimizer=nbtrain.optimizers.SGD(learning_rate=0.01)."
            )
        # loss=None is allowed, as in Keras, for a model whose layers add their loss with add_loss(); fit checks.
        self.optimizer = optimizers_module.get(optimizer)
        self._compiled_loss = CompiledLoss(loss, loss_weights, self.output_names)
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, self.output_names)
        self._tracker = LogTracker(self._compiled_loss, self._compiled_metrics, self.output_names)
        self._compile_config = dict(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights,
                                    weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                    steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        self._trainable_at_compile = self._trainable_state()
        self._variable_refs = None
        self._fusable = None
        self.compiled = True
        self.stop_training = False

    def _check_not_busy(self, method: str) -> None:
        """Refuse ``method`` from any thread but the training one while ``fit(background=True)`` runs.

        Called first by every public method that reads or changes the weights, the optimizer or the metrics:
        a second user of the model would break the training or silently change it.
        """
        check_not_training_in_background(self, method)

    def _require_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(
                f"The model must be compiled before {method}(): call model.compile(optimizer=..., loss=...) first, "
                f"for example model.compile(optimizer='adam', loss='mse')."
            )

    # ================================================================================================
    # fit
    # ================================================================================================

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            background=False, **kwargs):
        """Train the model for ``epochs`` passes over the data and return its :class:`History`.

        Args:
            x: input array (samples first), or a list of arrays for several inputs.
            y: target array.
            batch_size: samples per gradient step (default 32).
            epochs: index of the final epoch (training runs ``range(initial_epoch, epochs)``).
            verbose: ``"auto"`` (dashboard in notebooks, progress bar in terminals), 0, 1 or 2.
            callbacks: list of :class:`nbtrain.callbacks.Callback`.
            validation_split: fraction of the data, taken from the end before shuffling, to validate on.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``; overrides the split.
            shuffle: reshuffle the training samples every epoch (True), keep the order (False), or ``"batch"``.
            class_weight: ``{class index: weight}`` to weight the loss per class; multiplies ``sample_weight``.
            sample_weight: per-sample loss weights, shape ``(samples,)``.
            initial_epoch: epoch to start from (to resume training).
            steps_per_epoch: batches per epoch; the data continue across epochs.
            validation_steps: validation batches per validation run.
            validation_batch_size: defaults to ``batch_size``.
            validation_freq: validate every N epochs, or on the listed (1-based) epochs.
            background: in a notebook, train in a background thread and return a handle at once (with a
                working Stop button); ``handle.wait()`` returns the History. ``await model.fit_async(...)``
                is the other way to get a Stop button (ipykernel 7.4 and later).

        Returns:
            A :class:`History` whose ``.history`` maps ``loss``, metric names and ``val_*`` to per-epoch floats.

        Raises:
            TrainingInterrupted: after Kernel -> Interrupt (Ctrl-C). Training stops after the current batch,
                the callbacks finish (the dashboard leaves its record), the History of the completed epochs is
                kept on ``model.history`` and the weights are those of the last completed batch; then the
                interrupt goes on (a ``KeyboardInterrupt`` with a one-line message), so Run All stops there
                instead of starting the next cell.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=10, batch_size=32, validation_split=0.2)  # doctest: +SKIP
        """
        __tracebackhide__ = True
        self._check_not_busy("fit")
        check_keyword_arguments("fit()", kwargs, _parameters(Trainer.fit) + _LEGACY_DATA_ARGUMENTS)
        if background:
            self._check_fit_arguments(verbose, epochs, batch_size, steps_per_epoch)   # here, not in the thread
            return start_background_fit(self, dict(
                x=x, y=y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                validation_batch_size=validation_batch_size, validation_freq=validation_freq, **kwargs))
        return run_to_end(self._fit_steps(
            x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle, class_weight,
            sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size, validation_freq,
            kwargs))

    async def fit_async(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
                        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
                        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
                        validation_batch_size=None, validation_freq=1, **kwargs):
        """``fit`` for a notebook cell that awaits it: ``history = await model.fit_async(x, y, epochs=20)``.

        Training runs in the cell, exactly as ``fit`` (same arguments, same History, same weights), but hands
        control back to the kernel's event loop about every 50 ms. Kernels that handle widget messages while
        a cell awaits (ipykernel 7.4 and later) then deliver a click on the dashboard's **Stop** button while
        training runs, and it stops after the current batch. On other kernels the dashboard says to interrupt
        the kernel instead, which works everywhere. Outside a notebook, run it with ``asyncio.run(...)``.

        Returns:
            The :class:`History`, as ``fit`` does. A click on Stop ends training after the current batch and
            returns it; Kernel -> Interrupt raises ``TrainingInterrupted`` after keeping it, as ``fit`` does.

        Example:
            >>> history = await model.fit_async(x_train, y_train, epochs=20, validation_split=0.2)  # doctest: +SKIP
        """
        __tracebackhide__ = True
        self._check_not_busy("fit_async")
        check_keyword_arguments("fit_async()", kwargs, _parameters(Trainer.fit_async) + _LEGACY_DATA_ARGUMENTS)
        steps = self._fit_steps(
            x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle, class_weight,
            sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size, validation_freq,
            kwargs, run="awaiting")
        return await run_to_end_async(steps)

    def _fit_steps(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
                   class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                   validation_batch_size, validation_freq, data_options, run="cell"):
        """The whole of ``fit`` as a generator that pauses after every batch and returns the History.

        ``fit`` runs it straight through; ``fit_async`` (``run="awaiting"``) lets the event loop run between
        some of the batches. An interrupt ends the loop cleanly first, then raises ``TrainingInterrupted``.
        """
        __tracebackhide__ = True
        batch_size, steps_per_epoch = self._check_fit_arguments(verbose, epochs, batch_size, steps_per_epoch)
        training, validation = self._fit_batches(
            x, y, sample_weight, class_weight, validation_split, validation_data, batch_size, steps_per_epoch,
            shuffle, validation_batch_size, validation_steps, data_options)
        self._prepare_for_training()
        callbacks = self._callback_list(
            callbacks, verbose, "fit", add_history=True, run=run, epochs=epochs,
            steps=training.num_batches, samples=training.num_samples,
            batch_size=training.batch_size or batch_size, do_validation=validation is not None)
        self.history = callbacks.history
        threads = self._blas_threads("fit", training.batch_size or batch_size)
        threads.begin()
        try:
            yield from self._fit_loop(training, initial_epoch, epochs, callbacks, validation, validation_freq, threads)
        finally:
            threads.end()   # the user's BLAS thread count is back, also after an error or an interrupt
        if self.fit_outcome.reason == "interrupted":
            epoch, batches = self.fit_outcome.interrupted_at
            raise TrainingInterrupted(self.history, epoch + 1, batches, epochs_done=len(self.history.epoch))
        return self.history

    def _check_fit_arguments(self, verbose, epochs, batch_size, steps_per_epoch):
        """The checks every way of starting ``fit`` makes first; returns ``batch_size`` and ``steps_per_epoch``
        as ints (or None)."""
        self._require_compiled("fit")
        _check_verbose(verbose)
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
        return _count(batch_size, "batch_size", "fit"), _count(steps_per_epoch, "steps_per_epoch", "fit")

    def _fit_batches(self, x, y, sample_weight, class_weight, validation_split, validation_data, batch_size,
                     steps_per_epoch, shuffle, validation_batch_size, validation_steps, data_options):
        """The training batches and the validation batches (or None), built once for the whole fit.

        ``validation_split`` converts the arrays once and splits them (the validation part is taken from the
        end, before shuffling, as Keras does); ``validation_data`` overrides it.
        """
        validation = validation_data
        if validation_split and validation_data is None:
            if is_batch_source(x):
                raise ValueError("validation_split works with arrays only: it cannot split a generator. Pass "
                                 "validation_data=(x_val, y_val) or a validation generator instead.")
            x, validation = self._io.training_arrays(x, y, sample_weight).split(validation_split)
            y = sample_weight = None
        training = get_batches(
            x, y, sample_weight, to_arrays=self._io.training_arrays, batch_size=batch_size, steps=steps_per_epoch,
            shuffle=shuffle, rng=global_generator(), class_weight=class_weight,
            check_first_batch=self._check_stream_batch, workers=data_options.get("workers"),
            max_queue_size=data_options.get("max_queue_size"))
        if validation is None:
            return training, None
        validation = get_batches(
            validation, to_arrays=lambda data, *_: self._io.validation_arrays(data), what="validation_data",
            batch_size=validation_batch_size or training.batch_size or batch_size
            or DEFAULT_BATCH_SIZE, steps=_count(validation_steps, "validation_steps", "fit"))
        return training, validation

    def _check_stream_batch(self, xs, ys) -> None:
        """The boundary checks arrays get once per fit, applied to a stream's first batch."""
        self._check_inputs(xs)
        if ys is None and not self._io.trains_without_targets():
            raise ValueError("The training generator yielded inputs without targets; yield (x, y) tuples.")
        if ys is not None:
            self._io.check_targets(ys, "the generator's targets")
        self._prepare_for_training()

    def _fit_loop(self, iterator, initial_epoch, epochs, callbacks, validation, validation_freq, threads):
        """The epochs, with every way out recorded in ``self.fit_outcome`` before ``on_train_end``."""
        __tracebackhide__ = True
        self.stop_training = False
        self.fit_outcome = FitOutcome("completed")
        logs = {}
        self._resume_from_epoch = None
        try:
            callbacks.on_train_begin()
            # BackupAndRestore sets _resume_from_epoch in on_train_begin to continue an interrupted run.
            initial_epoch = max(initial_epoch, self._resume_from_epoch or 0)
            with deferred_interrupts() as interrupt:
                for epoch in range(initial_epoch, epochs):
                    self.reset_metrics()
                    callbacks.on_epoch_begin(epoch)
                    logs, batches = yield from self._train_one_epoch(iterator, callbacks, interrupt, epoch, threads)
                    if interrupt.requested:
                        self.fit_outcome = FitOutcome("interrupted", (epoch, batches))
                        break
                    if not batches:  # the data yielded nothing this epoch (an exhausted generator)
                        if epoch == initial_epoch:
                            raise ValueError(no_batches_message("x", "train on"))
                        self.fit_outcome = FitOutcome("stopped", detail=stop_detail(None, epoch, ran_out=True))
                        break
                    validation_ran_dry = False
                    if validation is not None and _should_validate(epoch, validation_freq):
                        validation_logs = yield from self._validation_logs(validation, callbacks)
                        validation_ran_dry = not validation_logs   # a one-shot generator, read to its end
                        logs = logs | validation_logs
                    logs = sorted_logs(logs | learning_rate_log(self.optimizer))
                    callbacks.on_epoch_end(epoch, logs)
                    if interrupt.requested:   # it came during validation or on_epoch_end
                        self.fit_outcome = FitOutcome("interrupted", (epoch, batches))
                        break
                    if validation_ran_dry:   # this epoch is in the History without val_ logs; no later one
                        self.fit_outcome = FitOutcome("stopped", detail=stop_detail(
                            None, epoch, ran_out=True, data="validation data"))
                        break
                    if self.stop_training:
                        self.fit_outcome = FitOutcome("stopped", detail=stop_detail(
                            callbacks.stopped_by, epoch, ran_out=iterator.exhausted))
                        break
        except (KeyboardInterrupt, GeneratorExit):   # GeneratorExit: fit_async's task was cancelled
            self.fit_outcome.reason = "interrupted"
            raise
        except BaseException:
            self.fit_outcome.reason = "error"
            raise
        finally:
            self.optimizer.finalize_variable_values(self._variables())
            callbacks.on_train_end(logs)

    def _train_one_epoch(self, iterator, callbacks, interrupt, epoch, threads):
        """Run one epoch's batches, pausing after each (a generator); returns the last logs and the number of
        batches run. Stops early when the user interrupted or a callback set ``stop_training``."""
        __tracebackhide__ = True
        logs, batches = {}, 0
        # A user's TerminateOnNaN decides what a NaN loss does (Keras's behaviour); otherwise the step refuses it.
        guard = not any(isinstance(callback, TerminateOnNaN) for callback in callbacks.callbacks)
        for step, (xs, ys, sample_weight) in iterator.epoch():
            callbacks.on_train_batch_begin(step)
            where = f"epoch {epoch + 1}, batch {step + 1} (counting from 1)" if guard else None
            threads.before_batch()
            logs = self._train_step(xs, ys, sample_weight, where)
            threads.after_batch()
            callbacks.on_train_batch_end(step, logs)
            batches = step + 1
            if interrupt.requested or self.stop_training:
                break
            yield   # between two batches: fit_async may let the event loop run here
        if iterator.exhausted:
            self.stop_training = True  # a one-shot generator ran dry: no later epoch can get data
        return logs, batches

    def _train_step(self, xs, ys, sample_weight, where="this train_on_batch call") -> dict:
        """One update. With ``where`` (``"epoch 2, batch 5 (counting from 1)"``), a NaN or inf loss or gradient
        raises before the weights change, so they stay those of the last good batch."""
        outputs = self._forward(xs, training=True)
        ys = self._targets_or_none(ys, outputs)
        self._on_first_batch(ys, outputs)
        masks = self._loss_masks(outputs)
        loss_weights = [loss_weights_with_mask(sample_weight, mask) for mask in masks]
        total, parts, gradients = self._compiled_loss.value_and_gradients(ys, outputs, loss_weights, self._fusable)
        if all(loss is None for loss in self._compiled_loss.losses) and not self._adds_losses():
            raise ValueError(
                "loss must be specified: compile() needs a loss to minimise, for example "
                "loss='sparse_categorical_crossentropy' for integer class labels, 'categorical_crossentropy' for "
                "one-hot labels, 'binary_crossentropy' for 0/1 labels, or 'mse' for regression (compile() without a "
                "loss is only for a model whose layers add their loss with self.add_loss() in call()).")
        if where is not None and not np.isfinite(total):
            raise FloatingPointError(non_finite_loss_message("loss", total, where))
        self._backward(gradients)
        for layer in self._penalized_layers:
            layer.add_penalty_gradients()
        gradients = self._gradients()
        if where is not None and not _all_finite(gradients):
            raise FloatingPointError(non_finite_loss_message("gradient", total, where))
        self.optimizer.apply(gradients, self._variables(), variable_names=self._variable_names)
        for layer in self._constrained_layers:
            layer.apply_constraints()
        total += self._regularization_penalty()
        self._tracker.update(total, parts, ys, outputs, sample_weight, self._loss_masks(outputs), xs[0].shape[0])
        return self._tracker.logs()

    def _targets_or_none(self, ys, outputs) -> list:
        """``ys``, or one None per output for ``fit(x)`` without targets (``compile()`` without a loss, the
        layers adding theirs), where compiled metrics have nothing to compare with."""
        if ys is not None:
            return ys
        specs = self._compiled_metrics.specs + self._compiled_metrics.weighted_specs
        if any(specs):
            raise ValueError("fit() got no targets y, but compile(metrics=...) compares predictions with targets. "
                             "Pass y to fit(), or compute the metric inside the layer that adds the loss.")
        return [None] * len(outputs)

    def _adds_losses(self) -> bool:
        """Whether a layer call of the last forward pass added a loss with ``add_loss``."""
        return any(getattr(backprop, "added_losses", None) for backprop in getattr(self, "_backprops", ()))

    def _regularization_penalty(self) -> float:
        return regularization_penalty(self.layers, self._activity_outputs) + getattr(self, "_added_loss", 0.0)

    def _validation_logs(self, validation, callbacks):
        __tracebackhide__ = True
        logs = yield from self._evaluate_batches(validation, callbacks)
        if not logs and not getattr(validation, "batches_served", 1):
            raise ValueError(no_batches_message("validation_data", "validate on"))
        return {f"val_{key}": value for key, value in logs.items()}

    # ----- one-time set-up --------------------------------------------------------------------------------

    def _prepare_for_training(self) -> None:
        """Check trainable flags against compile and find the variables the optimizer updates.

        Runs once per fit (and on a stream's first batch, when an unbuilt model has just been built).
        """
        if not self.built:
            return
        restart_optimizer = False
        if self._trainable_at_compile is not None and self._trainable_state() != self._trainable_at_compile:
            warnings.warn(
                "A layer's `trainable` flag changed after compile(). nbtrain applies the change now (and restarts "
                "the optimizer's state); call model.compile(...) again after changing `trainable` to make this "
                "explicit and silence this warning.", stacklevel=4)
            self._trainable_at_compile = self._trainable_state()
            self._variable_refs = None
            restart_optimizer = True
        if self._variable_refs is None:
            self._penalized_layers = [layer for layer in self.layers if layer._regularizers]
            self._constrained_layers = [layer for layer in self.layers if layer._constraints]
            self._variable_refs = [(layer, name) for layer in self.layers for name in layer.params]
            self._variable_names = [f"{layer.name}/{name}" for layer, name in self._variable_refs]
            self._on_trainable_changed()
            if restart_optimizer:
                self.optimizer.build(self._variables())

    def _loss_masks(self, outputs) -> list:
        """Masks that apply to the losses: ``(batch, time)`` for outputs of shape ``(batch, time, ...)``.

        Keras leaves padded time steps out of the loss and the metrics; a mask that does not line up with
        the per-step losses (a recurrent layer's final state, say) does not apply.
        """
        return [mask if mask is not None and output.ndim == mask.ndim + 1 and output.shape[:-1] == mask.shape
                else None for mask, output in zip(self._output_masks(), outputs)]

    def _variables(self) -> list[np.ndarray]:
        return [layer._weights[name] for layer, name in self._variable_refs or []]

    def _gradients(self) -> list[np.ndarray]:
        return [layer.grads[name] for layer, name in self._variable_refs]

    def _on_first_batch(self, ys, outputs) -> None:
        if self._fusable is not None:
            return
        self._compiled_loss.resolve_shorthands(ys, outputs)
        if not self._compiled_metrics.built:
            self._compiled_metrics.build(ys, outputs)
        self._fusable = [_fuses(loss, layer) for loss, layer in zip(self._compiled_loss.losses, self.output_layers)]

    # ----- logs and metrics -------------------------------------------------------------------------------

    def reset_metrics(self) -> None:
        """Reset the running loss and metric values (fit and evaluate do this themselves)."""
        self._tracker.reset()

    def metric_direction(self, name: str):
        """'up', 'down' or None for a log key (without ``val_``), used by callbacks with ``mode='auto'``."""
        return self._tracker.direction(name)

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values that ``evaluate`` returns, in order."""
        return self._tracker.names

    # ----- callbacks ---------------------------------------------------------------------------------------

    def _callback_list(self, callbacks, verbose, mode, add_history=False, run="cell", **params) -> CallbackList:
        return CallbackList(callbacks, model=self, add_history=add_history, verbose=verbose, mode=mode,
                            add_progress=lambda: default_progress_callback(verbose, mode, run), **params)

    # ================================================================================================
    # evaluate and predict
    # ================================================================================================

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the given data, in inference mode (no dropout).

        Args:
            x, y: inputs and targets.
            batch_size: samples per batch (default 32).
            verbose: 0 silent, 1 or ``"auto"`` progress bar, 2 one line.
            sample_weight: per-sample loss weights.
            steps: number of batches to evaluate (default: all).
            callbacks: callbacks receiving the ``on_test_*`` events.
            return_dict: return ``{"loss": ..., "accuracy": ...}`` instead of a float or a list.

        Returns:
            A float when only the loss is tracked, else a list ordered as :attr:`metrics_names`, or a dict.

        Example:
            >>> loss, accuracy = model.evaluate(x_test, y_test, verbose=0)  # doctest: +SKIP
        """
        self._check_not_busy("evaluate")
        check_keyword_arguments("evaluate()", kwargs, _parameters(Trainer.evaluate) + _LEGACY_DATA_ARGUMENTS)
        self._require_compiled("evaluate")
        _check_verbose(verbose)
        batch_size = _count(batch_size, "batch_size", "evaluate") or DEFAULT_BATCH_SIZE
        steps = _count(steps, "steps", "evaluate")
        batches = get_batches(x, y, sample_weight, to_arrays=self._io.evaluation_arrays, batch_size=batch_size,
                              steps=steps, one_pass=True)
        callback_list = self._callback_list(callbacks, verbose, "evaluate", steps=batches.num_batches, epochs=1)
        threads = self._blas_threads("evaluate", batch_size)
        threads.begin()
        try:
            logs = run_to_end(self._evaluate_batches(batches, callback_list, threads))
        finally:
            threads.end()
        if not logs:
            raise ValueError(no_batches_message("x", "evaluate"))
        return self._tracker.result(logs, return_dict)

    def _evaluate_batches(self, batches, callbacks, threads=None):
        """Run the ``on_test_*`` loop as a generator that pauses after every batch; returns the last logs."""
        __tracebackhide__ = True
        self.reset_metrics()
        logs = {}
        callbacks.on_test_begin()
        for step, (xs, ys, sample_weight) in batches.epoch():
            if ys is None and not self._io.trains_without_targets():
                raise ValueError("evaluate() needs targets: the data yielded inputs only; yield (x, y) tuples.")
            callbacks.on_test_batch_begin(step)
            if threads is not None:   # None for validation during fit, which runs with fit's thread count
                threads.before_batch()
            logs = self._test_step(xs, ys, sample_weight)
            if threads is not None:
                threads.after_batch()
            callbacks.on_test_batch_end(step, logs)
            yield
        callbacks.on_test_end(logs)
        return logs

    def _test_step(self, xs, ys, sample_weight) -> dict:
        outputs = self._forward(xs, training=False)
        ys = self._targets_or_none(ys, outputs)
        self._on_first_batch(ys, outputs)
        masks = self._loss_masks(outputs)
        total, parts = self._compiled_loss.values(
            ys, outputs, [loss_weights_with_mask(sample_weight, mask) for mask in masks])
        total += self._regularization_penalty()
        self._tracker.update(total, parts, ys, outputs, sample_weight, self._loss_masks(outputs), xs[0].shape[0])
        return self._tracker.logs()

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """The model's outputs for ``x``, computed batch by batch in inference mode.

        Args:
            x: input array (or list of arrays).
            batch_size: samples per batch (default 32).
            verbose: 0 silent, 1 or ``"auto"`` progress bar, 2 one line.
            steps: number of batches to predict (default: all).
            callbacks: callbacks receiving the ``on_predict_*`` events.

        Returns:
            A float32 array of shape ``(samples, ...)``, or a list of arrays for several outputs.

        Example:
            >>> probabilities = model.predict(x_test, verbose=0)  # doctest: +SKIP
        """
        self._check_not_busy("predict")
        check_keyword_arguments("predict()", kwargs, _parameters(Trainer.predict) + _LEGACY_DATA_ARGUMENTS)
        _check_verbose(verbose)
        batch_size = _count(batch_size, "batch_size", "predict") or DEFAULT_BATCH_SIZE
        steps = _count(steps, "steps", "predict")
        batches = get_batches(x, to_arrays=lambda x, *_: self._io.prediction_data(x), batch_size=batch_size,
                              steps=steps, one_pass=True, check_first_batch=lambda xs, _: self._check_inputs(xs))
        total = None if batches.num_samples is None else min(batches.num_samples, batches.num_batches * batch_size)
        callback_list = self._callback_list(callbacks, verbose, "predict", steps=batches.num_batches, epochs=1)
        threads = self._blas_threads("predict", batch_size)
        threads.begin()
        try:
            results = self._predict_batches(batches, callback_list, total, threads)
        finally:
            threads.end()
        if results is None:
            results = [np.empty((0,) + tuple(s[1:]), np.float32) for s in self.output_shapes]
        elif total is None:
            results = [np.concatenate(parts) for parts in results]
        return results[0] if len(results) == 1 else results

    def _predict_batches(self, batches, callbacks, total, threads):
        """The ``on_predict_*`` loop; returns the outputs per model output (arrays, or lists of parts)."""
        results, served = None, 0
        callbacks.on_predict_begin()
        for step, (xs, _, _) in batches.epoch():
            callbacks.on_predict_batch_begin(step)
            threads.before_batch()
            outputs = self._forward(xs, training=False)
            threads.after_batch()
            results = _collect(results, outputs, served, total)
            served += len(outputs[0])
            callbacks.on_predict_batch_end(step, {"outputs": outputs})
        callbacks.on_predict_end()
        return results

    def _blas_threads(self, method: str, batch_size) -> BlasThreads:
        """The BLAS thread count of one call (see :mod:`nbtrain.utils.threads`); its choice is remembered
        per method and batch size, so the next call of the same work starts from it."""
        return BlasThreads(self.__dict__.setdefault("_blas_memory", {}), (method, batch_size))

    # ----- Keras 2 names -----------------------------------------------------------------------------------

    def fit_generator(self, generator, *args, **kwargs):
        """Keras 2's name for ``fit`` on a generator: warns, then calls :meth:`fit`."""
        _legacy_warning("fit_generator", "fit")
        return self.fit(generator, *args, **kwargs)

    def evaluate_generator(self, generator, *args, **kwargs):
        """Keras 2's name for ``evaluate`` on a generator: warns, then calls :meth:`evaluate`."""
        _legacy_warning("evaluate_generator", "evaluate")
        return self.evaluate(generator, *args, **kwargs)

    def predict_generator(self, generator, *args, **kwargs):
        """Keras 2's name for ``predict`` on a generator: warns, then calls :meth:`predict`."""
        _legacy_warning("predict_generator", "predict")
        return self.predict(generator, *args, **kwargs)

    # ================================================================================================
    # single batches
    # ================================================================================================

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns that batch's loss (and metrics).

        Example:
            >>> loss = model.train_on_batch(x_batch, y_batch)  # doctest: +SKIP
        """
        self._check_not_busy("train_on_batch")
        self._require_compiled("train_on_batch")
        data = self._io.training_arrays(x, y, sample_weight)
        if class_weight is not None:
            data = data.weighted_by_class(class_weight)
        self._prepare_for_training()
        self.reset_metrics()
        with deferred_interrupts():
            logs = self._train_step(data.xs, data.ys, data.sample_weight)
        return self._tracker.result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch in inference mode, without updating the weights."""
        self._check_not_busy("test_on_batch")
        self._require_compiled("test_on_batch")
        data = self._io.arrays(x, y, sample_weight)
        self.reset_metrics()
        return self._tracker.result(self._test_step(data.xs, data.ys, data.sample_weight), return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in inference mode."""
        self._check_not_busy("predict_on_batch")
        outputs = self._forward(self._io.inputs(x), training=False)
        return outputs[0] if len(outputs) == 1 else outputs


def _collect(results, outputs, start, total):
    # Fill one preallocated array per output instead of concatenating a list of batches at the end;
    # when the total is unknown (generators), keep the batches and concatenate once at the end.
    if total is None:
        results = results or [[] for _ in outputs]
        for parts, output in zip(results, outputs):
            parts.append(output.copy())
        return results
    if results is None:
        results = [np.empty((total,) + o.shape[1:], dtype=o.dtype) for o in outputs]
    for target, output in zip(results, outputs):
        target[start:start + len(output)] = output
    return results


def _legacy_warning(old: str, new: str) -> None:
    warnings.warn(f"`Model.{old}` is deprecated: `Model.{new}` takes generators and PyDatasets directly. "
                  f"nbtrain calls {new}() for you.", DeprecationWarning, stacklevel=3)


def _fuses(loss, layer) -> bool:
    """True when the output layer ends in exactly the built-in activation the loss can fuse with.

    Identity with the built-in object matters: ``softmax.with_options(axis=1)`` is also named "softmax"
    but normalises another axis, and fusing it would give wrong gradients.
    """
    fused = getattr(loss, "fused_activation", None)
    if fused is None or not hasattr(layer, "backward_from_preactivation"):
        return False
    if layer.activity_regularizer is not None:
        return False  # its penalty's gradient is on the activation's output, so go through the activation
    return getattr(layer, "activation", None) is activations_module.get(fused)
