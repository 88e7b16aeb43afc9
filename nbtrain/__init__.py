"""nbtrain: Keras-style neural network training on NumPy, made for Jupyter notebooks.

``import nbtrain as keras`` runs Keras tutorial code: ``keras.Sequential``, ``keras.layers.Dense``,
``keras.optimizers.Adam``, ``keras.utils.to_categorical``, ``model.compile``/``fit``/``evaluate``/``predict``.
"""

from nbtrain import (activations, callbacks, config, constraints, initializers, layers, losses, metrics, models,
                     optimizers, preprocessing, regularizers, utils)
from nbtrain.layers import Input
from nbtrain.models import Model, Sequential
from nbtrain._version import __version__

__all__ = ["Input", "Model", "Sequential", "plot_histories", "plot_history", "activations", "callbacks", "config",
           "datasets", "initializers", "layers", "losses", "constraints", "regularizers", "metrics", "models",
           "optimizers", "preprocessing", "utils", "__version__"]


def __getattr__(name):
    # Loaded when first used, so that `import nbtrain` stays quick: the data sets (tarfile, zipfile, gzip,
    # hashlib) and the plotting helpers of the front end (matplotlib).
    if name == "datasets":
        import importlib

        return importlib.import_module("nbtrain.datasets")
    if name in ("plot_history", "plot_histories"):
        from nbtrain.display import plots

        return getattr(plots, name)
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error("nbtrain", name, __all__, _NOT_IN_NBTRAIN)


_NOT_IN_NBTRAIN = {
    "ops": "Work on the NumPy arrays directly: nbtrain's layers and models take and return NumPy arrays.",
    "applications": "There are no pretrained networks (no downloads of weights); train your own, or load Keras "
                    "weights into the same architecture with set_weights().",
}
