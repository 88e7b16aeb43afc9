"""Interactive training widgets: the :class:`Playground` and live decision boundaries.

``nbtrain.widgets.Playground()`` is TensorFlow Playground in the notebook, on a real nbtrain model;
``nbtrain.widgets.DecisionBoundary(x, y)`` draws any 2-D model's boundary while ``fit`` trains it, and
``nbtrain.plot_decision_boundary(model, x, y)`` draws it once. Importing this package imports neither
ipywidgets nor matplotlib: they load when a widget is shown or a figure drawn.
"""

from nbtrain.widgets.boundary import DecisionBoundary, plot_decision_boundary
from nbtrain.widgets.controller import PlaygroundConfig
from nbtrain.widgets.datasets2d import DATASETS, FEATURES, input_features, make_2d_data, train_test_split

__all__ = ["Playground", "PlaygroundConfig", "DecisionBoundary", "plot_decision_boundary", "make_2d_data",
           "input_features", "train_test_split", "DATASETS", "FEATURES"]


def __getattr__(name):
    if name == "Playground":
        from nbtrain.widgets.playground import Playground

        return Playground
    raise AttributeError(f"module 'nbtrain.widgets' has no attribute {name!r}")
