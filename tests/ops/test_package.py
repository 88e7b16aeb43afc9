"""The ops package loads fast and alone: no front end, not loaded by ``import nbtrain`` until used."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_ops_random_and_backend_load_without_front_end_libraries():
    loaded = run("import sys, nbtrain.ops, nbtrain.random, nbtrain.backend; "
                 "print([m for m in ('ipywidgets', 'matplotlib', 'IPython') if m in sys.modules])")
    assert loaded == "[]"


def test_nbtrain_loads_ops_only_when_asked():
    assert run("import sys, nbtrain; print('nbtrain.ops' in sys.modules)") == "False"
    assert run("import nbtrain; print(nbtrain.ops.relu(-1.0), nbtrain.random.SeedGenerator(1), "
               "nbtrain.backend.epsilon())") == "0.0 SeedGenerator(seed=1) 1e-07"


def test_every_public_name_is_documented():
    from nbtrain import ops

    undocumented = [name for name in ops.__all__ if not (getattr(ops, name).__doc__ or "").strip()]
    assert undocumented == []
