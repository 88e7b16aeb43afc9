"""Optimizers: SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam, AdamW, Lion, Adafactor, Ftrl and Lamb, plus
schedules.

Every optimizer updates a list of float arrays in place: ``optimizer.apply(grads, variables)``.
Strings resolve through ``get`` (``"adam"``, ``"SGD"``, ...), as in ``model.compile(optimizer="adam")``.

Example:
    >>> import nbtrain.optimizers as optimizers
    >>> optimizers.get("adam")
    Adam(learning_rate=0.001)
    >>> optimizers.SGD(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 1000, 0.9))
    SGD(learning_rate=ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.9, staircase=False))
"""

from nbtrain.optimizers import schedules
from nbtrain.optimizers.adadelta import Adadelta
from nbtrain.optimizers.adafactor import Adafactor
from nbtrain.optimizers.adagrad import Adagrad
from nbtrain.optimizers.adam import Adam
from nbtrain.optimizers.adamax import Adamax
from nbtrain.optimizers.adamw import AdamW
from nbtrain.optimizers.ftrl import Ftrl
from nbtrain.optimizers.lamb import Lamb
from nbtrain.optimizers.lion import Lion
from nbtrain.optimizers.nadam import Nadam
from nbtrain.optimizers.optimizer import OPTIMIZERS, Optimizer
from nbtrain.optimizers.registry import deserialize, get, serialize
from nbtrain.optimizers.rmsprop import RMSprop
from nbtrain.optimizers.sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "AdamW",
    "Lion",
    "Adafactor",
    "Ftrl",
    "Lamb",
    "schedules",
    "get",
    "serialize",
    "deserialize",
]
