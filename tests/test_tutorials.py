"""The launcher behind the README's first command finds the notebooks and builds the JupyterLab command."""

import sys
from pathlib import Path

from nbtrain import tutorials

ROOT = Path(__file__).resolve().parents[1]


def test_finds_the_notebooks_from_anywhere_in_the_checkout():
    assert tutorials.find_notebooks(ROOT / "tests" / "models") == ROOT / "notebooks"
    assert tutorials.find_notebooks(Path("/")) is None


def test_command_opens_the_quickstart_with_extra_arguments():
    command = tutorials.jupyter_lab_command(ROOT / "notebooks", ["--no-browser"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert command[3].endswith("notebooks/01_quickstart.ipynb") and "--no-browser" in command
