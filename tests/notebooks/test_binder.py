"""Binder: the binder/ folder follows repo2docker's rules, and a fresh environment built only from
binder/requirements.txt runs every tutorial notebook through nbval with outputs compared.

The lint tests are instant and always run. The fresh-environment test mimics what mybinder.org does (repo2docker:
copy the repository, ``pip install -r binder/requirements.txt`` from its root, start with ``binder/start``) in a
throw-away venv, then adds only the test tools (nbval, pytest, ipykernel; Binder's base image provides Jupyter).
It needs PyPI and takes one to three minutes, so it can be skipped locally with ``NBTRAIN_SKIP_BINDER_CHECK=1``;
in CI (``CI`` set) it always runs.

What this cannot check without Docker: Binder's conda-forge Python instead of this machine's, the base image's
own packages, apt.txt. The real proof stays the Binder build itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from notebook_env import PINNED_ENV, pinned

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE_RELATIVE = Path("tests") / "notebooks" / "sanitize.cfg"
UNSET_ENV = ("MPLBACKEND", "NBTRAIN_PROGRESS", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "VIRTUAL_ENV",
             "PIP_REQUIRE_VIRTUALENV")
# Binder's base image provides the Jupyter server; pinning any of these in requirements.txt replaces it.
SERVER_PACKAGES = ("jupyterlab", "notebook", "jupyter_server", "jupyter-server", "jupyterhub", "nbclassic",
                   "jupyter", "jupyter_core", "jupyter-core")
# Files that make repo2docker ignore requirements.txt (or everything else) when they sit in binder/.
OVERRIDING_FILES = ("environment.yml", "environment.yaml", "Pipfile", "Pipfile.lock", "Dockerfile", "Project.toml",
                    "REQUIRE", "default.nix", "install.R", "DESCRIPTION")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                     ".pytest_cache", ".ipynb_checkpoints")


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def requirement_name(line: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0].lower()


# ---------------------------------------------------------------------------------------------------------------
# static lint of binder/ (no network, instant)
# ---------------------------------------------------------------------------------------------------------------

def test_one_binder_folder_and_no_overriding_files():
    assert BINDER.is_dir(), "binder/ is missing"
    assert not (ROOT / ".binder").exists(), "binder/ and .binder/ both exist: repo2docker refuses that"
    overriding = [name for name in OVERRIDING_FILES if (BINDER / name).exists()]
    assert not overriding, f"{overriding} in binder/ would make repo2docker ignore requirements.txt"
    ignored_at_root = [name for name in ("requirements.txt", "environment.yml", "runtime.txt", "postBuild", "start")
                       if (ROOT / name).exists()]
    assert not ignored_at_root, f"{ignored_at_root} at the root are ignored once binder/ exists; move them there"


def test_requirements_install_the_repository_and_leave_the_server_alone():
    lines = requirement_lines()
    assert "." in lines, "binder/requirements.txt must install nbtrain from the repository with a '.' line"
    assert not any(line.startswith("-e") for line in lines), "use '.', not '-e .' (Binder builds an image)"
    server = [line for line in lines if requirement_name(line) in SERVER_PACKAGES]
    assert not server, f"{server}: Binder's base image provides the Jupyter server; do not install or pin it"
    widgets = [line for line in lines if requirement_name(line) == "ipywidgets"]
    assert all(re.search(r"==\s*8|>=\s*8", line) for line in widgets), (
        "ipywidgets must stay at 8.x to match JupyterLab 4's widget manager")


def test_runtime_names_a_python_version():
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"python-3\.\d+", text), f"binder/runtime.txt should read like 'python-3.11', got {text!r}"


def _check_script(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = []
    if not text.startswith("#!"):
        problems.append("has no shebang line")
    if not os.access(path, os.X_OK):
        problems.append("is not executable (chmod +x; git keeps the bit)")
    if "\r" in text:
        problems.append("has CRLF line endings")
    return problems


def test_start_script_pins_threads_and_hands_over():
    start = BINDER / "start"
    assert start.exists(), "binder/start is missing"
    assert not _check_script(start), f"binder/start {_check_script(start)}"
    code = [line.strip() for line in start.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]
    assert code[-1] == 'exec "$@"', "binder/start must end with exec \"$@\" or Binder never starts JupyterLab"
    for name in PINNED_ENV:
        assert any(re.search(rf"\b{name}=", line) for line in code), f"binder/start does not set {name}"


def test_post_build_only_if_sound():
    post_build = BINDER / "postBuild"
    if not post_build.exists():
        return  # not needed: everything installs from requirements.txt
    assert not _check_script(post_build), f"binder/postBuild {_check_script(post_build)}"
    assert re.search(r"^set -e", post_build.read_text(encoding="utf-8"), re.M), (
        "binder/postBuild needs 'set -e': repo2docker does not stop the build on a failing command otherwise")


def test_readme_badge_opens_the_quickstart():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "mybinder.org" not in readme:
        pytest.skip("README.md has no Binder badge yet")
    assert re.search(r"https://mybinder\.org/v2/gh/[^/\s]+/[^/\s]+/[^?\s]+\?urlpath=lab/tree/notebooks/"
                     r"01_quickstart\.ipynb", readme), "the Binder badge should open lab/tree/notebooks/01_quickstart.ipynb"


# ---------------------------------------------------------------------------------------------------------------
# a fresh venv from binder/requirements.txt only, then nbval on every notebook
# ---------------------------------------------------------------------------------------------------------------

def _skip_reason() -> str | None:
    if os.environ.get("CI"):
        return None
    if os.environ.get("NBTRAIN_SKIP_BINDER_CHECK", "") not in ("", "0"):
        return "NBTRAIN_SKIP_BINDER_CHECK is set"
    return None


def _binder_python() -> str:
    """The interpreter binder/runtime.txt asks for, when this machine has it; else the one running the tests."""
    version = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip().removeprefix("python-")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return shutil.which(f"python{version}") or sys.executable


def _run(command, cwd, env, timeout, what):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = (result.stdout + result.stderr)[-8000:]
    assert result.returncode == 0, f"{what} failed (exit {result.returncode}):\n{output}"
    return result


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_fresh_binder_environment_runs_every_notebook(tmp_path):
    """repo2docker in miniature: copy the repository, install binder/requirements.txt from its root, run nbval."""
    started = time.perf_counter()
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)           # the build must not write into the working tree
    venv = tmp_path / "venv"
    env = {key: value for key, value in os.environ.items() if key not in UNSET_ENV}
    _run([_binder_python(), "-m", "venv", str(venv)], repo, env, 120, "creating the venv")
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-r", "binder/requirements.txt"], repo, env, 600, "pip install -r binder/requirements.txt")
    _run([*pip, "nbval", "pytest", "ipykernel"], repo, env, 600, "installing the test tools")
    _run([python, "-m", "pip", "check"], repo, env, 120, "pip check")
    # the kernel must import the installed nbtrain, not the copied source tree
    where = _run([python, "-c", "import nbtrain, pathlib; print(pathlib.Path(nbtrain.__file__).resolve())"],
                 tmp_path, env, 60, "importing nbtrain").stdout.strip()
    assert str(venv) in where, f"nbtrain was imported from {where}, not from the Binder venv"
    installed = time.perf_counter() - started

    env = pinned(env, UNSET_ENV)
    env["NBTRAIN_HOME"] = str(tmp_path / "nbtrain-home")      # empty cache: 09_mnist_mlp uses the bundled digits
    notebooks = [str(Path("notebooks") / path.name) for path in NOTEBOOKS]
    command = ["bash", "binder/start", python, "-m", "pytest", "--nbval", *notebooks,
               "--nbval-sanitize-with", str(SANITIZE_RELATIVE), "--nbval-current-env", "--nbval-cell-timeout", "120",
               "-p", "no:cacheprovider", "-q", "--color=no"]
    result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    report = (result.stdout + result.stderr)[-12000:]
    assert result.returncode == 0, f"nbval in the Binder venv failed:\n{report}"
    assert re.search(r"\d+ passed", result.stdout) and " failed" not in result.stdout, report
    print(f"Binder venv: installed in {installed:.0f} s, "
          f"nbval on {len(notebooks)} notebooks in {time.perf_counter() - started - installed:.0f} s")
