"""The message for a NumPy function called on a tracked tensor: which ``nbtrain.ops`` function to use instead."""

from __future__ import annotations

# NumPy name -> ops name, where they differ or where NumPy has several spellings.
_RENAMED = {
    "true_divide": "divide", "absolute": "abs", "remainder": "mod", "concat": "concatenate", "amax": "max",
    "amin": "min", "fabs": "abs", "asarray": "convert_to_numpy", "array": "convert_to_numpy",
    "asanyarray": "convert_to_numpy", "copy": "copy", "dot": "dot", "einsum": "einsum", "pow": "power",
    "clip": "clip", "linalg.norm": "norm", "norm": "norm", "nan_to_num": "nan_to_num",
}


def numpy_equivalent_hint(numpy_name: str, ops) -> str:
    """An error message for ``numpy_name`` (e.g. ``"numpy.exp"``) applied to a tracked Tensor.

    Args:
        numpy_name: the NumPy function's name.
        ops: the namespace of ops functions (to check the suggestion exists).
    """
    short = numpy_name.removeprefix("numpy.")
    op_name = _RENAMED.get(short, short)
    message = (f"{numpy_name}() was called on a tracked nbtrain Tensor: NumPy cannot record its gradient, so "
               "training would silently get a zero gradient through it. ")
    if hasattr(ops, op_name) and not op_name.startswith("_"):
        message += f"Use ops.{op_name}(...) instead (from nbtrain import ops)."
    else:
        message += ("Write it with nbtrain.ops functions (from nbtrain import ops; ops.mean, ops.exp, "
                    "ops.matmul, ...); ops.convert_to_numpy(x) gives the values without a gradient.")
    return message
