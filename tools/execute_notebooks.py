#!/usr/bin/env python
"""Re-execute the tutorial notebooks in place, so their saved outputs match the current nbtrain.

Every notebook runs top to bottom in a fresh kernel of *this* interpreter (the same one nbval's
``--nbval-current-env`` uses), in its own folder, with the environment the tests use
(``tests/notebooks/notebook_env.py``): one BLAS/OpenMP thread and OpenBLAS's Haswell kernels where the CPU has
them, ``PYTHONHASHSEED=0``, no ``MPLBACKEND`` (the kernel picks the inline backend), no ``NBTRAIN_PROGRESS`` override,
and an empty ``NBTRAIN_HOME`` (so ``09_mnist_mlp`` takes its bundled-digits path, as in CI and on Binder).
Saved widget state and per-cell timing metadata are not written, so outputs are the only thing that changes.
For each notebook it prints the wall time (kernel start included) and the kernel's peak memory.

A notebook file is rewritten only when its outputs changed beyond what ``tests/notebooks/sanitize.cfg`` masks
(timings, addresses, plot bytes, digits past the second decimal of long numbers), so running the script twice
leaves ``git diff`` empty; ``--force`` rewrites anyway, and ``--check`` writes nothing and exits 1 when a
notebook's outputs are stale.

Usage (from the repository root):
    python tools/execute_notebooks.py                       # every notebooks/NN_*.ipynb
    python tools/execute_notebooks.py notebooks/03_fit.ipynb
    python tools/execute_notebooks.py --check               # CI-style: are the saved outputs current?
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = ROOT / "tests" / "notebooks" / "sanitize.cfg"
CELL_TIMEOUT = 300          # seconds per cell; a tutorial notebook takes well under 60 s in total
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def tutorial_notebooks() -> list[Path]:
    """``notebooks/01_*.ipynb`` ... in order (checkpoints and scratch notebooks without a number excluded)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _notebook_env():
    """The tests' rules for the notebooks' environment (tests/notebooks/notebook_env.py), shared with them."""
    spec = importlib.util.spec_from_file_location("notebook_env", ROOT / "tests" / "notebooks" / "notebook_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pin_environment(env: dict, nbtrain_home: str) -> dict:
    """The environment the kernels inherit: threads pinned, overrides removed, an empty data set cache."""
    env = _notebook_env().pinned(env)
    env["NBTRAIN_HOME"] = nbtrain_home
    return env


def sanitize_patterns(path: Path = SANITIZE) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs, parsed exactly as nbval parses its ``--nbval-sanitize-with`` file."""
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, re.M)


def comparable_outputs(nb, patterns) -> list:
    """What nbval compares, per code cell: each stream's text concatenated (chunking varies between runs), and
    every other output's MIME values in order, without images and widget views, after the sanitize rules."""
    skipped = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}

    def clean(text):
        for regex, replacement in patterns:
            text = re.sub(regex, replacement, text)
        return text

    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        flat = {}
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                flat[output["name"]] = flat.get(output["name"], "") + output["text"]
            elif output["output_type"] == "error":
                flat.setdefault("error", []).append(f"{output['ename']}: {output['evalue']}")
            else:
                for mime, value in output.get("data", {}).items():
                    if mime not in skipped:
                        flat.setdefault(mime, []).append(value if isinstance(value, str) else repr(value))
        cells.append({key: clean(value) if isinstance(value, str) else [clean(v) for v in value]
                      for key, value in flat.items()})
    return cells


def tidy_metadata(nb) -> None:
    """No saved widget state, the standard kernelspec, no per-cell execution timestamps."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("transient", None)


def _kernel_manager():
    """A kernel manager whose ``python3`` kernel is this interpreter (what nbval's --nbval-current-env does),
    whatever kernelspecs the user has installed."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=CurrentInterpreter())


MEMORY_PROBE = """\
try:
    import resource, sys
    _peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(_peak / 2**20 if sys.platform == "darwin" else _peak / 2**10)
except ImportError:
    print("nan")
"""


def execute(path: Path):
    """Run one notebook in a fresh kernel; returns (executed notebook, wall seconds, kernel peak memory in MiB).

    A probe cell appended for the run (and removed before saving) reads the kernel's peak resident memory.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEMORY_PROBE, id="memory-probe"))
    client = NotebookClient(nb, km=_kernel_manager(), timeout=CELL_TIMEOUT, store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    probe = nb.cells.pop()
    try:
        peak = float(probe.outputs[0]["text"])
    except (IndexError, KeyError, ValueError):
        peak = float("nan")
    return nb, seconds, peak


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--force", action="store_true", help="rewrite even when only masked values changed")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if saved outputs are stale")
    args = parser.parse_args(argv)

    import nbformat

    paths = [p.resolve() for p in args.notebooks] or tutorial_notebooks()
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 2
    patterns = sanitize_patterns()
    stale, failed, total = [], [], 0.0
    with tempfile.TemporaryDirectory(prefix="nbtrain-home-") as home:
        pinned = pin_environment(dict(os.environ), home)
        os.environ.clear()
        os.environ.update(pinned)  # kernels inherit this process's environment
        for path in paths:
            before = nbformat.read(path, as_version=4)
            try:
                nb, seconds, peak = execute(path)
            except Exception as error:  # CellExecutionError carries the traceback of the failing cell
                print(f"FAILED  {path.name}\n{error}", file=sys.stderr, flush=True)
                failed.append(path.name)
                continue
            total += seconds
            tidy_metadata(nb)
            changed = comparable_outputs(nb, patterns) != comparable_outputs(before, patterns)
            if changed:
                stale.append(path.name)
            if args.check:
                status = "STALE" if changed else "ok"
            elif changed or args.force or _metadata_differs(before, nb):
                nbformat.validate(nb)
                nbformat.write(nb, path)
                status = "written" if changed or args.force else "metadata"
            else:
                status = "unchanged"
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"{seconds:6.1f} s  {peak:6.0f} MiB  {status:9}  {name}", flush=True)
    print(f"{total:6.1f} s  total for {len(paths)} notebook(s)")
    if failed:
        print("failed (left unchanged): " + ", ".join(failed), file=sys.stderr)
        return 1
    if args.check and stale:
        print("stale outputs: " + ", ".join(stale) + "  (run python tools/execute_notebooks.py)", file=sys.stderr)
        return 1
    return 0


def _metadata_differs(before, after) -> bool:
    """Saved widget state, a different kernelspec, timing metadata left in the file, or execution counts other
    than this run's (a cell added or removed leaves a gap that sanitized outputs do not show): worth a rewrite."""
    tidied = copy.deepcopy(before)
    tidy_metadata(tidied)
    return tidied != before or any(
        cell.get("execution_count") != other.get("execution_count")
        for cell, other in zip(before.cells, after.cells) if cell.cell_type == "code")


if __name__ == "__main__":
    sys.exit(main())
