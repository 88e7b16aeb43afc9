"""A local HTTP server that serves fixture files, and a cache folder of its own for every test.

Nothing here reaches the internet: the server listens on 127.0.0.1 on a free port, serves only the bytes a
test registers, and is shut down when the test ends.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nbtrain.datasets import _download


class FixtureServer:
    """Serves registered bytes by file name and records every request path."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self.truncate = set()  # names whose transfer is cut halfway, Content-Length announcing the full size
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def count(self, name):
        return self.requests.count(name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                data = server.files.get(name)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if name in server.truncate:
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def server():
    fixture_server = FixtureServer()
    yield fixture_server
    fixture_server.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """NBTRAIN_HOME points at a fresh folder; returns the datasets cache folder inside it."""
    monkeypatch.setenv("NBTRAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBTRAIN_DATASETS_URL", raising=False)
    return tmp_path / "home" / "datasets"


@pytest.fixture
def serve(server, cache, monkeypatch):
    """``serve(name, data)`` publishes ``data`` as ``name`` and makes its sha256 the expected checksum."""
    monkeypatch.setenv("NBTRAIN_DATASETS_URL", server.url)

    def publish(name, data, checksum=None):
        server.files[name] = data
        monkeypatch.setitem(_download.CHECKSUMS, name, checksum or hashlib.sha256(data).hexdigest())
        return data

    return publish


@pytest.fixture
def unused_url():
    """The URL of a 127.0.0.1 port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder):
    """Every file in the folder, temp files included (an atomic download leaves none on failure)."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def files_in():
    return leftovers
