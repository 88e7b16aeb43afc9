"""``python -m nbtrain.tutorials``: open the tutorial notebooks in JupyterLab.

Run it from a checkout of the repository (the notebooks live in ``notebooks/``). Extra arguments go to
``jupyter lab`` (for example ``--port 8889`` or ``--no-browser``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIRST_NOTEBOOK = "01_quickstart.ipynb"


def find_notebooks(start: Path) -> Path | None:
    """The ``notebooks/`` folder of the checkout containing ``start`` (or the current directory)."""
    for folder in [start, *start.parents]:
        candidate = folder / "notebooks" / FIRST_NOTEBOOK
        if candidate.is_file():
            return candidate.parent
    return None


def jupyter_lab_command(notebooks: Path, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "jupyterlab", str(notebooks / FIRST_NOTEBOOK), *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # containers and CI machines often run as root; Jupyter refuses otherwise
    return command


def main(argv=None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    notebooks = find_notebooks(Path.cwd()) or find_notebooks(Path(__file__).resolve().parent)
    if notebooks is None:
        print("Could not find the tutorial notebooks (notebooks/01_quickstart.ipynb). Run this from a checkout of "
              "the nbtrain repository.", file=sys.stderr)
        return 2
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("JupyterLab is not installed. Install the notebook extra: pip install -e \".[notebooks]\"",
              file=sys.stderr)
        return 2
    print(f"Opening {notebooks / FIRST_NOTEBOOK} in JupyterLab (Ctrl+C to stop the server).")
    return subprocess.call(jupyter_lab_command(notebooks, extra), cwd=notebooks.parent)


if __name__ == "__main__":
    sys.exit(main())
