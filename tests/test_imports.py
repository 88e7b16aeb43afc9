"""The engine never imports the front end: importing nbtrain must not pull in widgets, plots or IPython."""

import subprocess
import sys

FRONT_END_MODULES = ("ipywidgets", "matplotlib", "IPython")


def test_importing_nbtrain_leaves_front_end_libraries_unloaded():
    code = ("import sys, nbtrain, nbtrain.models, nbtrain.layers, nbtrain.callbacks, nbtrain.losses, "
            "nbtrain.optimizers, nbtrain.metrics, nbtrain.widgets; nbtrain.widgets.make_2d_data('xor', 10); "
            f"print([m for m in {FRONT_END_MODULES!r} if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_engine_modules_do_not_import_display_at_module_level():
    import pathlib
    import re

    package = pathlib.Path(__file__).resolve().parents[1] / "nbtrain"
    offenders = []
    for path in package.rglob("*.py"):
        if "display" in path.parts:
            continue
        for line in path.read_text().splitlines():
            if re.match(r"^(from|import) (nbtrain\.display|ipywidgets|matplotlib|IPython)", line):
                offenders.append(f"{path.relative_to(package)}: {line}")
    assert offenders == []


def test_keras_style_namespace():
    import nbtrain as keras

    for name in ("Sequential", "Model", "Input", "layers", "losses", "metrics", "optimizers", "callbacks", "utils"):
        assert hasattr(keras, name), name
    assert callable(keras.utils.to_categorical) and callable(keras.utils.set_random_seed)


def test_importing_nbtrain_leaves_what_it_does_not_need_unloaded():
    # `import nbtrain` is a learner's first cell: the data sets (tarfile, gzip, hashlib), the thread control
    # (threadpoolctl, loaded at the first fit) and the data workers (concurrent.futures, logging) load on use.
    lazy = ("nbtrain.datasets", "threadpoolctl", "tarfile", "gzip", "tempfile", "concurrent.futures", "logging")
    code = f"import sys, nbtrain; print([m for m in {lazy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
    code = "import nbtrain as keras; print(keras.datasets.digits.load_data()[0][0].shape)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "(1437, 8, 8)"
