"""Embedding (integer ids to dense vectors, optionally producing a padding mask) and Masking."""

from __future__ import annotations

import numpy as np

from nbtrain.layers.layer import Layer
from nbtrain.utils.checks import positive_int


class Embedding(Layer):
    """Turns integer ids into dense vectors: ``output[..., :] = embeddings[ids[...]]``.

    Ids may come as integers or as floats holding whole numbers (``fit`` casts data to float32, which is exact
    for ids below 2**24).

    Args:
        input_dim: size of the vocabulary; ids must lie in ``[0, input_dim)``.
        output_dim: length of each vector.
        embeddings_initializer: default ``"uniform"`` (uniform in [-0.05, 0.05], as Keras).
        embeddings_regularizer: optional penalty on the table, e.g. ``"l2"``.
        embeddings_constraint: optional constraint applied after each update, e.g. ``"unit_norm"``.
        mask_zero: treat id 0 as padding: the layer then produces a mask ``ids != 0`` that recurrent layers
            use to skip the padded steps (so ``input_dim`` should count id 0 as well).
        weights: optional initial ``[embeddings]`` array list, e.g. pretrained vectors.
        input_length: Keras 2 argument, the number of ids per sample; it sets the input shape.

    Example:
        >>> layer = Embedding(10, 4, mask_zero=True)
        >>> ids = np.array([[3, 5, 0]])
        >>> layer(ids).shape
        (1, 3, 4)
        >>> layer.compute_mask(ids, None)
        array([[ True,  True, False]])
    """

    #: Calling the layer keeps integer ids as they are (other layers cast their inputs to float32).
    accepts_integer_input = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, input_length=None, **kwargs):
        if input_length is not None and kwargs.get("input_shape") is None and kwargs.get("batch_input_shape") is None:
            kwargs["input_shape"] = (input_length,) if isinstance(input_length, (int, np.integer)) else input_length
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        self.set_weight_options("embeddings", embeddings_initializer, embeddings_regularizer, embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self._initial_weights = weights
        self._ids = None
        if weights is not None:     # as in Keras: the table does not depend on the input shape, so build now
            self.build()

    def build(self, input_shape=None):
        """Create the table; its shape does not depend on the inputs, so ``input_shape`` may be None."""
        if "embeddings" not in self._weights:
            self.add_weight_with_options("embeddings", (self.input_dim, self.output_dim))
        if input_shape is None:
            self.built = True     # the input shape is learnt on the first call
        else:
            super().build(input_shape)
        if self._initial_weights is not None:
            weights = self._initial_weights
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])
            self._initial_weights = None

    def ensure_built(self, input_shape) -> None:
        if self.built and self.input_shape is None:     # built without a shape: record the first one
            self.build(tuple(input_shape))
        else:
            super().ensure_built(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def check_input_shape(self, x):
        # Any shape of ids works; sequences may have any length.
        pass

    def _as_ids(self, x) -> np.ndarray:
        x = np.asarray(x)
        if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
            ids = x.astype(np.intp, copy=False)
        elif np.issubdtype(x.dtype, np.floating):
            ids = x.astype(np.intp)
            if not np.array_equal(ids, x):
                bad = float(x.flat[np.flatnonzero(ids.ravel() != x.ravel())[0]])
                raise ValueError(f"Embedding layer '{self.name}' expects integer ids but received {bad}. "
                                 f"Pass whole numbers in [0, {self.input_dim - 1}], e.g. from a tokenizer.")
        else:
            raise TypeError(f"Embedding layer '{self.name}' expects integer ids, got an array of dtype {x.dtype}.")
        if ids.size:
            low, high = ids.min(), ids.max()
            if low < 0 or high >= self.input_dim:
                bad = low if low < 0 else high
                raise ValueError(
                    f"Embedding layer '{self.name}' received id {bad} but input_dim is {self.input_dim}, so ids must "
                    f"lie in [0, {self.input_dim - 1}]. Increase input_dim to at least {max(high + 1, 1)} "
                    f"(the vocabulary size, counting id 0), or clip the ids."
                )
        return ids

    def _apply(self, x, training, need_input_grad):
        ids = self._as_ids(x)

        def backprop(grad_output):
            if self.trainable:
                self.grads["embeddings"] = self._scatter_add(ids.ravel(), grad_output)
            # Ids are integers: there is no gradient with respect to the input.
            return None

        return np.take(self._weights["embeddings"], ids, axis=0), backprop

    @property
    def supports_masking(self) -> bool:     # Keras: an Embedding supports masking when it makes masks
        return bool(self.mask_zero)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(inputs) != 0

    def _scatter_add(self, ids, grad_output):
        """Sum the rows of the output gradient that share an id, with one sort and one reduceat."""
        weight = self._weights["embeddings"]
        grad = self.grads.get("embeddings")
        if grad is None or grad.shape != weight.shape or grad.dtype != weight.dtype:
            grad = np.empty_like(weight)
        grad[...] = 0
        rows = np.asarray(grad_output, dtype=weight.dtype).reshape(-1, self.output_dim)
        if ids.size == 0:
            return grad
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
        grad[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return grad

    def get_config(self):
        return super().get_config() | {
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            **self.weight_options_config("embeddings"),
            "mask_zero": self.mask_zero,
        }

    def __repr__(self):
        return (f"<Embedding name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}, "
                f"mask_zero={self.mask_zero}>")


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding, and zeroes them.

    Later recurrent layers skip the masked steps (they keep their state), as with ``Embedding(mask_zero=True)``.

    Args:
        mask_value: the padding value, default 0.0.

    Example:
        >>> x = np.array([[[1.0, 2.0], [0.0, 0.0]]], dtype="float32")
        >>> Masking().compute_mask(x, None)
        array([[ True, False]])
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return np.any(np.asarray(inputs) != self.mask_value, axis=-1)

    def _apply(self, x, training, need_input_grad):
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)

        def backprop(grad_output):
            return grad_output * keep

        return x * keep, backprop

    def get_config(self):
        return super().get_config() | {"mask_value": self.mask_value}


__all__ = ["Embedding", "Masking"]
