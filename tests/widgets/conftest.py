"""The widget tests reuse the display tests' helpers (fake clock, comm counters, screenshot folder)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "display"))

from conftest import clock, comm_traffic, shots  # noqa: E402,F401  (fixtures shared with tests/display)
