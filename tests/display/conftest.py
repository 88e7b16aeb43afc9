"""Fixtures for the display tests; the helpers live in display_helpers.py (imported by name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from display_helpers import FakeClock  # noqa: E402


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def comm_counter(monkeypatch):
    """Counts the comm messages widgets send (each ``Widget._send`` is one ``comm_msg``)."""
    import ipywidgets

    sent = []
    original = ipywidgets.Widget._send

    def counting_send(self, msg, buffers=None):
        sent.append((type(self).__name__, msg.get("method"), sorted(msg.get("state", {}))))
        return original(self, msg, buffers)

    monkeypatch.setattr(ipywidgets.Widget, "_send", counting_send)
    return sent
