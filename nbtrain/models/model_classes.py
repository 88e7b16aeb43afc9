"""Every model class by name, for loading saved models: the ``MODELS`` registry.

Loading a saved model turns the class name in the file (``"Sequential"``) back into a class. The saving code
cannot import ``nbtrain.models`` to find it, because models import the saving code (``Model.save``). So the
registry lives here, below both: ``model.py``, ``sequential.py`` and ``functional.py`` register their classes
where they are defined, and ``model.py`` makes ``Model`` the base that user subclasses are searched under.
"""

from __future__ import annotations

from nbtrain.utils.registry import Registry

MODELS = Registry("model", search_subclasses=True)
"""Every built-in model class by name (``"Sequential"``, ``"Functional"``); a model class of yours is found by
its name too (a subclass of ``Model`` defined in this session), or through ``custom_objects``."""
