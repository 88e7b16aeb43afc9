"""The switch for the compiled loops (Numba, the nbtrain[fast] extra), and that nothing loads Numba before it pays."""

import subprocess
import sys

import pytest

import nbtrain
from nbtrain.utils import compiled


@pytest.fixture(autouse=True)
def restore_setting():
    yield
    compiled.set_compiled_loops("auto")


@pytest.mark.parametrize("value", ["yes", "Auto", 1, 0, None, 1.0])
def test_set_compiled_loops_rejects_anything_but_auto_true_false(value):
    with pytest.raises(ValueError, match=r"takes 'auto', True or False, got"):
        nbtrain.config.set_compiled_loops(value)
    assert nbtrain.config.compiled_loops() == "auto"


def test_false_switches_every_loop_off():
    nbtrain.config.set_compiled_loops(False)
    assert nbtrain.config.compiled_loops() is False
    assert compiled.loops("nbtrain.optimizers._compiled") is None


def test_true_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: False)
    with pytest.raises(ImportError, match=r'pip install "nbtrain\[fast\]"'):
        nbtrain.config.set_compiled_loops(True)
    assert nbtrain.config.compiled_loops() == "auto"
    assert compiled.loops("nbtrain.optimizers._compiled") is None


@pytest.mark.skipif(not compiled.available(), reason="Numba is not installed")
def test_true_with_numba_loads_the_loops():
    nbtrain.config.set_compiled_loops(True)
    assert compiled.loops("nbtrain.optimizers._compiled").__name__ == "nbtrain.optimizers._compiled"


def test_a_module_that_cannot_be_imported_leaves_numpy_in_charge(monkeypatch):
    monkeypatch.setattr(compiled, "available", lambda: True)
    assert compiled.loops("nbtrain.no_such_loops") is None


def test_importing_nbtrain_and_a_small_fit_leave_numba_unloaded():
    code = ("import sys, numpy as np, nbtrain; m = nbtrain.models.Sequential([nbtrain.layers.Dense(4)]); "
            "m.compile('adam', 'mse'); m.fit(np.ones((8, 3), 'float32'), np.ones((8, 4), 'float32'), verbose=0); "
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
