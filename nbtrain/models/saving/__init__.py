"""Save and load whole models (``.keras``) and their weights (``.weights.h5``), atomically.

A ``.keras`` file is a zip archive with these members:

- ``metadata.json``: the file format and its version, the nbtrain version and the date saved;
- ``config.json``: the model's class and ``get_config()``, its build input shape, and the ``compile()``
  arguments (the optimizer through ``nbtrain.optimizers.serialize``, losses and metrics as names or configs);
- ``model.weights.json`` and ``model.weights.npz``: every layer's weights in Keras order, and the state of
  the layers' random generators (so Dropout continues its mask sequence after loading);
- ``optimizer.json`` and ``optimizer.npz``: the optimizer's state (``iterations``, the current learning
  rate, its slot arrays such as Adam's moments), so training continues exactly where it stopped.

Everything is JSON or ``.npy`` arrays read with ``allow_pickle=False``: loading a file never runs code from it.

``save_weights`` requires a name ending in ``.weights.h5``, as Keras does, but **the file is nbtrain's own
zip format, not HDF5**: Keras and h5py cannot open it, and nbtrain cannot read Keras's HDF5 files. To move
weights between the two, use ``np.savez("w.npz", *model.get_weights())`` and ``model.set_weights(...)``.

The package is split by concern: :mod:`~nbtrain.models.saving.archive` (the file: atomic writes, reading and
checking it), :mod:`~nbtrain.models.saving.config` (the model's class, config and compile arguments) and
:mod:`~nbtrain.models.saving.weights` (weights, random generators and optimizer state).

Every write goes to a temporary file in the target's directory, is flushed to disk (fsync) and then renamed
over the target (``os.replace``), so an interrupted save (an exception, Ctrl-C, a killed kernel) leaves the
previous file intact. A temporary file left by a killed process is removed by the next save to that name.

What is not saved: the learning rate of a ``fit`` in progress is saved, but the global random generator
(``nbtrain.utils.set_random_seed``) is process state and is not, so a resumed ``fit(shuffle=True)`` shuffles
differently from an uninterrupted one; with ``shuffle=False`` the resumed run is identical. Metric values
(reset every epoch), the ``History`` and ``exclude_from_weight_decay`` settings are not saved either.

Example:
    >>> model.save("model.keras")                                # doctest: +SKIP
    >>> model = nbtrain.models.load_model("model.keras")         # doctest: +SKIP
    >>> model.fit(x, y, epochs=1)                                # continues training  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings

from nbtrain.models.saving.archive import (CONFIG, METADATA, MODEL_FORMAT, WEIGHTS_FORMAT, InvalidModelFileError,
                                           SavedFileError, atomic_write_zip, json_bytes, metadata, read_archive)
from nbtrain.models.saving.config import compile_from_config, model_config, model_from_config
from nbtrain.models.saving.weights import (optimizer_members, optimizer_state, restore_optimizer_state,
                                           restore_weights, state_members, weights_members, weights_state)
from nbtrain.utils.errors import check_keyword_arguments


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs) -> None:
    """Save the architecture, weights, compile arguments and optimizer state to a ``.keras`` file.

    Args:
        model: the model to save.
        filepath: a path ending in ``.keras`` (``.h5`` also works, with a warning: the file is nbtrain's zip
            format whatever its name).
        overwrite: replace an existing file (default). With False an existing file raises FileExistsError.
        zipped: accepted for Keras compatibility; only the zipped format exists (``zipped=False`` raises).
        include_optimizer: also save the optimizer state (default), so training resumes exactly.

    Example:
        >>> save_model(model, "model.keras")  # doctest: +SKIP
    """
    check_keyword_arguments("save()", kwargs, ("filepath", "overwrite", "zipped", "include_optimizer"))
    path = _check_model_path(filepath)
    if zipped is False:
        raise ValueError("nbtrain saves models only as zipped .keras files; drop zipped=False.")
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to save. Call "
            "model.build(input_shape), fit it, or give the input shape (Input(shape=...) as the first layer) "
            "before saving."
        )
    members = {
        METADATA: json_bytes(metadata(MODEL_FORMAT)),
        CONFIG: json_bytes(model_config(model)),
    }
    members.update(weights_members(model))
    if include_optimizer:
        members.update(optimizer_members(model))
    atomic_write_zip(path, members, overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by :func:`save_model` (``model.save``): ready to predict and to continue training.

    Args:
        filepath: the ``.keras`` file.
        custom_objects: ``{name: object}`` for your own layer classes, losses, metrics, activations,
            initializers, regularizers, constraints and optimizers that the model uses.
        compile: restore the ``compile()`` arguments and the optimizer state (default). With False the model
            is returned uncompiled.
        safe_mode: accepted for Keras compatibility. nbtrain files hold only JSON and arrays (read without
            pickle), so there is no code in them to guard against.

    Returns:
        The model, with the same class, layers, weights, compile state and optimizer state.

    Example:
        >>> model = load_model("model.keras")  # doctest: +SKIP
    """
    path = os.fspath(filepath)
    where = f"'{path}'"
    archive = read_archive(path, expect=MODEL_FORMAT)
    if archive.format == WEIGHTS_FORMAT:
        raise SavedFileError(
            f"{where} holds only weights (written by save_weights), not a whole model. Build the same model in "
            f"code and call model.load_weights({path!r}), or save the whole model with model.save('model.keras')."
        )
    config = archive.json(CONFIG)
    custom_objects = dict(custom_objects or {})
    model = model_from_config(config, custom_objects, where)
    restore_weights(model, archive, skip_mismatch=False, where=where, restore_optimizer=False)
    if compile and config.get("compile_config"):
        compile_from_config(model, config["compile_config"], custom_objects, where)
        restore_optimizer_state(model, archive, where, strict=True)
    return model


def save_weights(model, filepath, overwrite=True, max_shard_size=None) -> None:
    """Save every weight (and the optimizer state, if any) to a file whose name ends in ``.weights.h5``.

    The name follows Keras, but the file is nbtrain's own zip format, **not HDF5**: Keras and h5py cannot open
    it. :func:`load_weights` reads it back into a model with the same layers.

    Args:
        model: the model.
        filepath: a path ending in ``.weights.h5``.
        overwrite: replace an existing file (default); with False an existing file raises FileExistsError.
        max_shard_size: accepted for Keras compatibility; nbtrain always writes one file.

    Example:
        >>> save_weights(model, "checkpoint.weights.h5")  # doctest: +SKIP
    """
    path = os.fspath(filepath)
    if not str(path).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={path}. (nbtrain writes its own zip "
            f"format under this name, as Keras requires the name; use model.save('model.keras') to save the "
            f"whole model.)"
        )
    WeightsSnapshot(model).save(path, overwrite=overwrite)


class WeightsSnapshot:
    """A model's weights and optimizer state as they are now, to be written to a weights file later.

    Taking it copies the arrays (a few milliseconds for a million weights); :meth:`save` then serializes and
    writes them atomically, from any thread, while training goes on. ``BackupAndRestore`` writes its batch
    backups so (through ``model._weights_snapshot()``).

    Example:
        >>> snapshot = WeightsSnapshot(model)              # doctest: +SKIP
        >>> snapshot.save("backup.weights.h5")            # later, maybe in another thread  # doctest: +SKIP
    """

    def __init__(self, model):
        if not getattr(model, "built", False):
            raise ValueError(
                f"Model '{model.name}' has not been built yet, so it has no weights to save. Call "
                "model.build(input_shape) or fit it first."
            )
        self._states = (weights_state(model), optimizer_state(model))

    def save(self, filepath, overwrite=True) -> None:
        """Write the snapshot to ``filepath`` (a ``.weights.h5`` name), atomically."""
        members = {METADATA: json_bytes(metadata(WEIGHTS_FORMAT))}
        for state in self._states:
            members.update(state_members(state))
        atomic_write_zip(os.fspath(filepath), members, overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs) -> None:
    """Load weights written by :func:`save_weights` (or from a ``.keras`` file) into ``model``, in place.

    Layers are matched in order (the layers that have weights, as ``get_weights`` lists them). If the file
    also holds optimizer state and the model is compiled with an optimizer of the same kind, that state is
    restored too, so training continues where it stopped.

    Args:
        model: a model with the same architecture (built, or buildable from the input shape in the file).
        filepath: a ``.weights.h5`` file from :func:`save_weights` or a ``.keras`` file.
        skip_mismatch: skip (with a warning) layers whose weight count or shapes differ, instead of raising.

    Example:
        >>> load_weights(model, "checkpoint.weights.h5")  # doctest: +SKIP
    """
    check_keyword_arguments("load_weights()", kwargs, ("filepath", "skip_mismatch"))
    path = os.fspath(filepath)
    archive = read_archive(path, expect=WEIGHTS_FORMAT)
    restore_weights(model, archive, skip_mismatch=bool(skip_mismatch), where=f"'{path}'", restore_optimizer=True)


def _check_model_path(filepath) -> str:
    path = os.fspath(filepath)
    text = str(path)
    if text.endswith(".weights.h5"):
        raise ValueError(
            f"{text!r} is a weights-only file name: use model.save_weights({text!r}) for weights, or a name "
            f"ending in .keras to save the whole model."
        )
    if text.endswith((".h5", ".hdf5")):
        warnings.warn(
            f"Saving to {text!r}: nbtrain writes its own zip format (the .keras format) whatever the extension, "
            "so this file is NOT HDF5 and Keras or h5py cannot open it. Prefer the name 'model.keras'.",
            UserWarning, stacklevel=3)
        return path
    if not text.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add a `.keras` extension for the native format "
            f"(nbtrain's zip of JSON and arrays). Received: filepath={text}"
        )
    return path


__all__ = ["InvalidModelFileError", "SavedFileError", "WeightsSnapshot", "load_model", "load_weights", "save_model",
           "save_weights"]
