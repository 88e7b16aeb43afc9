"""Fixtures for the display tests; the helpers live in display_helpers.py (imported by name)."""

from __future__ import annotations

import os
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


@pytest.fixture
def comm_traffic(monkeypatch):
    """Every comm message of every kind (``comm_open``, ``comm_msg``, ``comm_close``), as ``(msg_type, model)``.

    Outside a kernel, widgets talk through ``comm.DummyComm``; its ``publish_msg`` is where a kernel's comm
    would put each message on the wire.
    """
    import comm

    sent = []
    original = comm.DummyComm.publish_msg

    def counting_publish(self, msg_type, data=None, *args, **kwargs):
        model = ((data or {}).get("state") or {}).get("_model_name", "")
        sent.append((msg_type, model))
        return original(self, msg_type, data, *args, **kwargs)

    monkeypatch.setattr(comm.DummyComm, "publish_msg", counting_publish)
    return sent


@pytest.fixture
def shots(tmp_path):
    """Where the browser tests save their screenshots: ``$NBTRAIN_SCREENSHOTS`` when set, else a tmp folder."""
    target = os.environ.get("NBTRAIN_SCREENSHOTS")
    path = Path(target) if target else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
