"""One registry per family of named objects: losses, optimizers, schedules, activations, initializers,
regularizers, constraints, layers and models.

A :class:`Registry` maps names to objects (usually classes). Names are registered where each object is
defined, with its Keras aliases, and looked up case-insensitively; an unknown name gets the nearest known
one in its error. The registry also turns an object into Keras's ``{"class_name", "config"}`` dict and back.

Example:
    >>> class Penalty:
    ...     def __init__(self, factor=0.01):
    ...         self.factor = factor
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    >>> PENALTIES = Registry("regularizer", base=Penalty, module="my.penalties")
    >>> @PENALTIES.register("l2")
    ... class L2(Penalty):
    ...     pass
    >>> PENALTIES.get("L2").factor
    0.01
    >>> PENALTIES.serialize(L2(0.5))
    {'module': 'my.penalties', 'class_name': 'L2', 'config': {'factor': 0.5}}
    >>> PENALTIES.get("L22")
    Traceback (most recent call last):
    ...
    ValueError: Unknown regularizer: 'L22'. Did you mean 'l2'? Known regularizers: 'L2', 'l2'.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

from nbtrain.utils.errors import unknown_name_error


def ignore_case(name: str) -> str:
    """The default lookup key: ``" Adam "``, ``"adam"`` and ``"ADAM"`` are one name."""
    return name.strip().lower()


def ignore_case_and_underscores(name: str) -> str:
    """A looser key: ``"GlorotUniform"``, ``"glorot_uniform"`` and ``"Glorot_Uniform"`` are one name."""
    return ignore_case(name).replace("_", "")


class AmbiguousNameError(ValueError):
    """Several classes defined in this session share the name a config asks for."""


class Registry:
    """The named objects of one family, with lookup, ``get``, ``serialize`` and ``deserialize``.

    Args:
        family: what one object is called in messages (``"loss"``, ``"learning rate schedule"``).
        base: the family's base class. ``get`` returns its instances as they are and instantiates its
            subclasses; ``serialize`` accepts only its instances.
        module: the ``"module"`` written by :meth:`serialize` (default: the object's own module).
        key: turns a name into its lookup key; the default ignores case and surrounding spaces.
        convert: ``convert(identifier)`` for what :meth:`get` does not understand on its own (functions,
            arrays, ...): returns the object, raises a tailored error, or returns None for the usual one.
        expected: the end of the "Could not interpret" error: what the family accepts.
        reserved: names that are not in the family but look as if they were, each with the message of the
            ValueError to raise for it (``{"crossentropy": "... is chosen from the data ..."}``).
        registered_name: write Keras's ``"registered_name": None`` into serialized configs.
        config_only: :meth:`deserialize` takes only config dicts (TypeError otherwise), not names.
        search_subclasses: a name that is not registered may also be a public subclass of ``base`` defined
            in this session (a class from an earlier notebook cell), found without ``custom_objects``.
    """

    def __init__(self, family: str, *, base: type | None = None, module: str | None = None,
                 key: Callable[[str], str] = ignore_case, convert: Callable | None = None, expected: str = "",
                 reserved: Mapping[str, str] | None = None, registered_name: bool = False,
                 config_only: bool = False, search_subclasses: bool = False):
        self.family = family
        self.base = base
        self.module = module
        self._key = key
        self._convert = convert
        self._expected = expected
        self._reserved = {key(name): message for name, message in (reserved or {}).items()}
        self._registered_name = registered_name
        self._config_only = config_only
        self._search_subclasses = search_subclasses
        self._by_key: dict[str, object] = {}
        self._listed: dict[str, object] = {}  # the spellings shown in errors, in registration order

    def __repr__(self) -> str:
        return f"<Registry of {len(self._listed)} {self.family} names>"

    # ----- registering ----------------------------------------------------------------------------------

    def register(self, *aliases: str, name: str | None = None, listed: bool = True):
        """A decorator that registers a class or function under its name and ``aliases``.

        Args:
            *aliases: other names, e.g. Keras's ``"mse"`` for ``MeanSquaredError``.
            name: the main name, if not the object's ``__name__`` (Keras calls ``Adam`` ``"adam"``).
            listed: False keeps the names out of error messages (abstract base classes).

        Example:
            >>> LOSSES = Registry("loss")
            >>> @LOSSES.register("mse")
            ... def mean_squared_error(y_true, y_pred):
            ...     return (y_pred - y_true) ** 2
            >>> LOSSES.lookup("MSE") is mean_squared_error
            True
        """

        def add(obj):
            main = name or getattr(obj, "__name__", None) or getattr(obj, "name", None)
            if not isinstance(main, str):
                raise TypeError(f"Cannot register {obj!r} without a name; pass register(name='...').")
            for spelling in (main, *aliases):
                self._add(spelling, obj, listed)
            return obj

        return add

    def _add(self, spelling: str, obj, listed: bool) -> None:
        key = self._key(spelling)
        known = self._by_key.get(key)
        if known is not None and known is not obj and _place(known) != _place(obj):
            raise ValueError(f"The {self.family} name '{spelling}' is already registered for {known!r}; "
                             f"choose another name for {obj!r}.")
        self._by_key[key] = obj  # the same place again (a reloaded module) replaces the old object
        if listed:
            self._listed[spelling] = obj

    # ----- looking up -----------------------------------------------------------------------------------

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self._key(name) in self._by_key

    def names(self) -> list[str]:
        """The registered names shown in error messages, in registration order."""
        return list(self._listed)

    def as_dict(self) -> dict[str, object]:
        """``{name: object}`` for every listed name (a copy)."""
        return dict(self._listed)

    def find(self, name: str, custom_objects: Mapping | None = None):
        """The object ``name`` means, or None: ``custom_objects`` by exact name first, then the registry
        (ignoring case), then ``custom_objects`` ignoring case, then (with ``search_subclasses``) a subclass
        of ``base`` defined in this session.

        Raises:
            AmbiguousNameError: when several defined subclasses from different places have that name.
        """
        custom = dict(custom_objects or {})
        if name in custom:
            return custom[name]
        key = self._key(name)
        if key in self._by_key:
            return self._by_key[key]
        for custom_name, obj in custom.items():
            if self._key(custom_name) == key:
                return obj
        if self._search_subclasses:
            candidates = defined_subclasses(self.base).get(name.strip())
            if candidates:
                return pick_defined_class(name.strip(), candidates, self.family)
        return None

    def lookup(self, name: str, custom_objects: Mapping | None = None):
        """Like :meth:`find`, but an unknown name raises a ValueError with the nearest known name.

        Example:
            >>> from nbtrain.optimizers import OPTIMIZERS
            >>> OPTIMIZERS.lookup("ADAM").__name__
            'Adam'
        """
        found = self.find(name, custom_objects)
        if found is not None:
            return found
        if self._key(name) in self._reserved:
            raise ValueError(self._reserved[self._key(name)])
        known = [*self._listed, *(custom_objects or {})]
        if self._search_subclasses:
            known += list(defined_subclasses(self.base))
        raise unknown_name_error(self.family, name, known)

    # ----- identifiers, as the families' get() functions take them ------------------------------------

    def get(self, identifier):
        """Resolve what a user passed: None, an instance, a name, a config dict, a class, or whatever
        ``convert`` accepts. Names and classes are instantiated with their defaults.

        Example:
            >>> from nbtrain.regularizers import REGULARIZERS
            >>> REGULARIZERS.get("l2")
            L2(l2=0.01)
        """
        if identifier is None:
            return None
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            return _instance(self.lookup(identifier))
        if isinstance(identifier, Mapping):
            return self.deserialize(identifier)
        if self.base is not None and inspect.isclass(identifier) and issubclass(identifier, self.base):
            return identifier()
        converted = self._convert(identifier) if self._convert else None
        if converted is not None:
            return converted
        raise TypeError(f"Could not interpret {self.family} identifier {identifier!r} of type "
                        f"{type(identifier).__name__}. {self._expected}".rstrip())

    # ----- configs ----------------------------------------------------------------------------------------

    def serialize(self, obj) -> dict | None:
        """Keras's ``{"module", "class_name", "config"}`` for an instance of the family.

        Example:
            >>> from nbtrain.optimizers import OPTIMIZERS, SGD
            >>> OPTIMIZERS.serialize(SGD())["class_name"]
            'SGD'
        """
        if self.base is not None and not isinstance(obj, self.base):
            raise TypeError(f"serialize() expects {_article(self.base.__name__)} {self.base.__name__}; "
                            f"received {obj!r} ({type(obj).__name__}).")
        config = {"module": self.module or type(obj).__module__, "class_name": type(obj).__name__,
                  "config": obj.get_config()}
        if self._registered_name:
            config["registered_name"] = None
        return config

    def deserialize(self, config, custom_objects: Mapping | None = None):
        """The object a config describes: ``{"class_name": "MaxNorm", "config": {...}}``, Keras's
        ``{"class_name": "function", "config": name}``, a registered name, or None.

        Args:
            config: what :meth:`serialize` wrote (or Keras did).
            custom_objects: your own classes or functions by name, looked up first.

        Example:
            >>> from nbtrain.constraints import CONSTRAINTS
            >>> CONSTRAINTS.deserialize({"class_name": "MaxNorm", "config": {"max_value": 2}})
            MaxNorm(max_value=2.0, axis=0)
        """
        self._check_config(config)
        if config is None:
            return None
        if isinstance(config, str):
            return _instance(self.lookup(config, custom_objects))
        class_name, options = config["class_name"], config.get("config")
        if class_name == "function" and isinstance(options, str):
            return self._function(options, custom_objects)
        found = self.lookup(class_name, custom_objects)
        if inspect.isclass(found):
            return build_from_config(found, dict(options or {}), custom_objects)
        return self._configured(found, class_name, options)

    def _check_config(self, config) -> None:
        if config is None or isinstance(config, str):
            if not self._config_only:
                return
        elif isinstance(config, Mapping) and isinstance(config.get("class_name"), str):
            return
        example = f"{{'class_name': '{self._example_name()}', 'config': {{...}}}}"
        if self._config_only:
            raise TypeError(f"deserialize() expects a dict like {example}; received {config!r}.")
        raise ValueError(f"{_article(self.family).capitalize()} {self.family} config must be a dict like "
                         f"{example}, got {config!r}.")

    def _example_name(self) -> str:
        name, obj = next(iter(self._listed.items()), ("Name", None))
        return obj.__name__ if inspect.isclass(obj) else name

    def _function(self, name: str, custom_objects: Mapping | None):
        """Keras saves a plain function by name: a custom object, or a registered name."""
        try:
            return _instance(self.lookup(name, custom_objects))
        except ValueError as error:
            raise ValueError(f"{error} If '{name}' is your own function, pass it in "
                             f"custom_objects={{'{name}': fn}}.") from None

    def _configured(self, obj, name: str, options):
        """A registered object that is not a class, with options: ``obj.with_options(**options)``."""
        if not options:
            return obj
        if not callable(getattr(obj, "with_options", None)):
            raise ValueError(f"{self.family.capitalize()} '{name}' takes no options, got {dict(options)!r}.")
        return obj.with_options(**options)


def function_config(function) -> dict:
    """Keras's config of a plain function, saved by name: loading it needs ``custom_objects={name: function}``.

    Example:
        >>> function_config(len)["config"]
        'len'
    """
    name = getattr(function, "__name__", type(function).__name__)
    return {"module": getattr(function, "__module__", None), "class_name": "function", "config": name,
            "registered_name": name}


def build_from_config(cls: type, config: dict, custom_objects: Mapping | None = None):
    """``cls.from_config(config)``, passing ``custom_objects`` when it takes them; ``cls(**config)`` for a
    class without ``from_config``."""
    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return cls(**config)
    try:
        takes_custom = "custom_objects" in inspect.signature(from_config).parameters
    except (TypeError, ValueError):  # a builtin without a readable signature
        takes_custom = False
    return from_config(config, custom_objects=custom_objects) if takes_custom else from_config(config)


def defined_subclasses(base: type) -> dict[str, list[type]]:
    """Every public subclass of ``base`` defined so far in this session, by class name, oldest first."""
    found: dict[str, list[type]] = {}
    stack, seen = list(base.__subclasses__()), set()
    while stack:
        cls = stack.pop(0)
        if cls in seen:
            continue
        seen.add(cls)
        if not cls.__name__.startswith("_"):
            found.setdefault(cls.__name__, []).append(cls)
        stack.extend(cls.__subclasses__())
    return found


def pick_defined_class(class_name: str, candidates: list[type], what: str):
    """The one class a name means: a class redefined in the same place (a re-run notebook cell) counts once,
    the latest definition winning; classes of that name from different places are ambiguous."""
    places = list(dict.fromkeys(_place(c) for c in candidates))
    if len(places) == 1:
        return candidates[-1]
    raise AmbiguousNameError(
        f"Several {what} classes are named '{class_name}' ({', '.join(places)}); pass "
        f"custom_objects={{'{class_name}': {class_name}}} to choose one."
    )


def _place(obj) -> str:
    """Where an object was defined: ``module.QualifiedName`` (an instance without one is its own place)."""
    qualname = getattr(obj, "__qualname__", None)
    return f"{obj.__module__}.{qualname}" if qualname else f"<{id(obj)}>"


def _instance(found):
    """A class made with its defaults; anything else (a function, an activation) as it is."""
    return found() if inspect.isclass(found) else found


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
