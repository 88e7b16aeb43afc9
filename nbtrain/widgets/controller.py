"""The playground's logic without a front end: data, model, training by frames, Play/Pause/Step/Reset.

:class:`PlaygroundSession` owns the configuration, the data and a real nbtrain ``Sequential``; it trains with
``model.fit`` (so History, callbacks, optimizers and losses are the ordinary ones) a few epochs at a time.
:class:`PlayLoop` runs those frames on a background thread, so the notebook cell returns at once and the kernel
stays free for clicks and other cells. Every time comes from an injected clock, and the loop's thread is
optional, so the tests drive all of it without a widget or a real clock.

What a change does, as in TensorFlow Playground:

* data (set, noise, test ratio, regenerate), input features or network (layers, neurons, activation): a new
  model, training starts again from epoch 0 (and keeps playing if it was);
* learning rate and regularization: from the next batch, while it runs; batch size: from the next frame;
* optimizer: from the next frame, with a fresh optimizer state (the weights are kept).

Example:
    >>> session = PlaygroundSession(PlaygroundConfig(dataset="xor", hidden=[4]))
    >>> session.step()                # one epoch
    1
    >>> session.epoch, sorted(session.history.history)
    (1, ['accuracy', 'loss', 'val_accuracy', 'val_loss'])
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from nbtrain.callbacks.callback import Callback
from nbtrain.callbacks.history import History
from nbtrain.initializers import GlorotUniform
from nbtrain.layers import Dense, Input
from nbtrain.models import Sequential
from nbtrain.optimizers import SGD, Adam
from nbtrain.regularizers import L1L2
from nbtrain.widgets import datasets2d

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
OPTIMIZERS = ("sgd", "adam")
REGULARIZATIONS = ("none", "L1", "L2")
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_EPOCHS_PER_FRAME = 50

# which settings need a new model; the others apply while training runs
RESET_FIELDS = ("dataset", "samples", "noise", "test_fraction", "data_seed", "features", "hidden", "activation",
                "seed")
LIVE_FIELDS = ("learning_rate", "regularization", "regularization_rate", "batch_size", "optimizer")


@dataclasses.dataclass
class PlaygroundConfig:
    """Everything the playground's controls set.

    Attributes:
        dataset: ``circles``, ``xor``, ``blobs``, ``spiral``, ``moons`` (classification), ``plane``, ``curve``
            (regression), or ``"custom"`` for data given to ``Playground(x, y)``.
        samples, noise, test_fraction, data_seed: the data (noise 0 to 0.5; the test share 0.1 to 0.9).
        features: input features, from ``x1``, ``x2``, ``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``sin(x2)``.
        hidden: neurons per hidden layer (0 to 6 layers of 1 to 8).
        activation: of the hidden layers: ``tanh``, ``relu``, ``sigmoid`` or ``linear``.
        learning_rate, optimizer (``sgd`` or ``adam``), batch_size: training.
        regularization: ``none``, ``L1`` or ``L2`` on the weights, with ``regularization_rate``.
        seed: the weights' seed; Reset draws the next one.
    """

    dataset: str = "circles"
    samples: int = 500
    noise: float = 0.0
    test_fraction: float = 0.5
    data_seed: int = 0
    features: list = dataclasses.field(default_factory=lambda: ["x1", "x2"])
    hidden: list = dataclasses.field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    learning_rate: float = 0.03
    optimizer: str = "sgd"
    batch_size: int = 10
    regularization: str = "none"
    regularization_rate: float = 0.0
    seed: int = 0

    def checked(self) -> "PlaygroundConfig":
        """A copy with every field checked (a ``ValueError`` saying what is wrong and what is allowed)."""
        c = dataclasses.replace(self, features=list(self.features), hidden=[int(n) for n in self.hidden])
        if c.dataset != "custom":
            c.dataset = datasets2d.check_dataset(c.dataset)
        c.features = datasets2d.check_features(c.features)
        _check_choice(c.activation, ACTIVATIONS, "activation")
        _check_choice(c.optimizer, OPTIMIZERS, "optimizer")
        _check_choice(c.regularization, REGULARIZATIONS, "regularization")
        if len(c.hidden) > MAX_LAYERS or any(not 1 <= n <= MAX_NEURONS for n in c.hidden):
            raise ValueError(f"hidden must list at most {MAX_LAYERS} layers of 1 to {MAX_NEURONS} neurons, "
                             f"got {self.hidden!r}.")
        _check_number(c.noise, "noise", 0.0, 1.0)
        _check_number(c.test_fraction, "test_fraction", 0.05, 0.95)
        _check_number(c.learning_rate, "learning_rate", 0.0, 100.0, low_open=True)
        _check_number(c.regularization_rate, "regularization_rate", 0.0, 100.0)
        if isinstance(c.batch_size, bool) or not isinstance(c.batch_size, (int, np.integer)) or c.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {c.batch_size!r}.")
        return c


def _check_choice(value, allowed, what) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, allowed))}, got {value!r}.")


def _check_number(value, what, low, high, low_open=False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))
    if not ok or not (low < value if low_open else low <= value) or value > high:
        raise ValueError(f"{what} must be a number {'above' if low_open else 'from'} {low:g} "
                         f"{'and at most' if low_open else 'to'} {high:g}, got {value!r}.")


class _FrameControl(Callback):
    """Inside each ``fit`` of the playground: applies pending live settings before a batch, asks ``fit`` to stop
    after the current batch when a pause is requested, and copies each finished epoch into the session's
    History (``fit`` makes a new History per call; the playground keeps one for all of them)."""

    def __init__(self, session: "PlaygroundSession"):
        super().__init__()
        self.session = session

    def on_train_batch_begin(self, batch, logs=None):
        self.session._apply_live_settings()

    def on_train_batch_end(self, batch, logs=None):
        if self.session.pause_requested:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.session._epoch_finished(epoch, logs or {})


class PlaygroundSession:
    """Data, model and training of a playground (see the module docstring).

    Args:
        config: a :class:`PlaygroundConfig` (default TensorFlow Playground's start: circles, 4 and 2 tanh neurons).
        x, y: the user's own 2-D data (then ``config.dataset`` is ``"custom"``); labels 0/1 (or any two values)
            for classification, floats for regression.
        clock: seconds clock, for the frame budget (tests pass a fake one).
        frame_seconds: the time one frame may take; training gets ``train_share`` of it.
    """

    def __init__(self, config: PlaygroundConfig | None = None, x=None, y=None, clock=time.monotonic,
                 frame_seconds: float = 0.08, train_share: float = 0.6):
        config = config or PlaygroundConfig()
        self.custom = None
        if x is not None or y is not None:
            self.custom = _custom_data(x, y)
            config = dataclasses.replace(config, dataset="custom")
        self.config = config.checked()
        self.clock = clock
        self.frame_seconds = float(frame_seconds)
        self.train_share = float(train_share)
        self.pause_requested = False
        self.epoch_seconds = None        # measured: seconds per epoch (a running average)
        self.last_frame_epochs = 0
        self.lock = threading.RLock()    # one trainer at a time: the loop's thread or a Step click
        self._pending = {}
        self._pending_lock = threading.Lock()    # the kernel's thread adds live settings, the training one takes them
        self._listeners = []
        self._regularizer = None
        self.regenerate_data(new_seed=False)

    # ----- data -----------------------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"binary"``, ``"classes"`` or ``"regression"``."""
        return self._kind

    def regenerate_data(self, new_seed: bool = True) -> None:
        """New data (a new draw of the same set, when ``new_seed``), and a new model."""
        c = self.config
        if new_seed:
            c.data_seed += 1
        if self.custom is not None:
            x, y, self._kind, self.classes = self.custom
        else:
            x, y = datasets2d.make_2d_data(c.dataset, c.samples, c.noise, seed=c.data_seed)
            self._kind = "regression" if datasets2d.is_regression(c.dataset) else "binary"
            self.classes = None if self._kind == "regression" else 2
        self.x, self.y = x, y
        self.x_train, self.y_train, self.x_test, self.y_test = datasets2d.train_test_split(
            x, y, c.test_fraction, seed=c.data_seed)
        self.extent = (-datasets2d.EXTENT, datasets2d.EXTENT, -datasets2d.EXTENT, datasets2d.EXTENT) \
            if self.custom is None else _square_extent(x)
        self._notify("data")
        self.build_model()

    # ----- model ----------------------------------------------------------------------------------------------------
    def build_model(self) -> None:
        """A new model for the current configuration, compiled, at epoch 0 with an empty History."""
        c = self.config
        self.features_train = datasets2d.input_features(self.x_train, c.features)
        self.features_test = datasets2d.input_features(self.x_test, c.features)
        # One regularizer object shared by every layer: changing its factors changes the penalty from the next
        # batch on, without rebuilding (it is L1L2(0, 0) while regularization is "none").
        self._regularizer = L1L2(0.0, 0.0)
        self._set_regularizer_factors()
        layers = [Input(shape=(len(c.features),))]
        for index, units in enumerate(c.hidden):
            layers.append(Dense(
                units, activation=c.activation, name=f"hidden_{index + 1}", kernel_regularizer=self._regularizer,
                kernel_initializer=GlorotUniform(seed=c.seed * 101 + index)))
        layers.append(Dense(
            self._output_units(), activation=self._output_activation(), name="output",
            kernel_regularizer=self._regularizer,
            kernel_initializer=GlorotUniform(seed=c.seed * 101 + 99)))
        self.model = Sequential(layers, name="playground")
        self._compile()
        self.history = History()
        self.history.set_model(self.model)
        self.epoch = 0
        self.logs = {}
        self.epoch_seconds = None
        with self._pending_lock:
            self._pending.clear()
        self._control = _FrameControl(self)
        self._notify("model")

    def _output_units(self) -> int:
        return self.classes if self._kind == "classes" else 1

    def _output_activation(self) -> str:
        return {"binary": "sigmoid", "classes": "softmax", "regression": "linear"}[self._kind]

    def loss_name(self) -> str:
        return {"binary": "binary_crossentropy", "classes": "sparse_categorical_crossentropy",
                "regression": "mse"}[self._kind]

    def _compile(self) -> None:
        c = self.config
        optimizer = (SGD(learning_rate=c.learning_rate) if c.optimizer == "sgd"
                     else Adam(learning_rate=c.learning_rate))
        metrics = [] if self._kind == "regression" else ["accuracy"]
        self.model.compile(optimizer=optimizer, loss=self.loss_name(), metrics=metrics)

    def _set_regularizer_factors(self) -> None:
        c = self.config
        self._regularizer.l1 = float(c.regularization_rate) if c.regularization == "L1" else 0.0
        self._regularizer.l2 = float(c.regularization_rate) if c.regularization == "L2" else 0.0

    # ----- settings -------------------------------------------------------------------------------------------------
    def update(self, **changes) -> bool:
        """Change settings (the names of :class:`PlaygroundConfig`); returns True when the model was rebuilt.

        Data, features and network changes rebuild the model (training starts again at epoch 0); the learning
        rate and regularization apply from the next batch, the batch size and optimizer from the next frame.
        """
        unknown = set(changes) - set(RESET_FIELDS) - set(LIVE_FIELDS)
        if unknown:
            from nbtrain.utils.errors import did_you_mean

            name = sorted(unknown)[0]
            raise TypeError(f"Unknown playground setting {name!r}.{did_you_mean(name, RESET_FIELDS + LIVE_FIELDS)}"
                            f" Settings: {', '.join(RESET_FIELDS + LIVE_FIELDS)}.")
        new = dataclasses.replace(self.config, **changes).checked()
        changed = {k for k in changes if getattr(new, k) != getattr(self.config, k)}
        if not changed:
            return False
        if changed & set(RESET_FIELDS):
            with self.lock:                   # a new model: never in the middle of a frame
                self.config = new
                if changed & {"dataset", "samples", "noise", "test_fraction", "data_seed"}:
                    self.regenerate_data(new_seed=False)
                else:
                    self.build_model()
            return True
        # Live settings do not wait for the frame running now: the training thread picks them up before its
        # next batch (see _apply_live_settings).
        with self._pending_lock:
            self.config = new
            self._pending.update({k: getattr(new, k) for k in changed})
        self._notify("settings")
        return False

    def _take_pending(self, names=None) -> dict:
        """The pending live settings (those in ``names``, default all), removed from the queue."""
        with self._pending_lock:
            taken = {k: v for k, v in self._pending.items() if names is None or k in names}
            for key in taken:
                del self._pending[key]
            return taken

    def _apply_live_settings(self) -> None:
        """Called before each batch (on the training thread): the learning rate and regularization chosen since."""
        if not self._pending:           # the common case, without taking the lock
            return
        pending = self._take_pending(("learning_rate", "regularization", "regularization_rate"))
        config = self.config
        if "learning_rate" in pending:
            self.model.optimizer.learning_rate = float(config.learning_rate)
        if {"regularization", "regularization_rate"} & set(pending):
            self._set_regularizer_factors()
        # the optimizer and batch size wait for the next frame (a fit's batch size is fixed while it runs)

    def _apply_frame_settings(self) -> None:
        """Before a frame's ``fit``: everything pending (a new optimizer keeps the weights, not its state)."""
        if "optimizer" in self._take_pending(("optimizer", "batch_size")):
            self._compile()           # with the current learning rate
            self._take_pending(("learning_rate",))
        self._apply_live_settings()

    def reset(self) -> None:
        """New weights (the next seed) and epoch 0, as TensorFlow Playground's Reset."""
        with self.lock:
            self.config.seed += 1
            self.build_model()

    # ----- training -------------------------------------------------------------------------------------------------
    def train(self, epochs: int) -> int:
        """Train ``epochs`` more epochs with ``model.fit``; returns how many finished (fewer after a pause)."""
        with self.lock:
            self._apply_frame_settings()
            before = self.epoch
            started = self.clock()
            # a diverging loss is reported by fit's own check (a FloatingPointError saying what to do), so
            # NumPy's overflow warnings would only repeat it, in whichever cell happens to run
            with np.errstate(over="ignore", invalid="ignore"):
                self.model.fit(self.features_train, self.y_train, batch_size=self.config.batch_size,
                               epochs=self.epoch + epochs, initial_epoch=self.epoch, verbose=0,
                               validation_data=(self.features_test, self.y_test), callbacks=[self._control])
            # each fit leaves the History of its own few epochs; the model keeps the playground's whole one
            self.model.history = self.history
            done = self.epoch - before
            if done:
                seconds = max(self.clock() - started, 1e-6) / done
                self.epoch_seconds = seconds if self.epoch_seconds is None else 0.5 * (self.epoch_seconds + seconds)
            return done

    def step(self) -> int:
        """One epoch (the Step button)."""
        self.pause_requested = False
        done = self.train(1)
        self._notify("frame")
        return done

    def epochs_per_frame(self) -> int:
        """Epochs that fit in a frame's training time: 1 until an epoch was timed, then as many as fit (at least
        1, at most ``MAX_EPOCHS_PER_FRAME``)."""
        if not self.epoch_seconds:
            return 1
        fitting = int(self.frame_seconds * self.train_share / self.epoch_seconds)
        return max(1, min(MAX_EPOCHS_PER_FRAME, fitting))

    def frame(self) -> int:
        """One frame of Play: the epochs that fit in it. Returns the epochs finished."""
        done = self.train(self.epochs_per_frame())
        self.last_frame_epochs = done
        self._notify("frame")
        return done

    def _epoch_finished(self, epoch: int, logs: dict) -> None:
        self.epoch = epoch + 1
        self.logs = dict(logs)
        self.history.on_epoch_end(epoch, logs)

    # ----- what the views draw --------------------------------------------------------------------------------------
    def grid_outputs(self, grid_points: np.ndarray, features_out: np.ndarray | None = None) -> list[np.ndarray]:
        """The features and every layer's output on ``grid_points``, in one forward pass: ``[features,
        hidden_1, ..., output]``, each ``(points, units)``. Call it on the training thread or while paused."""
        with self.lock:
            h = datasets2d.input_features(grid_points, self.config.features, out=features_out)
            outputs = [h]
            for layer in self.model.layers:
                h = layer(h)
                outputs.append(h)
            return outputs

    def subscribe(self, listener) -> None:
        """Call ``listener(event)`` on ``"data"``, ``"model"``, ``"settings"`` and ``"frame"``."""
        self._listeners.append(listener)

    def _notify(self, event: str) -> None:
        for listener in list(self._listeners):
            listener(event)

    def __repr__(self):
        c = self.config
        return (f"<PlaygroundSession {c.dataset}, features {c.features}, hidden {c.hidden} {c.activation}, "
                f"epoch {self.epoch}>")


def _custom_data(x, y):
    """The user's data checked: ``(x float32 (n, 2), y, kind, classes)``; labels become 0..k-1."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"Playground(x, y) needs 2-D points, x of shape (n, 2), but got shape {x.shape}. For "
                         f"more inputs, train your model in code and draw two of them with plot_decision_boundary.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"Playground(x, y) needs one label or target per point: x has {len(x)} points, y has "
                         f"shape {y.shape}.")
    if len(x) < 4:
        raise ValueError(f"Playground(x, y) needs at least 4 points (some to train on, some to test), got {len(x)}.")
    integral = np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_) or y.dtype.kind in "US"
    if not integral and np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)) and len(np.unique(y)) <= 10:
        integral = True
    if not integral:
        return x.astype(np.float32), y.astype(np.float32), "regression", None
    values, labels = np.unique(y, return_inverse=True)
    if len(values) < 2:
        raise ValueError(f"Playground(x, y): y has a single class ({values[0]!r}); it needs at least two.")
    kind = "binary" if len(values) == 2 else "classes"
    return x.astype(np.float32), labels.astype(np.int64), kind, len(values)


def _square_extent(x) -> tuple[float, float, float, float]:
    """A square extent around the user's points (the picture is square, so distances look right)."""
    from nbtrain.widgets.boundary import data_extent

    x1_min, x1_max, x2_min, x2_max = data_extent(x)
    half = max(x1_max - x1_min, x2_max - x2_min) / 2
    c1, c2 = (x1_min + x1_max) / 2, (x2_min + x2_max) / 2
    return c1 - half, c1 + half, c2 - half, c2 + half


class PlayLoop:
    """Runs :meth:`PlaygroundSession.frame` over and over on a background thread while playing.

    ``pause()`` takes effect within one batch (the frame's ``fit`` stops after the current batch) and waits for
    the thread to end; ``close()`` does the same for good. Between frames the loop sleeps what is left of
    ``frame_seconds``, so the kernel and the browser get their share of the (single, on Binder) CPU.

    Args:
        session: the :class:`PlaygroundSession`.
        on_frame: called after each frame on the loop's thread (the view draws there).
        sleep: ``time.sleep``; tests pass a fake.
        on_error: called with an exception a frame raised (the loop then stops); default: re-raise in the thread.
    """

    def __init__(self, session: PlaygroundSession, on_frame=None, sleep=time.sleep, on_error=None):
        self.session = session
        self.on_frame = on_frame
        self.sleep = sleep
        self.on_error = on_error
        self.frames = 0
        self.closed = False
        self._thread = None
        self._wake = threading.Event()

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self.session.pause_requested

    def play(self) -> None:
        """Start (or keep) playing."""
        if self.closed:
            raise RuntimeError("This playground was closed; create a new one to train again.")
        if self.playing:
            return
        self.pause()                     # a thread still finishing its pause: wait for it first
        self.session.pause_requested = False
        self._thread = threading.Thread(target=self._run, name="nbtrain-playground", daemon=True)
        self._thread.start()

    def pause(self, timeout: float | None = 30.0) -> None:
        """Stop after the current batch and wait for the thread to end."""
        self.session.pause_requested = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self._wake.clear()

    def close(self) -> None:
        """Pause for good: nothing runs after this."""
        self.closed = True
        self.pause()

    def run_frames(self, count: int) -> None:
        """Run ``count`` frames on this thread (what the loop's thread does; tests call it directly)."""
        for _ in range(count):
            if self.session.pause_requested or self.closed:
                return
            self._one_frame()

    def _one_frame(self) -> None:
        clock = self.session.clock
        started = clock()
        self.session.frame()
        self.frames += 1
        if self.on_frame is not None:
            self.on_frame()
        rest = self.session.frame_seconds - (clock() - started)
        if rest > 0 and not self.session.pause_requested:
            self._wake.wait(rest) if self.sleep is time.sleep else self.sleep(rest)

    def _run(self) -> None:
        try:
            while not self.session.pause_requested and not self.closed:
                self._one_frame()
        except BaseException as error:
            self.session.pause_requested = True
            if self.on_error is None:
                raise
            self.on_error(error)
