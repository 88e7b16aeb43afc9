"""The Registry on its own: registering, lookup, get, serialize, deserialize, and user classes by name."""

import pytest

from nbtrain.utils.registry import (AmbiguousNameError, Registry, build_from_config, function_config,
                                    ignore_case_and_underscores)


class Shape:
    def __init__(self, size=1.0):
        self.size = size

    def get_config(self):
        return {"size": self.size}


def make_registry(**options):
    shapes = Registry("shape", base=Shape, module="tests.shapes", **options)

    @shapes.register("sq", "box")
    class Square(Shape):
        pass

    @shapes.register(name="circle")
    class Circle(Shape):
        pass

    shapes.register(listed=False)(Shape)
    return shapes, Square, Circle


def test_register_returns_the_object_and_adds_its_name_and_aliases():
    shapes, Square, Circle = make_registry()
    assert shapes.names() == ["Square", "sq", "box", "circle"]
    assert shapes.as_dict() == {"Square": Square, "sq": Square, "box": Square, "circle": Circle}
    assert "SQ" in shapes and "Shape" in shapes and "triangle" not in shapes and 3 not in shapes
    assert repr(shapes) == "<Registry of 4 shape names>"


def test_lookup_ignores_case_and_spaces():
    shapes, Square, Circle = make_registry()
    assert shapes.lookup(" BOX ") is Square and shapes.lookup("Circle") is Circle
    assert shapes.find("triangle") is None


def test_a_looser_key_also_ignores_underscores():
    shapes = Registry("shape", key=ignore_case_and_underscores)

    @shapes.register(name="glorot_uniform")
    class GlorotUniform:
        pass

    assert shapes.lookup("GlorotUniform") is GlorotUniform and shapes.names() == ["glorot_uniform"]


def test_unknown_name_suggests_the_nearest_and_lists_the_known_names():
    shapes, _, _ = make_registry()
    with pytest.raises(ValueError, match=r"^Unknown shape: 'sqare'\. Did you mean 'Square'\? Known shapes: "
                                         r"'Square', 'box', 'circle', 'sq'\.$"):
        shapes.lookup("sqare")


def test_reserved_names_get_their_own_explanation():
    shapes, _, _ = make_registry(reserved={"auto": "'auto' picks a shape from the data."})
    with pytest.raises(ValueError, match="^'auto' picks a shape from the data.$"):
        shapes.get("AUTO")


def test_a_name_taken_by_another_object_is_refused():
    shapes, _, _ = make_registry()
    with pytest.raises(ValueError, match="'box' is already registered"):
        shapes.register("box")(Shape)
    shapes.register("sq")(shapes.lookup("sq"))  # registering the same object again is harmless


def test_custom_objects_come_first_then_the_registry_then_any_case():
    shapes, Square, _ = make_registry()

    class Mine(Shape):
        pass

    assert shapes.lookup("sq", {"sq": Mine}) is Mine
    assert shapes.lookup("sq", {"SQ": Mine}) is Square
    assert shapes.lookup("mine", {"Mine": Mine}) is Mine
    with pytest.raises(ValueError, match="Known shapes: .*'Mine'"):
        shapes.lookup("other", {"Mine": Mine})


def test_get_resolves_every_kind_of_identifier():
    shapes, Square, Circle = make_registry()
    square = Square(2.0)
    assert shapes.get(None) is None
    assert shapes.get(square) is square
    assert type(shapes.get("box")) is Square
    assert type(shapes.get(Circle)) is Circle
    assert shapes.get({"class_name": "Circle", "config": {"size": 3.0}}).size == 3.0
    with pytest.raises(TypeError, match=r"^Could not interpret shape identifier 3 of type int\. Pass a shape\.$"):
        make_registry(expected="Pass a shape.")[0].get(3)


def test_convert_handles_what_get_does_not_know():
    shapes, Square, _ = make_registry(convert=lambda x: Square(float(x)) if isinstance(x, int) else None)
    assert shapes.get(4).size == 4.0
    with pytest.raises(TypeError, match=r"Could not interpret shape identifier \['x'\] of type list"):
        shapes.get(["x"])


def test_serialize_writes_keras_layout_and_deserialize_reverses_it():
    shapes, Square, _ = make_registry(registered_name=True)
    config = shapes.serialize(Square(2.0))
    assert config == {"module": "tests.shapes", "class_name": "Square", "config": {"size": 2.0},
                      "registered_name": None}
    rebuilt = shapes.deserialize(config)
    assert type(rebuilt) is Square and rebuilt.size == 2.0
    assert type(shapes.deserialize("sq")) is Square
    assert shapes.deserialize(None) is None
    with pytest.raises(TypeError, match=r"serialize\(\) expects a Shape; received 'sq' \(str\)"):
        shapes.serialize("sq")


def test_malformed_configs_are_explained():
    shapes, _, _ = make_registry()
    with pytest.raises(ValueError, match=r"^A shape config must be a dict like \{'class_name': 'Square'"):
        shapes.deserialize({"config": {}})
    strict, _, _ = make_registry(config_only=True)
    with pytest.raises(TypeError, match=r"deserialize\(\) expects a dict like .*; received 'sq'"):
        strict.deserialize("sq")


def test_keras_function_configs_resolve_by_name_or_custom_objects():
    shapes, Square, _ = make_registry()

    def triangle(size):
        return size

    assert type(shapes.deserialize({"class_name": "function", "config": "box"})) is Square
    assert shapes.deserialize(function_config(triangle), {"triangle": triangle}) is triangle
    with pytest.raises(ValueError, match=r"Unknown shape: 'triangle'.*custom_objects=\{'triangle': fn\}"):
        shapes.deserialize(function_config(triangle))


def test_registered_objects_that_are_not_classes_take_options_through_with_options():
    scales = Registry("scale")

    class Scale:
        def __init__(self, factor=1.0):
            self.name, self.factor = "scale", factor

        def with_options(self, factor):
            return Scale(factor)

    plain = scales.register()(Scale())
    assert scales.deserialize({"class_name": "scale", "config": {}}) is plain
    assert scales.deserialize({"class_name": "scale", "config": {"factor": 2.0}}).factor == 2.0
    scales.register(name="fixed")(len)
    with pytest.raises(ValueError, match=r"^Scale 'fixed' takes no options, got \{'factor': 2\.0\}\.$"):
        scales.deserialize({"class_name": "fixed", "config": {"factor": 2.0}})


def test_subclasses_defined_in_the_session_are_found_by_exact_name():
    shapes, _, _ = make_registry(search_subclasses=True)

    def define():
        class Hexagon(Shape):
            pass

        return Hexagon

    _, second = define(), define()  # a re-run cell: the latest definition wins
    assert shapes.lookup("Hexagon") is second

    class Hexagon(Shape):  # the same name from another place
        pass

    with pytest.raises(AmbiguousNameError, match=r"Several shape classes are named 'Hexagon'"):
        shapes.lookup("Hexagon")
    assert shapes.lookup("Hexagon", {"Hexagon": Hexagon}) is Hexagon


def test_build_from_config_passes_custom_objects_only_when_taken():
    class Plain:
        def __init__(self, size):
            self.size = size

    class Aware(Plain):
        @classmethod
        def from_config(cls, config, custom_objects=None):
            made = cls(**config)
            made.custom = custom_objects
            return made

    assert build_from_config(Plain, {"size": 2}).size == 2
    assert build_from_config(Aware, {"size": 2}, {"x": 1}).custom == {"x": 1}


def test_every_family_has_its_registry():
    from nbtrain import activations, constraints, initializers, losses, optimizers, regularizers
    from nbtrain.layers.layer import LAYERS
    from nbtrain.models.model import MODELS
    from nbtrain.optimizers import schedules

    assert losses.LOSSES.lookup("mse") is losses.MeanSquaredError
    assert optimizers.OPTIMIZERS.lookup("adam") is optimizers.Adam
    assert schedules.SCHEDULES.lookup("exponentialdecay") is schedules.ExponentialDecay
    assert activations.ACTIVATIONS.lookup("swish") is activations.silu
    assert initializers.INITIALIZERS.lookup("GlorotUniform") is initializers.GlorotUniform
    assert regularizers.REGULARIZERS.lookup("l1_l2") is regularizers.L1L2
    assert constraints.CONSTRAINTS.lookup("maxnorm") is constraints.MaxNorm
    import nbtrain.layers

    assert LAYERS.lookup("Convolution2D") is nbtrain.layers.Conv2D
    assert MODELS.lookup("sequential") is nbtrain.models.Sequential
