"""The launcher behind the README's first command: it finds the notebooks, opens the quick start directly, prints
its URL, passes arguments on to JupyterLab, and leaves no Jupyter process behind when it is stopped."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from nbtrain import tutorials

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_finds_the_notebooks_from_anywhere_in_the_checkout():
    assert tutorials.find_notebooks(ROOT / "tests" / "models") == NOTEBOOKS
    assert tutorials.find_notebooks(Path("/")) is None


def test_an_installed_package_finds_the_notebooks_through_the_current_directory(tmp_path):
    wheel_install = tmp_path / "site-packages" / "nbtrain"   # a wheel holds only the library
    assert tutorials.locate_notebooks(ROOT / "tests", wheel_install) == NOTEBOOKS
    assert tutorials.locate_notebooks(tmp_path, wheel_install) is None
    # an editable install, or any install into a virtual environment inside the checkout, works from anywhere
    assert tutorials.locate_notebooks(tmp_path, ROOT / "nbtrain") == NOTEBOOKS
    venv_install = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "nbtrain"
    assert tutorials.locate_notebooks(tmp_path, venv_install) == NOTEBOOKS


def test_without_a_checkout_it_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tutorials, "__file__", str(tmp_path / "site-packages" / "nbtrain" / "tutorials.py"))
    assert tutorials.main([]) == 2
    message = capsys.readouterr().err
    assert str(tmp_path) in message and "site-packages" in message
    assert "run this command from inside a clone of the nbtrain repository" in message


def test_command_serves_the_notebooks_with_the_quickstart_as_landing_page():
    command = tutorials.jupyter_lab_command(NOTEBOOKS, ["--no-browser", "--port", "8888"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={NOTEBOOKS}" in command
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in command
    # the user's arguments come after the defaults, in order, so that they win
    start = command.index("--no-browser")
    assert command[start:start + 3] == ["--no-browser", "--port", "8888"]
    assert start > command.index(f"--ServerApp.root_dir={NOTEBOOKS}")


def test_help_documents_headless_and_remote_use_and_starts_nothing(capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", None)   # starting anything would fail
    assert tutorials.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "python -m nbtrain.tutorials --no-browser --port 8888" in text
    assert "ssh -N -L 8888:localhost:8888" in text and "01_quickstart.ipynb" in text


class FakeServer:
    """Stands in for the Jupyter server's Popen: running until ``exit_after`` polls."""

    def __init__(self, pid=4321, exit_after=None):
        self.pid, self.polls, self.exit_after = pid, 0, exit_after

    def poll(self):
        self.polls += 1
        return 0 if self.exit_after is not None and self.polls > self.exit_after else None


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_waits_for_the_servers_runtime_file_and_reads_its_url(tmp_path):
    clock, server = FakeClock(), FakeServer()
    info = {"pid": server.pid, "url": "http://localhost:8890/", "token": "t0k"}

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now > 3:   # the server writes its runtime file after 3 s
            (tmp_path / f"jpserver-{server.pid}.json").write_text(json.dumps(info))
    (tmp_path / "jpserver-99.json").write_text(json.dumps({**info, "pid": 99}))   # another server's
    found = tutorials.wait_for_server_info(server, tmp_path, timeout=60, clock=clock, sleep=sleep)
    assert found == info and 3 < clock.now < 3.5
    assert tutorials.direct_url(found) == "http://localhost:8890/lab/tree/01_quickstart.ipynb?token=t0k"


def test_stops_waiting_when_the_server_exits_or_stays_silent(tmp_path):
    clock = FakeClock()
    (tmp_path / "jpserver-4321.json").write_text('{"pid": 43')   # half-written: read again later
    assert tutorials.wait_for_server_info(FakeServer(exit_after=5), tmp_path, timeout=60,
                                          clock=clock, sleep=clock.sleep) is None
    assert clock.now < 1
    clock = FakeClock()
    assert tutorials.wait_for_server_info(FakeServer(), tmp_path, timeout=60, clock=clock, sleep=clock.sleep) is None
    assert 60 <= clock.now < 60.5


# -- a real JupyterLab, started by the launcher and stopped by a signal ------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_marked(marker: str) -> list[int]:
    """Every process whose environment carries ``marker``: the launcher, its server and the server's kernels."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:   # gone meanwhile, or another user's
                pass
    return found


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_lines_into(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def printed_url(lines: queue.Queue, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line.strip().startswith("http"):
            return line.strip()
    raise AssertionError(f"the launcher printed no URL within {timeout:.0f} s")


def http(url: str, token: str, data: bytes | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """One request; refused connections are retried for ``timeout`` seconds, because Jupyter writes the runtime
    file the launcher reads its URL from a moment before it starts listening."""
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.URLError as error:
            refused = isinstance(error.reason, ConnectionRefusedError)
            if not refused or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_launcher(tmp_path: Path, port: int, marker: str, log) -> subprocess.Popen:
    jupyter = tmp_path / "jupyter"   # no user config, settings or runtime files from this machine
    env = dict(os.environ, PYTHONPATH=str(ROOT), NBTRAIN_LAUNCHER_TEST=marker,
               JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"))
    command = [sys.executable, "-m", "nbtrain.tutorials", "--no-browser", "--port", str(port),
               "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    # its own process group, as a terminal's foreground job: Ctrl+C there is SIGINT to the whole group
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                            stderr=log, start_new_session=True)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the processes it left through /proc")
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl+C"])
def test_a_stopped_launcher_leaves_no_jupyter_process(tmp_path, how):
    pytest.importorskip("jupyterlab")
    marker = f"nbtrain-launcher-{uuid.uuid4().hex}"
    port = free_port()
    with open(tmp_path / "launcher.log", "w") as log:
        launcher = start_launcher(tmp_path, port, marker, log)
    try:
        lines = queue.Queue()
        threading.Thread(target=read_lines_into, args=(launcher.stdout, lines), daemon=True).start()
        url = printed_url(lines, timeout=90)
        parts = urllib.parse.urlparse(url)
        assert (parts.port, parts.path) == (port, "/lab/tree/01_quickstart.ipynb")
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        assert http(url, token)[0] == 200
        # the page Jupyter opens in the browser (without --no-browser) goes to the quick start too
        opener = next((tmp_path / "jupyter" / "runtime").glob("jpserver-*-open.html")).read_text()
        assert f"/lab/tree/01_quickstart.ipynb?token={token}" in opener
        status, body = http(f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?content=0", token)
        assert status == 200 and json.loads(body)["type"] == "notebook"
        http(f"http://127.0.0.1:{port}/api/kernels", token, data=b"{}")   # a kernel must be stopped too
        wait_until(lambda: len(processes_marked(marker)) >= 3, 60, "the launcher, its server and a kernel")

        if how == "SIGTERM":
            launcher.send_signal(signal.SIGTERM)
        else:
            os.killpg(launcher.pid, signal.SIGINT)
        exit_code = launcher.wait(timeout=40)
        wait_until(lambda: not processes_marked(marker), 10, "every Jupyter process to exit")
        assert exit_code == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)   # the shell convention
    finally:
        for pid in processes_marked(marker):   # a failing test must not leave servers behind either
            os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.wait(timeout=10)


def test_the_readme_and_the_notebooks_extra_match_the_launcher():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -q -e ".[notebooks]" && .venv/bin/python -m nbtrain.tutorials' in readme
    assert "python -m nbtrain.tutorials --no-browser --port 8888" in readme
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = [requirement.replace(" ", "") for requirement in project["optional-dependencies"]["notebooks"]]
    assert "jupyterlab>=4.0" in extra and "notebook>=7" in extra   # the README and the tests support both
