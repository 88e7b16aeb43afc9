"""``Lambda``: a layer made from a function written with ``nbtrain.ops`` (differentiated by the tape)."""

from __future__ import annotations

import inspect

from nbtrain.layers.layer import Layer, normalize_shape


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer, as Keras's ``Lambda``.

    Write the function with ``nbtrain.ops`` (``ops.sqrt``, ``ops.sum``, ...): its gradient comes from recording
    it, so it trains inside a model. It has no weights; for weights, subclass ``Layer``.

    Args:
        function: the function of the inputs (a tensor, or a list of tensors for several inputs).
        output_shape: the output shape without the batch axis, or a function of the input shape; by default the
            function is run once on zeros to find it.
        mask: a mask, or a function ``mask(inputs, previous_mask)``, for the output; by default none.
        arguments: keyword arguments passed to ``function``.

    Example:
        >>> import numpy as np
        >>> from nbtrain import ops
        >>> distance = Lambda(lambda pair: ops.sqrt(ops.sum(ops.square(pair[0] - pair[1]), axis=1, keepdims=True)))
        >>> distance([np.zeros((1, 2), "float32"), np.array([[3.0, 4.0]], "float32")])
        array([[5.]], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda() wraps a function, such as lambda x: ops.square(x); got {function!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self._mask = mask
        self._takes_mask = "mask" in _parameters(function)
        self._takes_training = "training" in _parameters(function)

    def call(self, inputs, mask=None, training=None):
        extra = dict(self.arguments)
        if self._takes_mask:
            extra["mask"] = mask
        if self._takes_training:
            extra["training"] = training
        return self.function(inputs, **extra)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self._inferred_output_shape(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        batch = input_shape[0][0] if several else input_shape[0]
        return (batch,) + normalize_shape(self._output_shape, "Lambda output_shape")

    def compute_mask(self, inputs, mask=None):
        if callable(self._mask):
            return self._mask(inputs, mask)
        return self._mask

    def get_config(self):
        name = getattr(self.function, "__name__", "<lambda>")
        return super().get_config() | {"function": name, "arguments": self.arguments,
                                       "output_shape": None if callable(self._output_shape) else self._output_shape}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild with the function named in the config, found in ``custom_objects`` (nbtrain stores no code
        in its files: Keras's marshalled bytecode would run code from the file)."""
        config = dict(config)
        name = config.get("function")
        function = (custom_objects or {}).get(name) if isinstance(name, str) else None
        if function is None:
            raise ValueError(f"Lambda layer '{config.get('name')}' wraps the function {name!r}, which a saved file "
                             f"cannot hold: pass it when loading, load_model(path, custom_objects={{{name!r}: "
                             f"{name if isinstance(name, str) and name.isidentifier() else 'my_function'}}}). A lambda "
                             f"has no name to find it by: define it with def.")
        config["function"] = function
        return cls(**config)


def _parameters(function) -> frozenset:
    try:
        return frozenset(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()
