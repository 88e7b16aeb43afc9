"""``python -m nbtrain.tutorials``: open the first tutorial notebook in JupyterLab.

It starts JupyterLab on the ``notebooks/`` folder with ``01_quickstart.ipynb`` as its landing page, prints the
notebook's direct URL (with the server's token, as ``jupyter server list`` prints it) and stops the server, and so
its kernels, on Ctrl+C, SIGTERM or SIGHUP. Every other argument goes on to JupyterLab; for a headless or remote
machine::

    python -m nbtrain.tutorials --no-browser --port 8888

The notebooks are part of the repository, not of the installed package: they are found above the current
directory, or above the installed ``nbtrain`` package (an editable install, or a virtual environment inside the
checkout).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

FIRST_NOTEBOOK = "01_quickstart.ipynb"
FIRST_NOTEBOOK_PATH = f"/lab/tree/{FIRST_NOTEBOOK}"  # under the server's base URL; the server's root is notebooks/
STOP_GRACE_SECONDS = 20.0  # Jupyter shuts its kernels down before it exits; past this it is killed
ANNOUNCE_TIMEOUT_SECONDS = 120.0  # a cold start on a busy laptop can take a minute
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl+C, kill / a process manager, a closed terminal

HELP = f"""\
usage: python -m nbtrain.tutorials [JUPYTERLAB OPTIONS]

Open nbtrain's first tutorial, notebooks/{FIRST_NOTEBOOK}, in JupyterLab and print its direct URL.
Ctrl+C (or SIGTERM) stops the server and its kernels.

Every argument is passed on to JupyterLab, for example:
  --no-browser   do not open a browser; open the printed URL yourself
  --port 8888    serve on this port (Jupyter tries the next free one if it is taken)
  --ip 0.0.0.0   listen on every network interface, not only this machine (anyone who has the URL's
                 token can run code: prefer an SSH tunnel)

Headless or on a remote machine:
  python -m nbtrain.tutorials --no-browser --port 8888
  then, on your own computer, forward the port and open the printed URL in your browser:
  ssh -N -L 8888:localhost:8888 you@remote-machine

All of JupyterLab's options: python -m jupyterlab --help-all
"""


class StopRequested(Exception):
    """A stop signal (Ctrl+C, SIGTERM, SIGHUP) reached the launcher."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__("Ctrl+C" if name == "SIGINT" else name)
        self.signum = signum


def find_notebooks(start: Path) -> Path | None:
    """The ``notebooks/`` folder of the checkout containing ``start``, or None."""
    for folder in [start, *start.parents]:
        candidate = folder / "notebooks" / FIRST_NOTEBOOK
        if candidate.is_file():
            return candidate.parent
    return None


def locate_notebooks(cwd: Path, package_dir: Path) -> Path | None:
    """The tutorials of the checkout around ``cwd``, else of the checkout around the installed package.

    A wheel holds only the library, so an installed nbtrain finds the notebooks through the current directory;
    an editable install, or any install into a virtual environment inside the checkout, also finds them
    from anywhere through its own location.
    """
    return find_notebooks(cwd) or find_notebooks(package_dir)


def jupyter_lab_command(notebooks: Path, extra: list[str]) -> list[str]:
    """The JupyterLab command serving ``notebooks`` with the first tutorial as its landing page.

    ``extra`` comes last so that the user's own options win over these defaults.
    """
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}",
               f"--LabApp.default_url={FIRST_NOTEBOOK_PATH}", *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # containers and CI machines often run as root; Jupyter refuses otherwise
    return command


def direct_url(server_info: dict) -> str:
    """The first tutorial's URL from a server's runtime information (``jpserver-<pid>.json``).

    Args:
        server_info: what Jupyter writes for ``jupyter server list``: ``url`` (with the base URL) and ``token``.

    >>> direct_url({"url": "http://localhost:8888/", "token": "abc"})
    'http://localhost:8888/lab/tree/01_quickstart.ipynb?token=abc'
    >>> direct_url({"url": "http://localhost:8888/base/", "token": ""})  # a password instead of a token
    'http://localhost:8888/base/lab/tree/01_quickstart.ipynb'
    """
    url = server_info["url"].rstrip("/") + FIRST_NOTEBOOK_PATH
    token = server_info.get("token")
    return f"{url}?token={token}" if token else url


def read_server_info(runtime_dir: Path, pid: int) -> dict | None:
    """The runtime information the Jupyter server ``pid`` wrote once it was listening, or None (not yet)."""
    try:
        info = json.loads((runtime_dir / f"jpserver-{pid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written yet, or caught half-written
        return None
    return info if info.get("pid") == pid else None


def wait_for_server_info(server: subprocess.Popen, runtime_dir: Path, timeout: float = ANNOUNCE_TIMEOUT_SECONDS,
                         clock=time.monotonic, sleep=time.sleep) -> dict | None:
    """Poll for the server's runtime information; None if it exits first or says nothing within ``timeout``."""
    deadline = clock() + timeout
    while server.poll() is None and clock() < deadline:
        info = read_server_info(runtime_dir, server.pid)
        if info is not None:
            return info
        sleep(0.1)
    return None


def announce(url: str, out=sys.stdout) -> None:
    """Print the direct URL where it stands out from Jupyter's own log lines."""
    print(f"\nnbtrain tutorials: open the quick start at\n    {url}\n"
          "Stop the server, and its kernels, with Ctrl+C.\n", file=out, flush=True)


@contextlib.contextmanager
def stop_signals_raise():
    """Make the first stop signal raise :class:`StopRequested`; ignore later ones while the server stops.

    Python's defaults would let SIGTERM and SIGHUP end the launcher at once, leaving Jupyter running orphaned;
    and a second Ctrl+C must not cut short the graceful stop that shuts the kernels down.
    """
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise StopRequested(signum)

    signums = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, request_stop) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop_server(server: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop the server if it still runs: SIGTERM (it shuts its kernels down and exits), SIGKILL after ``grace``."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        server.kill()  # its kernels notice their parent is gone and exit (ipykernel's parent poller)
        server.wait()


def serve(command: list[str], cwd: Path, runtime_dir: Path, out=sys.stdout) -> int:
    """Run the Jupyter server until it exits or the launcher is asked to stop; never leave it running.

    Returns the server's exit code, or 128 + the signal number when a signal stopped it (the shell convention).
    """
    with stop_signals_raise():
        server = None
        try:
            # Its own session: a Ctrl+C in the terminal reaches only the launcher, which stops the server
            # itself, instead of also starting Jupyter's "Shut down this server (y/[n])?" prompt.
            server = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)
            info = wait_for_server_info(server, runtime_dir)
            if info is not None:
                announce(direct_url(info), out)
            return server.wait()
        except StopRequested as stop:
            print(f"\n{stop}: stopping the Jupyter server and its kernels...", file=out, flush=True)
            return 128 + stop.signum
        finally:
            if server is not None:
                stop_server(server)


def main(argv=None) -> int:
    """Find the tutorials and serve them until JupyterLab exits or a stop signal arrives; returns the exit code.

    Args:
        argv: the arguments for JupyterLab (default: the command line's); ``-h``/``--help`` prints the launcher's
            own help instead.
    """
    extra = list(sys.argv[1:] if argv is None else argv)
    if "-h" in extra or "--help" in extra:
        print(HELP, end="")
        return 0
    notebooks = locate_notebooks(Path.cwd(), Path(__file__).resolve().parent)
    if notebooks is None:
        print(f"Could not find the tutorial notebooks (notebooks/{FIRST_NOTEBOOK}) above {Path.cwd()} or above "
              f"the installed package ({Path(__file__).resolve().parent}). They are part of the repository, not of "
              "the installed package: run this command from inside a clone of the nbtrain repository.",
              file=sys.stderr)
        return 2
    try:
        import jupyterlab  # noqa: F401
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        print("JupyterLab is not installed. Install the notebook extra: pip install -e \".[notebooks]\"",
              file=sys.stderr)
        return 2
    print(f"Starting JupyterLab on {notebooks} (Ctrl+C to stop it).", flush=True)
    return serve(jupyter_lab_command(notebooks, extra), notebooks, Path(jupyter_runtime_dir()))


if __name__ == "__main__":
    sys.exit(main())
