"""The widget tests share the display tests' fixtures (fake clock, comm counters, screenshot folder) and helpers
(``tests/display`` is put on the path for ``display_helpers``, ``test_notebook_run`` and ``test_browser``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

DISPLAY_TESTS = Path(__file__).parents[1] / "display"
sys.path.insert(0, str(DISPLAY_TESTS))

# loaded under a name of its own: a plain "import conftest" could find another test folder's conftest
_spec = importlib.util.spec_from_file_location("nbtrain_display_test_fixtures", DISPLAY_TESTS / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
clock, comm_traffic, shots = _fixtures.clock, _fixtures.comm_traffic, _fixtures.shots
