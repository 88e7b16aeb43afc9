"""The tutorial notebooks run top to bottom and reproduce their saved outputs (nbval, outputs compared).

One nbval run covers all notebooks (a subprocess, started once per test session by a fixture)::

    python -m pytest --nbval notebooks/NN_*.ipynb --nbval-sanitize-with tests/notebooks/sanitize.cfg \
        --nbval-current-env -p no:cacheprovider --junitxml=...

and one test case per notebook reads that run's JUnit report, so a failure names the notebook and shows nbval's
diff for its cells. (One subprocess per notebook would cost a pytest start-up, about 4 s, per notebook.)

The environment is pinned the way the saved outputs were made (``tools/execute_notebooks.py``, with the rules in
``notebook_env.py``): one BLAS/OpenMP thread, OpenBLAS's Haswell kernels where the CPU has them,
``PYTHONHASHSEED=0``, no ``MPLBACKEND`` (the kernel picks the inline backend), no ``NBTRAIN_PROGRESS`` override, and
an empty ``NBTRAIN_HOME`` so that ``09_mnist_mlp`` takes its offline path (the bundled digits) even on a machine
whose cache holds MNIST.

``--nbval`` compares every output except images and widget views; the sanitize file masks timings, rates,
addresses and inline PNG bytes, and compares numbers printed with 4+ decimals to 2 decimals. When a notebook or
nbtrain changes on purpose, regenerate the saved outputs with ``python tools/execute_notebooks.py`` and review
the diff.

Static checks (no kernel): the fourteen notebooks exist, were saved fully executed in order, with the python3
kernelspec, without widget state, errors, stderr or machine-specific paths in their outputs; what learners read is
free of maintainer markers (nbval is steered by cell tags) and of code lines that scroll sideways; and no cell plots
a history again right after the fit whose record already shows that plot. The nbval run also checks that one fit
of the series lasts long enough to watch the live plot grow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from notebook_env import pinned

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
SANITIZE = Path(__file__).resolve().with_name("sanitize.cfg")
EXPECTED = ["01_quickstart", "02_compile", "03_fit", "04_regression", "05_classification", "06_data_generators",
            "07_sequences", "08_multi_output", "09_mnist_mlp", "10_common_mistakes", "11_convolutions",
            "12_playground", "13_experiments", "14_custom_code"]
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TIME_LIMIT = 60.0            # seconds per notebook, kernel start included (issue 6: under 60 s on one core)
SUBPROCESS_TIMEOUT = 900     # all notebooks; a hung cell is interrupted by nbval after --nbval-cell-timeout
MAX_LINE = 88               # characters per code line: wider lines scroll sideways in a notebook (issue 11)
LONG_FIT_SECONDS = 10.0     # at least one fit of the series runs this long, to watch the live plot grow (issue 11)
NBVAL_TAGS = {"nbval-ignore-output", "nbval-check-output", "nbval-raises-exception", "nbval-skip",
              "raises-exception"}        # the cell tags nbval 0.11 reads; any other tag would do nothing
MAINTAINER_MARKERS = ("NBVAL_", "PYTEST_VALIDATE_")   # nbval's comment markers: learners would read them


def require(module: str):
    """Import a test tool; skip when it is missing locally, fail in CI (where the test extras must be installed)."""
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed; install the test extras: pip install -e '.[test]'")
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def nbval_environment(nbtrain_home: Path) -> dict:
    """The kernel's environment: pinned threads and hash seed, no display overrides, an empty data set cache."""
    env = pinned(os.environ)
    env["NBTRAIN_HOME"] = str(nbtrain_home)
    return env


def nbval_command(python: str, notebooks: list[Path], sanitize: Path = SANITIZE) -> list[str]:
    """pytest running nbval in strict mode (outputs compared) on the given notebooks."""
    return [python, "-m", "pytest", "--nbval", *map(str, notebooks), "--nbval-sanitize-with", str(sanitize),
            "--nbval-current-env", "--nbval-cell-timeout", "120", "-p", "no:cacheprovider", "-q", "--color=no"]


def failure_report(result: subprocess.CompletedProcess, limit: int = 12_000) -> str:
    """The end of nbval's output: the failing cell, and the diff (`+` lines are the saved outputs)."""
    text = (result.stdout or "") + (result.stderr or "")
    return text if len(text) <= limit else "...\n" + text[-limit:]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def output_texts(cell: dict):
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            yield "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
        for mime in ("text/plain", "text/html"):
            value = output.get("data", {}).get(mime)
            if value is not None:
                yield "".join(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------------------------
# static checks of the saved notebooks
# ---------------------------------------------------------------------------------------------------------------

def test_the_ten_tutorials_exist():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_saved_fully_executed_in_order(path):
    """Saved with outputs from one top-to-bottom run: execution counts 1, 2, 3, ... with no gaps."""
    counts = [cell["execution_count"] for cell in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name} was not saved from one clean top-to-bottom run (execution counts {counts}); "
        "run: python tools/execute_notebooks.py")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_metadata_is_portable(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "saved widget state: run python tools/execute_notebooks.py"
    assert nb["nbformat"] == 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_outputs_have_no_errors_warnings_or_local_paths(path):
    local = [str(ROOT), str(Path.home()), "/tmp/", "/private/var/"]
    for index, cell in enumerate(code_cells(load(path))):
        kinds = [output["output_type"] for output in cell.get("outputs", [])]
        assert "error" not in kinds, f"{path.name} code cell {index} saved an error"
        streams = [output.get("name") for output in cell.get("outputs", []) if output["output_type"] == "stream"]
        assert "stderr" not in streams, f"{path.name} code cell {index} wrote to stderr (a warning?)"
        for text in output_texts(cell):
            for fragment in local:
                assert fragment not in text, f"{path.name} code cell {index} shows a local path: {fragment}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_seeded_and_ignored_outputs_explained(path):
    """Seeded; a cell whose output nbval ignores (the ``nbval-ignore-output`` tag) says why in a comment."""
    cells = code_cells(load(path))
    assert any("set_random_seed(" in source(cell) for cell in cells), f"{path.name} never seeds nbtrain"
    for index, cell in enumerate(cells):
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            comments = [line for line in source(cell).splitlines() if line.strip().startswith("#")]
            assert comments, f"{path.name} code cell {index}: say in a comment why its numbers may differ"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_maintainer_markers_in_what_learners_read(path):
    """nbval is steered by cell tags (hidden in the notebook), never by comments such as NBVAL_IGNORE_OUTPUT."""
    for index, cell in enumerate(load(path)["cells"]):
        for marker in MAINTAINER_MARKERS:
            assert marker not in source(cell), (
                f"{path.name} cell {index} shows the maintainer marker {marker}... to learners; remove the "
                f"comment and give the cell a tag instead, e.g. 'nbval-ignore-output' (nbval reads it)")
        tags = set(cell["metadata"].get("tags", []))
        unknown = {tag for tag in tags if tag.startswith("nbval") or "exception" in tag} - NBVAL_TAGS
        assert not unknown, f"{path.name} cell {index}: nbval knows no tag {sorted(unknown)}; use one of " \
                            f"{sorted(NBVAL_TAGS)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_code_lines_fit_without_scrolling(path):
    """Every code line fits in a notebook cell without scrolling sideways (at most MAX_LINE characters)."""
    long_lines = [f"code cell {index}, {len(line)} characters: {line.strip()[:60]}..."
                  for index, cell in enumerate(code_cells(load(path)))
                  for line in source(cell).splitlines() if len(line) > MAX_LINE]
    assert not long_lines, (f"{path.name} has code lines over {MAX_LINE} characters; split them readably "
                            f"(one argument group per line, or a named intermediate value):\n" + "\n".join(long_lines))


def loud_fits(cells: list[dict]) -> dict[str, int | None]:
    """``{name: code cell index}`` for the last ``name = ....fit(...)`` of each name: the cell's index when that
    fit shows its record (a plot of every metric) under the cell, None when it is quiet (``verbose=0``)."""
    fits = {}
    for index, cell in enumerate(cells):
        text = source(cell)
        for name in re.findall(r"^(\w+) = (?:await )?\w+\.fit(?:_async)?\(", text, re.M):
            fits[name] = None if "verbose=0" in text else index
    return fits


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_plot_repeats_a_fit_record(path):
    """``plot_history(history)`` right after a fit whose record already plots that history shows one plot twice."""
    cells = code_cells(load(path))
    for index, cell in enumerate(cells):
        for name in re.findall(r"plot_history\((\w+)", source(cell)):
            fitted_in = loud_fits(cells[:index]).get(name)
            assert fitted_in is None, (
                f"{path.name} code cell {index} plots {name!r}, which the record under code cell {fitted_in} "
                f"already shows; remove the plot, or plot something the record does not (another metric, "
                f"several runs with plot_histories)")


def test_the_plot_repeat_check_finds_a_repeat():
    """The check above is not vacuous: the pattern it forbids is found."""
    cells = [{"cell_type": "code", "source": "history = model.fit(x, y, epochs=3)"},
             {"cell_type": "code", "source": "quiet = model.fit(x, y, verbose=0)"},
             {"cell_type": "code", "source": "h = await m.fit_async(\n    x, y)\nagain = m.fit(x, y)"}]
    assert loud_fits(cells) == {"history": 0, "quiet": None, "h": 2, "again": 2}
    cells.append({"cell_type": "code", "source": "history = model.fit(x, y, verbose=0)"})
    assert loud_fits(cells)["history"] is None, "a quiet fit later replaces the history: plotting it is fine"


def execute_notebooks_tool():
    """tools/execute_notebooks.py, imported as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_rewrites_a_notebook_whose_execution_counts_have_a_gap():
    """Removing a cell leaves the outputs as they were but the counts 1, 2, 4: the tool must still rewrite it."""
    nbformat = require("nbformat")
    tool = execute_notebooks_tool()

    def notebook(counts):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(tool.KERNELSPEC)})
        nb.cells = [nbformat.v4.new_code_cell("1", execution_count=count) for count in counts]
        return nb

    assert tool._metadata_differs(notebook([1, 2, 4]), notebook([1, 2, 3]))
    assert not tool._metadata_differs(notebook([1, 2, 3]), notebook([1, 2, 3]))


def sanitize_pairs() -> list[tuple[str, str]]:
    require("nbval")
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))


def test_sanitize_rules_parse_as_nbval_parses_them():
    pairs = sanitize_pairs()
    assert len(pairs) >= 10
    for regex, _ in pairs:
        re.compile(regex)
    assert "\r" not in SANITIZE.read_text(encoding="utf-8")


@pytest.mark.parametrize("text, expected", [
    ("completed 20 epochs in 0.4 s (983us/step)", "completed 20 epochs in <T> s (<T>/step)"),
    ("stopped early by a callback after 80 of 300 epochs in 12 s (3ms/step)",
     "stopped early by a callback after 80 of 300 epochs in <T> s (<T>/step)"),
    ("completed 3 epochs in 1:05 (2s/step)", "completed 3 epochs in <T> (<T>/step)"),
    ("Evaluate: 12/12 - 0.0 s - 213us/step - accuracy: 0.9500", "Evaluate: 12/12 - <T> s - <T>/step - accuracy: 0.95xx"),
    ("41/41 - 0s - 1ms/step - loss: 0.2627", "41/41 - <T>s - <T>/step - loss: 0.26xx"),
    ("val_loss 0.1986 (epoch 12), lr 0.001, accuracy 0.958", "val_loss 0.19xx (epoch 12), lr 0.001, accuracy 0.958"),
    ("37/50 · 12,300 samples/s · 3ms/step · 1.2 s elapsed · ETA 9 s",
     "37/50 · <N> samples/s · <T>/step · <T> s elapsed · ETA <T> s"),
    ("ETA: 0:12", "ETA <T>"),
    ("<Thing object at 0x7f3a9c1d2e50>", "<Thing object at 0xADDR>"),
    ('<img src="data:image/png;base64,iVBORw0KGgo+/="/>', '<img src="data:image/png;base64,<PNG>"/>'),
    ("Training 'moons': 100 epochs, 400 samples, batch size 32", "Training 'moons': 100 epochs, 400 samples, batch size 32"),
    ("val_loss: 1.1342e-04 - accuracy: 0.9875", "val_loss: 1.1342e-04 - accuracy: 0.98xx"),
])
def test_sanitize_masks_timings_and_keeps_numbers(text, expected):
    for regex, replacement in sanitize_pairs():
        text = re.sub(regex, replacement, text)
    assert text == expected


# ---------------------------------------------------------------------------------------------------------------
# nbval: run every notebook and compare its outputs
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def nbval_run(tmp_path_factory):
    """Run nbval once on every notebook; return (completed process, {notebook name: [(cell, seconds, problem)]})."""
    require("nbval")
    require("ipykernel")
    report = tmp_path_factory.mktemp("nbval") / "junit.xml"
    env = nbval_environment(tmp_path_factory.mktemp("nbtrain-home"))
    command = nbval_command(sys.executable, NOTEBOOKS) + [f"--junitxml={report}", "-o", "junit_family=xunit1"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    cells = {}
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            notebook = case.get("classname", "").split(".", 1)[-1]      # "notebooks.03_fit.ipynb" -> "03_fit.ipynb"
            problems = [f"{child.tag}: {child.get('message', '')}\n{child.text or ''}"
                        for child in case if child.tag in ("failure", "error", "skipped")]
            cells.setdefault(notebook, []).append((case.get("name"), float(case.get("time", 0)), "\n".join(problems)))
    return result, cells


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_passes_nbval(path, nbval_run):
    result, cells = nbval_run
    mine = cells.get(path.name)
    assert mine, f"nbval reported nothing for {path.name}:\n{failure_report(result)}"
    assert len(mine) == len(code_cells(load(path))), f"nbval ran {len(mine)} cells of {path.name}"
    problems = [f"--- {name}\n{problem}" for name, _, problem in mine if problem]
    if problems:
        pytest.fail(f"nbval failed for {path.name} (in the diffs, '+' lines are the saved outputs; regenerate them "
                    f"with python tools/execute_notebooks.py if the change is intended):\n"
                    + "\n".join(problems)[-12_000:], pytrace=False)
    seconds = sum(duration for _, duration, _ in mine)
    assert seconds < TIME_LIMIT, f"{path.name} took {seconds:.1f} s through nbval; the limit is {TIME_LIMIT:.0f} s"


def test_one_fit_runs_long_enough_to_watch(nbval_run):
    """At least one fit of the series trains for LONG_FIT_SECONDS or more (timed by nbval, one BLAS thread), so a
    learner sees the live plot grow; TIME_LIMIT above keeps its notebook within the minute."""
    _, cells = nbval_run
    fits = {}
    for path in NOTEBOOKS:
        sources = [source(cell) for cell in code_cells(load(path))]
        for name, seconds, _ in cells.get(path.name, []):
            index = int(name.rsplit(" ", 1)[-1])        # nbval names code cells "Cell 0", "Cell 1", ...
            if index < len(sources) and ".fit(" in sources[index]:
                fits[f"{path.stem} code cell {index}"] = seconds
    assert fits, "nbval reported no cell with a fit"
    longest = max(fits, key=fits.get)
    assert fits[longest] >= LONG_FIT_SECONDS, (
        f"the longest fit of the tutorials ({longest}) took {fits[longest]:.1f} s; at least one should take "
        f"{LONG_FIT_SECONDS:.0f} s or more so that a learner can watch the live plot grow")


def test_nbval_run_passed_as_a_whole(nbval_run):
    result, _ = nbval_run
    assert result.returncode == 0, failure_report(result)
