"""nbtrain: Keras-style neural network training on NumPy, made for Jupyter notebooks.

``import nbtrain as keras`` runs Keras tutorial code: ``keras.Sequential``, ``keras.layers.Dense``,
``keras.optimizers.Adam``, ``keras.utils.to_categorical``, ``model.compile``/``fit``/``evaluate``/``predict``.
"""

from nbtrain import (activations, callbacks, config, constraints, initializers, layers, losses, metrics, models,
                     optimizers, preprocessing, regularizers, utils)
from nbtrain.layers import Input
from nbtrain.models import Model, Sequential
from nbtrain._version import __version__

__all__ = ["Input", "Model", "Sequential", "plot_decision_boundary", "plot_histories", "plot_history",
           "activations", "backend", "callbacks", "config", "datasets", "experiments", "initializers", "layers",
           "losses", "constraints", "ops", "random", "regularizers", "metrics", "models", "optimizers", "preprocessing",
           "utils", "widgets", "__version__"]


def __getattr__(name):
    # Loaded when first used, so that `import nbtrain` stays quick: the data sets (tarfile, zipfile, gzip,
    # hashlib) and the plotting helpers of the front end (matplotlib).
    if name == "datasets":
        import importlib

        return importlib.import_module("nbtrain.datasets")
    if name in ("plot_history", "plot_histories"):
        from nbtrain.display import plots

        return getattr(plots, name)
    # The interactive widgets (ipywidgets, loaded only when one is shown) and the boundary plot.
    if name in ("widgets", "plot_decision_boundary"):
        import nbtrain.widgets

        return nbtrain.widgets if name == "widgets" else nbtrain.widgets.plot_decision_boundary
    if name in ("backend", "ops", "random"):  # loaded on first use, to keep `import nbtrain` fast
        import importlib

        return importlib.import_module(f"nbtrain.{name}")
    # Sweeps and run comparison: loaded when first used (Dask only when a sweep is given a client).
    if name == "experiments":
        import nbtrain.experiments

        return nbtrain.experiments
    from nbtrain.utils.errors import missing_name_error

    raise missing_name_error("nbtrain", name, __all__, _NOT_IN_NBTRAIN)


_NOT_IN_NBTRAIN = {
    "applications": "There are no pretrained networks (no downloads of weights); train your own, or load Keras "
                    "weights into the same architecture with set_weights().",
}
