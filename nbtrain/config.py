"""Process-wide settings, as ``keras.config``: how many BLAS threads nbtrain's work uses.

Example:
    >>> import nbtrain
    >>> nbtrain.config.blas_threads()
    'auto'
"""

from nbtrain.utils.threads import blas_threads, set_blas_threads

__all__ = ["blas_threads", "floatx", "set_blas_threads"]


def floatx() -> str:
    """The float type of weights and computations: always ``"float32"`` in nbtrain."""
    return "float32"


_NOT_IN_NBTRAIN = {
    "set_floatx": "nbtrain computes in float32 only.",
    "backend": "nbtrain has one backend, NumPy.",
}


def __getattr__(name):
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error(__name__, name, __all__, _NOT_IN_NBTRAIN)
