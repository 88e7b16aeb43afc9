"""Cold start: ``import nbtrain`` on its own, and the workshop fit from a fresh process beside Keras's.

``import nbtrain`` is measured the way ``python -X importtime -c "import nbtrain"`` reports it (the cumulative
microseconds of the ``nbtrain`` line, which include NumPy), in ``--runs`` fresh processes; the best and the
median are printed, with NumPy's own import beside them (nbtrain cannot be quicker than NumPy).

The workshop fit is a whole program run in a fresh process, as a learner's first cell after a kernel restart:
import, build 64-64-10 (ReLU, softmax), compile with Adam and sparse categorical crossentropy, fit 20 epochs of
the bundled digits (1437 x 64) with batch size 32, verbose 0. Each process reports its import, build+compile and
fit seconds; the wall time includes the interpreter's start. Keras runs the same program on JAX when a Python
with Keras is given (``--keras-python``, default ``/work/benchvenv/bin/python`` when it exists); the two
programs alternate, best of ``--repeats``. Run it from the project root::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_cold_start.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKSHOP = """
import time, json, sys
start = time.perf_counter()
import numpy as np
{import_line}
imported = time.perf_counter()
data = np.load(sys.argv[1])
x, y = data["x"], data["y"]
model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
built = time.perf_counter()
history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
done = time.perf_counter()
print(json.dumps({{"import": imported - start, "build": built - imported, "fit": done - built,
                  "accuracy": float(history.history["accuracy"][-1])}}))
"""


def import_microseconds(python: str, module: str, env: dict) -> int:
    """The cumulative import time of ``module`` in a fresh process, from ``-X importtime``."""
    result = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], env=env, capture_output=True,
                            text=True, check=True)
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| " + re.escape(module) + r"$", line)
        if match:
            return int(match.group(1))
    raise RuntimeError(f"-X importtime printed no line for {module}")


def workshop_run(python: str, import_line: str, data_file: str, env: dict) -> dict:
    start = time.perf_counter()
    result = subprocess.run([python, "-c", WORKSHOP.format(import_line=import_line), data_file], env=env,
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["wall"] = wall
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes for the import time")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per workshop program")
    default_keras = "/work/benchvenv/bin/python" if Path("/work/benchvenv/bin/python").exists() else ""
    parser.add_argument("--keras-python", default=default_keras)
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)   # a user's installed package has its bytecode compiled
    subprocess.run([sys.executable, "-c", "import nbtrain, nbtrain.datasets"], env=env, check=True)  # write .pyc
    print(f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f} (other work on the machine "
          f"slows every figure below)")
    nbtrain_times, numpy_times = [], []
    for _ in range(args.runs):
        numpy_times.append(import_microseconds(sys.executable, "numpy", env) / 1e6)
        nbtrain_times.append(import_microseconds(sys.executable, "nbtrain", env) / 1e6)
    print(f"import numpy:   best {min(numpy_times):.3f} s, median {statistics.median(numpy_times):.3f} s")
    print(f"import nbtrain: best {min(nbtrain_times):.3f} s, median {statistics.median(nbtrain_times):.3f} s "
          f"(includes numpy; {args.runs} fresh processes, -X importtime)")

    sys.path.insert(0, str(ROOT))
    import numpy as np

    from nbtrain.datasets import digits

    (x, y), _ = digits.load_data()
    with tempfile.TemporaryDirectory() as directory:
        data_file = os.path.join(directory, "digits.npz")
        np.savez(data_file, x=(x.reshape(len(x), -1) / 16.0).astype(np.float32), y=y.astype(np.int64))
        programs = [("nbtrain", sys.executable, "import nbtrain as keras", env)]
        if args.keras_python:
            keras_env = dict(os.environ, KERAS_BACKEND="jax")
            keras_env.pop("PYTHONPATH", None)
            programs.append(("keras/jax", args.keras_python, "import keras", keras_env))
        else:
            print("Keras: skipped (no --keras-python given)")
        best = {}
        for _ in range(args.repeats):
            for name, python, import_line, program_env in programs:
                report = workshop_run(python, import_line, data_file, program_env)
                if name not in best or report["wall"] < best[name]["wall"]:
                    best[name] = report
    print(f"workshop fit from a fresh process (digits 1437x64, 64-64-10, Adam, batch 32, 20 epochs), "
          f"best of {args.repeats}:")
    print(f"{'':<11}{'wall':>8}{'import':>8}{'build':>8}{'fit':>8}{'accuracy':>10}")
    for name, report in best.items():
        print(f"{name:<11}{report['wall']:>8.2f}{report['import']:>8.2f}{report['build']:>8.2f}"
              f"{report['fit']:>8.2f}{report['accuracy']:>10.3f}")
    if "keras/jax" in best:
        print(f"wall ratio nbtrain/keras: {best['nbtrain']['wall'] / best['keras/jax']['wall']:.2f}")


if __name__ == "__main__":
    main()
