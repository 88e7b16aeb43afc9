"""``config.json``: a model's class and architecture, its build shape and its ``compile()`` arguments, as JSON.

Saving writes the model's ``get_config()`` and the compile arguments (the optimizer through
``nbtrain.optimizers.serialize``, losses and metrics as names or configs). Loading finds the class by name
(``custom_objects`` first, then nbtrain's own models, then a model class defined in this session), rebuilds
the model with its ``from_config`` and compiles it again.
"""

from __future__ import annotations

import inspect
import json
import sys
import warnings

from nbtrain import losses, metrics, optimizers
from nbtrain.layers import serialization as layer_serialization
from nbtrain.models.model_classes import MODELS
from nbtrain.models.saving.archive import (CONFIG, SavedFileError, invalid_file, json_default, json_kind,
                                           shape_from_json, shape_to_json)
from nbtrain.utils.registry import build_from_config

_EXTRA_COMPILE_ARGUMENTS = ("run_eagerly", "steps_per_execution", "jit_compile")

# What code that rebuilds objects raises when a crafted config gives it data of the wrong shape (a number
# where a dict belongs, a missing key, nesting that exhausts the recursion); such errors say nothing to the
# user, so they become an InvalidModelFileError that names the file and the part of it.
_RAW_ERRORS = (KeyError, IndexError, AttributeError, LookupError, RecursionError, ImportError, OverflowError)


# ================================================================================================
# saving
# ================================================================================================


def model_config(model) -> dict:
    """The content of ``config.json`` for ``model``; a clear error when its config is not plain data."""
    try:
        config = model.get_config()
        json.dumps(config, default=json_default)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(
            f"Cannot save model '{model.name}': its configuration cannot be written as JSON ({error}). Every layer's "
            "get_config() must return plain values (numbers, strings, lists, dicts); a layer holding an object "
            "should store its name or config instead."
        ) from error
    return {
        "module": getattr(model, "saved_module", type(model).__module__),
        "class_name": getattr(model, "saved_class_name", type(model).__name__),
        "config": config,
        "registered_name": None,
        "build_config": build_config(model),
        "compile_config": _compile_config(model),
    }


def build_config(model) -> dict | None:
    """``{"input_shape": ...}`` for a built model, so loading builds it (and its weights) the same way."""
    shape = getattr(model, "input_shape", None)
    if not getattr(model, "built", False) or shape is None:
        return None
    return {"input_shape": shape_to_json(shape)}


def _compile_config(model) -> dict | None:
    given = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or not given:
        return None
    try:
        config = {
            "optimizer": optimizers.serialize(model.optimizer),
            "loss": _serialize_nested(given.get("loss"), _serialize_loss),
            "metrics": _serialize_nested(given.get("metrics"), _serialize_metric),
            "loss_weights": given.get("loss_weights"),
            "weighted_metrics": _serialize_nested(given.get("weighted_metrics"), _serialize_metric),
        }
        for key in _EXTRA_COMPILE_ARGUMENTS:
            if key in given:
                config[key] = given[key]
        json.dumps(config, default=json_default)
    except (TypeError, ValueError, NotImplementedError) as error:
        warnings.warn(
            f"The compile() arguments of model '{model.name}' cannot be saved ({error}); the model is saved "
            "without them and load_model() returns it uncompiled (call compile() again after loading).",
            UserWarning, stacklevel=4)
        return None
    return config


def _serialize_nested(value, serialize_one):
    """Keep the list/dict structure of per-output losses and metrics; serialize each entry."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_nested(v, serialize_one) for v in value]
    if isinstance(value, dict):
        return {str(k): _serialize_nested(v, serialize_one) for k, v in value.items()}
    return serialize_one(value)


def _serialize_loss(loss):
    if inspect.isclass(loss):
        loss = loss()
    if isinstance(loss, losses.Loss):
        return losses.serialize(loss)
    return _serialize_function(loss, "loss")


def _serialize_metric(metric):
    if inspect.isclass(metric):
        metric = metric()
    if isinstance(metric, losses.Loss):
        return losses.serialize(metric)
    if isinstance(metric, metrics.MeanMetricWrapper) and type(metric) is metrics.MeanMetricWrapper:
        config = metric.get_config()
        if callable(config.get("fn")):
            config["fn"] = _function_name(config["fn"], "metric")
        return {"module": "nbtrain.metrics", "class_name": "MeanMetricWrapper", "config": config}
    if isinstance(metric, metrics.Metric):
        return {"module": "nbtrain.metrics", **metrics.serialize(metric)}
    return _serialize_function(metric, "metric")


def _serialize_function(function, what: str) -> dict:
    return {"module": getattr(function, "__module__", None), "class_name": "function",
            "config": _function_name(function, what)}


def _function_name(function, what: str) -> str:
    name = getattr(function, "__name__", None)
    if not callable(function) or not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"the {what} {function!r} has no name to save it by (use a named function or a class)")
    return name


# ================================================================================================
# loading: the model
# ================================================================================================


def model_from_config(saved: dict, custom_objects: dict, where: str):
    """Rebuild (and build, when it was built) the model that ``config.json`` describes, without weights."""
    if not isinstance(saved, dict) or not isinstance(saved.get("class_name"), str):
        raise invalid_file(where, f"its {CONFIG} does not describe a model (no JSON object with a class_name)")
    config, build = saved.get("config") or {}, saved.get("build_config") or {}
    for key, value in (("config", config), ("build_config", build)):
        if not isinstance(value, dict):
            raise invalid_file(where, f"the {key} in its {CONFIG} is {json_kind(value)}, not a JSON object")
    cls = _model_class(saved["class_name"], custom_objects, where)
    if not _defines_from_config(cls):
        raise SavedFileError(f"Cannot load {where}: the model class {cls.__name__} has no from_config().")
    try:
        model = build_from_config(cls, config, custom_objects)
        shape = build.get("input_shape")
        if shape is not None and not getattr(model, "built", False):
            model.build(shape_from_json(shape))
    except SavedFileError:
        raise
    except layer_serialization.UnknownLayerError as error:
        message = str(error)
        if where not in message:
            message = message.replace("':", f"' in {where}:", 1)
        raise layer_serialization.UnknownLayerError(message) from None
    except Exception as error:
        # Also ValueError and TypeError: the config passed nbtrain's reading, so the model it describes
        # cannot be built, whether the file was crafted or a class of the user's fails on its own config.
        raise invalid_file(where, f"the model in its {CONFIG} cannot be rebuilt ({type(error).__name__}: {error}); "
                                  "if it uses classes of your own, pass them in custom_objects and check that "
                                  "their from_config() accepts what their get_config() returns") from error
    return model


def _model_class(class_name: str, custom_objects: dict, where: str):
    cls = MODELS.find(class_name, custom_objects)
    if cls is None:
        raise SavedFileError(
            f"Unknown model class '{class_name}' in {where}: pass custom_objects={{'{class_name}': {class_name}}}."
        )
    return cls


def _defines_from_config(cls) -> bool:
    """True when ``cls`` has a ``from_config`` of its own or from a base below ``Model``.

    ``Model.from_config`` builds a functional model, which is wrong for a subclassed model without one.
    """
    base = MODELS.base
    for klass in cls.__mro__:
        if "from_config" in vars(klass):
            return True
        if klass is base:
            return False
    return False


# ================================================================================================
# loading: the compile() arguments
# ================================================================================================


def compile_from_config(model, config: dict, custom_objects: dict, where: str) -> None:
    """Call ``model.compile`` with the arguments saved in ``config``; say how to fix what cannot be restored."""
    if not isinstance(config, dict):
        raise invalid_file(where, f"the compile_config in its {CONFIG} is {json_kind(config)}, not a JSON "
                                  "object")
    try:
        arguments = _compile_arguments(config, custom_objects, where)
        model.compile(**arguments)
    except SavedFileError:
        raise
    except KeyError as error:
        raise invalid_file(where, f"its compile configuration lacks {error}") from error
    except _RAW_ERRORS as error:
        raise invalid_file(where, f"its compile configuration cannot be read ({type(error).__name__}: "
                                  f"{error})") from error
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError):
            raise
        raise type(error)(
            f"Cannot restore the compile() arguments saved in {where}: {error} If the model was compiled with your "
            "own loss, metric or optimizer, pass it as custom_objects={'Name': object}; or load with "
            "compile=False and call compile() yourself."
        ) from error


def _compile_arguments(config: dict, custom_objects: dict, where: str) -> dict:
    """The keyword arguments of ``compile()`` rebuilt from the saved compile configuration."""
    arguments = {
        "optimizer": optimizers.deserialize(config["optimizer"], custom_objects),
        "loss": _deserialize_nested(config.get("loss"), _deserialize_loss, custom_objects, where),
        "metrics": _deserialize_nested(config.get("metrics"), _deserialize_metric, custom_objects, where),
        "loss_weights": config.get("loss_weights"),
        "weighted_metrics": _deserialize_nested(config.get("weighted_metrics"), _deserialize_metric, custom_objects,
                                                where),
    }
    arguments.update({key: config[key] for key in _EXTRA_COMPILE_ARGUMENTS if key in config})
    return arguments


def _deserialize_nested(value, deserialize_one, custom_objects, where):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_deserialize_nested(v, deserialize_one, custom_objects, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_nested(v, deserialize_one, custom_objects, where) for k, v in value.items()}
    return deserialize_one(value, custom_objects, where)


def _deserialize_loss(config: dict, custom_objects: dict, where: str):
    if config.get("class_name") == "function":
        return _function(config, custom_objects, where, "loss")
    return losses.deserialize(config, custom_objects)


def _deserialize_metric(config: dict, custom_objects: dict, where: str):
    class_name = config.get("class_name")
    if class_name == "function":
        return _function(config, custom_objects, where, "metric")
    if config.get("module") == "nbtrain.losses":
        return losses.deserialize(config, custom_objects)
    options = dict(config.get("config") or {})
    if class_name == "MeanMetricWrapper" and isinstance(options.get("fn"), str):
        fn_name = options["fn"]
        if fn_name in custom_objects:
            options["fn"] = custom_objects[fn_name]
        elif not hasattr(metrics, fn_name) and not hasattr(losses, fn_name):
            raise _missing_function(fn_name, where, "metric")
    return metrics.deserialize({"class_name": class_name, "config": options}, custom_objects)


def _function(config: dict, custom_objects: dict, where: str, what: str):
    name = config.get("config")
    if not isinstance(name, str):
        raise invalid_file(where, f"a {what} function is saved without a name (got {name!r})")
    if name in custom_objects:
        return custom_objects[name]
    # Only a module of nbtrain's that is already loaded is searched: a file never makes Python import anything.
    module_name = config.get("module")
    module = sys.modules.get(module_name) if isinstance(module_name, str) and module_name.startswith("nbtrain.") \
        else None
    function = getattr(module, name, None) if module is not None and not name.startswith("_") else None
    if callable(function):
        return function
    raise _missing_function(name, where, what)


def _missing_function(name, where, what) -> ValueError:
    return ValueError(f"The {what} function '{name}' used by the model in {where} is not defined here: "
                      f"pass custom_objects={{'{name}': {name}}}.")
