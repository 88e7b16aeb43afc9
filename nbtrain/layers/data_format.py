"""``data_format="channels_first"`` for every image layer, in one place: the layer moves the channel axis last
at its boundary, runs its channels_last code, and moves it back.

The convolution and pooling kernels are written once, for ``(batch, *spatial, channels)``. A layer that takes
``data_format`` lists :class:`ChannelsFirstBoundary` first among its bases; for ``channels_first`` the mixin
transposes the input, the output, both gradients and the shapes the layer reports, so the kernels never see
the other layout. Weights keep Keras's shapes (a convolution's kernel does not depend on the layout), so saved
weights load in Keras either way. An activation runs after the output is moved back, where Keras runs it: a
softmax then goes over the last axis of the channels_first output, as in Keras.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from functools import cache

import numpy as np

from nbtrain import config
from nbtrain.utils.errors import did_you_mean
from nbtrain.utils.naming import shape_text

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format, layer: str) -> str:
    """``data_format`` checked and lower-cased; None means :func:`nbtrain.config.image_data_format`.

    Example:
        >>> standardize_data_format("Channels_First", "Conv2D")
        'channels_first'
    """
    if data_format is None:
        return config.image_data_format()
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in DATA_FORMATS:
        raise ValueError(f"{layer}() got data_format={data_format!r}; expected 'channels_last' (channels on the last "
                         f"axis, the default) or 'channels_first'.{did_you_mean(str(data_format), DATA_FORMATS)}")
    return value


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """``(batch, channels, *spatial)`` as a contiguous ``(batch, *spatial, channels)`` array."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def to_channels_first(x: np.ndarray) -> np.ndarray:
    """``(batch, *spatial, channels)`` as a contiguous ``(batch, channels, *spatial)`` array."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def shape_to_last(shape) -> tuple:
    shape = tuple(shape)
    return shape if len(shape) < 2 else (shape[0],) + shape[2:] + (shape[1],)


def shape_to_first(shape) -> tuple:
    shape = tuple(shape)
    return shape if len(shape) < 2 else (shape[0], shape[-1]) + shape[1:-1]


class _ChannelsFirstBackprop:
    """The backprop of a channels_first call: gradients arrive and leave with the channel axis at 1.

    ``from_preactivation`` (present when the layer ends in an activation) lets the training loop fuse a final
    softmax or sigmoid with crossentropy as for any other layer.
    """

    __slots__ = ("from_preactivation", "inner", "moves_axis")

    def __init__(self, inner, from_preactivation=None, moves_axis: bool = True):
        self.inner, self.moves_axis = inner, moves_axis
        if from_preactivation is not None:
            self.from_preactivation = from_preactivation

    def __call__(self, grad_output):
        if not self.moves_axis:       # the inner backprop already takes and gives channels_first gradients
            return self.inner(grad_output)
        grad = self.inner(to_channels_last(grad_output))
        return None if grad is None else to_channels_first(grad)


# The layers (by id) running their channels_last computation on this thread. Inside it, the layer's own calls
# of check_input_shape, compute_output_shape, ... see channels_last shapes and must reach the channels_last
# methods; only calls from outside (models, __call__) cross the boundary.
_inside = threading.local()


def _layers_inside() -> set:
    if not hasattr(_inside, "ids"):
        _inside.ids = set()
    return _inside.ids


@contextmanager
def _channels_last_inside(layer):
    """While the layer's channels_last code runs (build, _apply), its own calls skip the boundary."""
    inside = _layers_inside()
    inside.add(id(layer))
    try:
        yield
    finally:
        inside.discard(id(layer))


@cache
def _inner_apply_takes_mask(layer_class) -> bool:
    """Whether the channels_last ``_apply`` behind the boundary takes a mask (GlobalAveragePooling1D's does)."""
    inner = super(ChannelsFirstBoundary, layer_class)._apply
    return "mask" in inspect.signature(inner).parameters


def computes_as(layer_class, method: str, base) -> bool:
    """Whether ``layer_class`` gets ``method`` from ``base``, the channels_first mixin aside (it only wraps the
    method): a subclass that computes its own way is not ``base``'s computation, so no fast path applies to it."""
    for klass in layer_class.__mro__:
        if klass is not ChannelsFirstBoundary and method in klass.__dict__:
            return klass is base
    return False


class ChannelsFirstBoundary:
    """Mixin for layers written for channels_last data: with ``self.data_format == "channels_first"`` it moves
    the channel axis at the layer's boundary. List it first among the bases of the public layer class, so its
    methods wrap the channels_last ones; with ``channels_last`` every method is the layer's own.
    """

    data_format = "channels_last"

    @property
    def _channels_first(self) -> bool:
        """True for a call from outside a channels_first layer (the layer's own inner calls see channels_last)."""
        return self.data_format == "channels_first" and id(self) not in _layers_inside()

    def build(self, input_shape):
        if not self._channels_first:
            return super().build(input_shape)
        self._check_channels_first_rank(input_shape)
        with _channels_last_inside(self):
            super().build(shape_to_last(input_shape))
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)

    def compute_output_shape(self, input_shape):
        if not self._channels_first:
            return super().compute_output_shape(input_shape)
        self._check_channels_first_rank(input_shape)
        return shape_to_first(super().compute_output_shape(shape_to_last(input_shape)))

    def check_input_shape(self, x):
        if not self._channels_first:
            return super().check_input_shape(x)
        self._check_channels_first_rank(x.shape)
        built = self.input_shape
        if built is not None and built[1] is not None and x.shape[1] != built[1]:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' was built for {built[1]} input channels (axis 1, "
                f"data_format='channels_first') but got an array of shape {x.shape}."
            )

    def input_mismatch_hint(self, shape) -> str:
        if not self._channels_first:
            own_hint = getattr(super(), "input_mismatch_hint", None)     # the convolutions have one
            return own_hint(shape) if own_hint is not None else (
                f"Reshape the data to {tuple(self.input_shape[1:])} per sample.")
        return (f"This layer takes data_format='channels_first' inputs {self._channels_first_layout()}; "
                f"it was built for inputs of shape {shape_text(self.input_shape)}.")

    def _channels_first_layout(self) -> str:
        spatial = {1: "steps", 2: "height, width", 3: "depth, height, width"}[self.rank]
        return f"(batch, channels, {spatial})"

    def _check_channels_first_rank(self, shape) -> None:
        shape = tuple(shape)
        if len(shape) != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' with data_format='channels_first' expects inputs of "
                f"shape {self._channels_first_layout()} ({self.rank + 2} axes) but got input shape "
                f"{shape_text(shape)}."
            )

    @property
    def accepts_mask(self) -> bool:
        return _inner_apply_takes_mask(type(self))

    def _apply(self, x, training, need_input_grad, **kwargs):
        if not self._channels_first:
            return super()._apply(x, training, need_input_grad, **kwargs)
        self._check_channels_first_rank(x.shape)
        with _channels_last_inside(self):
            y, backprop = super()._apply(to_channels_last(x), training, need_input_grad, **kwargs)
        if isinstance(backprop, _ChannelsFirstBackprop):     # activate() below already moved the axis back
            return y, backprop
        return to_channels_first(y), _ChannelsFirstBackprop(backprop)

    def activate(self, z, from_preactivation, owns_z: bool = False):
        """For channels_first, run the activation on the channels_first pre-activation, as Keras does."""
        if self.data_format != "channels_first" or id(self) not in _layers_inside():
            return super().activate(z, from_preactivation, owns_z=owns_z)

        def from_channels_first_preactivation(grad_z):
            grad = from_preactivation(to_channels_last(grad_z))
            return None if grad is None else to_channels_first(grad)

        y, inner = super().activate(to_channels_first(z), from_channels_first_preactivation, owns_z=True)
        return y, _ChannelsFirstBackprop(inner, from_channels_first_preactivation, moves_axis=False)
