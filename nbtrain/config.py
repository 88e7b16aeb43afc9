"""Process-wide settings, as ``keras.config``: how many BLAS threads nbtrain's work uses, whether hot loops run
compiled (with Numba installed), and where image layers expect the channel axis by default.

Example:
    >>> import nbtrain
    >>> nbtrain.config.blas_threads()
    'auto'
"""

from nbtrain.utils.compiled import compiled_loops, set_compiled_loops
from nbtrain.utils.threads import blas_threads, set_blas_threads

__all__ = ["blas_threads", "compiled_loops", "floatx", "image_data_format", "set_blas_threads",
           "set_compiled_loops", "set_image_data_format"]

_DATA_FORMATS = ("channels_last", "channels_first")
_image_data_format = "channels_last"


def floatx() -> str:
    """The float type of weights and computations: always ``"float32"`` in nbtrain."""
    return "float32"


def image_data_format() -> str:
    """The channel layout image layers use when given ``data_format=None``: ``"channels_last"`` (Keras's
    default, ``(batch, height, width, channels)``) unless changed by :func:`set_image_data_format`.

    Example:
        >>> import nbtrain
        >>> nbtrain.config.image_data_format()
        'channels_last'
    """
    return _image_data_format


def set_image_data_format(data_format: str) -> None:
    """Set the default channel layout of the convolution, pooling, padding, cropping and upsampling layers
    created from now on (layers already created keep theirs).

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"`` (``(batch, channels, height, width)``).

    Example:
        >>> import nbtrain
        >>> nbtrain.config.set_image_data_format("channels_first")
        >>> nbtrain.layers.Conv2D(4, 3).data_format
        'channels_first'
        >>> nbtrain.config.set_image_data_format("channels_last")
    """
    global _image_data_format
    value = str(data_format).lower() if isinstance(data_format, str) else data_format
    if value not in _DATA_FORMATS:
        from nbtrain.utils.errors import did_you_mean

        raise ValueError(f"set_image_data_format() expects 'channels_last' or 'channels_first', got "
                         f"{data_format!r}.{did_you_mean(str(data_format), _DATA_FORMATS)}")
    _image_data_format = value


_NOT_IN_NBTRAIN = {
    "set_floatx": "nbtrain computes in float32 only.",
    "backend": "nbtrain has one backend, NumPy.",
}


def __getattr__(name):
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error(__name__, name, __all__, _NOT_IN_NBTRAIN)
