"""A shared base for small configurable objects (regularizers, constraints): config round trip and repr."""

from __future__ import annotations

import inspect


class Configurable:
    """``get_config``/``from_config`` over constructor arguments, and a ``Name(arg=value)`` repr.

    A subclass whose constructor takes arguments must implement ``get_config`` returning them, so a saved
    model can rebuild it; one without arguments needs nothing.
    """

    def get_config(self) -> dict:
        """The constructor arguments, so ``from_config`` rebuilds an equal object."""
        parameters = [p for p in inspect.signature(type(self).__init__).parameters
                      if p not in ("self", "args", "kwargs")]
        if not parameters:
            return {}
        raise NotImplementedError(
            f"{type(self).__name__} must implement get_config() (returning its constructor arguments "
            f"{parameters}) to be saved."
        )

    @classmethod
    def from_config(cls, config: dict):
        """Build the object from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            options = ""
        return f"{type(self).__name__}({options})"
