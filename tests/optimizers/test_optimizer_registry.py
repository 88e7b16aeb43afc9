"""nbtrain.optimizers.get / serialize / deserialize and the package's exports."""

import numpy as np
import pytest

import nbtrain.optimizers as optimizers
from nbtrain.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, RMSprop, schedules


@pytest.mark.parametrize(
    "name, cls",
    [
        ("sgd", SGD), ("SGD", SGD), ("rmsprop", RMSprop), ("RMSprop", RMSprop), ("adagrad", Adagrad),
        ("adadelta", Adadelta), ("adam", Adam), ("Adam", Adam), ("ADAM", Adam), ("adamax", Adamax),
        ("nadam", Nadam), ("adamw", AdamW), ("AdamW", AdamW), ("lion", Lion), (" adam ", Adam),
    ],
)
def test_names_are_case_insensitive(name, cls):
    optimizer = optimizers.get(name)
    assert type(optimizer) is cls
    assert optimizer.learning_rate == cls().learning_rate


def test_instances_are_returned_and_classes_instantiated():
    adam = Adam(learning_rate=0.1)
    assert optimizers.get(adam) is adam
    assert type(optimizers.get(RMSprop)) is RMSprop
    assert optimizers.get(None) is None


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'adm'\. Did you mean 'adam'\? Known optimizers: 'adadelta'"):
        optimizers.get("adm")
    with pytest.raises(ValueError, match="Did you mean 'rmsprop'"):
        optimizers.get("rmsprob")


def test_other_identifiers_explain_the_accepted_forms():
    with pytest.raises(TypeError, match=r"Could not interpret optimizer identifier: 3 \(int\)\. Pass a name such as 'adam'"):
        optimizers.get(3)
    with pytest.raises(TypeError, match="Could not interpret"):
        optimizers.get(np.ones(2))


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam, AdamW, Lion], ids=lambda c: c.__name__)
def test_serialize_round_trip(cls):
    optimizer = cls(learning_rate=0.3, clipvalue=0.5)
    data = optimizers.serialize(optimizer)
    assert data["class_name"] == cls.__name__
    clone = optimizers.deserialize(data)
    assert type(clone) is cls and clone.get_config() == optimizer.get_config()
    assert type(optimizers.get(data)) is cls


def test_serialize_round_trip_with_a_schedule():
    optimizer = SGD(learning_rate=schedules.PolynomialDecay(0.1, 100), momentum=0.9)
    clone = optimizers.deserialize(optimizers.serialize(optimizer))
    assert isinstance(clone._learning_rate, schedules.PolynomialDecay) and clone.momentum == 0.9
    assert clone.learning_rate == optimizer.learning_rate == 0.1


def test_deserialize_errors_and_custom_objects():
    with pytest.raises(TypeError, match="class_name"):
        optimizers.deserialize("adam")
    with pytest.raises(ValueError, match="Did you mean 'nadam'"):
        optimizers.deserialize({"class_name": "Nadm", "config": {}})

    class MySGD(SGD):
        pass

    restored = optimizers.deserialize({"class_name": "MySGD", "config": {"learning_rate": 0.5}}, {"MySGD": MySGD})
    assert type(restored) is MySGD and restored.learning_rate == 0.5
    with pytest.raises(TypeError, match="expects an Optimizer"):
        optimizers.serialize("adam")


def test_package_exports():
    for name in ("SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam", "AdamW", "Lion", "Optimizer",
                 "schedules", "get", "serialize", "deserialize"):
        assert hasattr(optimizers, name), name
    assert optimizers.schedules.ExponentialDecay is schedules.ExponentialDecay
