"""What a playground frame costs, part by part, and how many frames a second the loop reaches.

The issue's case: a 2 x 8 tanh network on 500 points (250 to train on, 250 to test), a 64 x 64 boundary grid.
Reported, each the best of ``--repeats`` runs (CPU time of this thread, which other processes on a shared
machine barely disturb):

* predict on the grid: one forward pass of the 4,096 grid points, every layer (the boundary and the neurons);
* colour mapping: the lookup table, for the boundary (64 x 64) and the network view;
* encoding: the boundary PNG and the network view's PNG;
* sending: setting an ``Image`` widget's value, here (the dummy comm outside a kernel: serialising only) and in
  a real ipykernel (serialising and handing the message to the kernel's I/O thread);
* an epoch of ``fit`` (the training part of a frame), and the whole draw as the playground does it;
* then the real loop on a thread for ``--seconds`` seconds: frames per second, epochs per frame and the
  traffic (KB/s) to the browser.

Run (one core, one BLAS thread, as on Binder):

    OPENBLAS_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/bench_playground.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nbtrain.display.outputs import RecordingOutput  # noqa: E402
from nbtrain.widgets import Playground  # noqa: E402
from nbtrain.widgets import boundary as bd  # noqa: E402

CLOCK = time.thread_time


def best(function, repeats: int) -> float:
    """The fastest of ``repeats`` runs in milliseconds of this thread's CPU time."""
    times = []
    for _ in range(repeats):
        start = CLOCK()
        function()
        times.append(CLOCK() - start)
    return 1000 * min(times)


def parts(playground: Playground, repeats: int) -> dict:
    outputs = playground._outputs()
    boundary_rgb = playground._boundary_rgb(outputs)
    network_rgb = playground._network_rgb(outputs)
    boundary_png, network_png = bd.encode_png(boundary_rgb), bd.encode_png(network_rgb)
    ws = playground.widgets
    pngs = [boundary_png, bd.encode_png(np.ascontiguousarray(boundary_rgb[::-1]))]   # two values to alternate

    def send():
        pngs.reverse()
        ws["boundary"].value = pngs[0]

    session = playground.session
    return {
        "predict on the grid (every layer)": best(playground._outputs, repeats),
        "colour mapping: boundary": best(lambda: playground._boundary_rgb(outputs), repeats),
        "colour mapping: network view": best(lambda: playground._network_rgb(outputs), repeats),
        "encoding: boundary PNG": best(lambda: bd.encode_png(boundary_rgb), repeats),
        "encoding: network PNG": best(lambda: bd.encode_png(network_rgb), repeats),
        "sending: one Image update": best(send, repeats),
        "a whole frame's drawing": best(playground._draw_now, repeats),
        "one epoch of fit (250 points, batch 10)": best(lambda: session.train(1), max(3, repeats // 4)),
        "_sizes": (len(boundary_png), len(network_png), len(playground._loss_svg())),
    }


def matplotlib_frame(playground: Playground, repeats: int) -> float:
    """The reference: the same boundary drawn the usual way, a matplotlib figure (made once, its image data
    replaced each frame, the points a scatter) drawn and saved as PNG, as a per-frame ``plot_decision_boundary``
    would."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    session = playground.session
    fig = Figure(figsize=(2.8, 2.8), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    image = ax.imshow(playground._boundary_rgb(), extent=session.extent, interpolation="bilinear")
    ax.scatter(session.x_train[:, 0], session.x_train[:, 1], s=12, c=session.y_train, cmap="coolwarm",
               edgecolors="white", linewidths=0.6)
    ax.scatter(session.x_test[:, 0], session.x_test[:, 1], s=12, c=session.y_test, cmap="coolwarm",
               edgecolors="#333", linewidths=0.6)

    def frame():
        image.set_data(playground._boundary_rgb())
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")

    return best(frame, max(3, repeats // 4))


def loop_figures(playground: Playground, seconds: float) -> dict:
    sent, frames, epoch = playground.bytes_sent, playground.loop.frames, playground.epoch
    start = time.monotonic()
    playground.play()
    time.sleep(seconds)
    playground.pause()
    elapsed = time.monotonic() - start
    frames = playground.loop.frames - frames
    return {"frames per second": frames / elapsed, "epochs per frame": (playground.epoch - epoch) / max(1, frames),
            "KB/s to the browser": (playground.bytes_sent - sent) / 1024 / elapsed}


KERNEL_CODE = """
import json, time
import numpy as np
import ipywidgets
from nbtrain.widgets import boundary as bd
ramp = np.add.outer(np.linspace(0, 0.5, 64), np.linspace(0, 0.5, 64)).ravel()   # a smooth boundary
frames = [bd.encode_png(bd.colour_values(values, 64)) for values in (ramp, ramp[::-1])]
image = ipywidgets.Image(format="png")
cpu, wall = [], []
for i in range({repeats}):
    c, w = time.thread_time(), time.perf_counter()
    image.value = frames[i % 2]
    cpu.append(time.thread_time() - c); wall.append(time.perf_counter() - w)
print(json.dumps({{"cpu_ms": 1000 * min(cpu), "wall_ms": 1000 * min(wall), "bytes": len(frames[0])}}))
"""


def kernel_send_cost(repeats: int) -> dict:
    """What setting an ``Image`` widget's value costs the calling thread in a real ipykernel (serialising the
    comm message and handing it to the kernel's I/O thread)."""
    import json
    import os

    from jupyter_client.manager import start_new_kernel

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        msg_id = kc.execute(KERNEL_CODE.format(repeats=repeats))
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                return json.loads(msg["content"]["text"].strip().splitlines()[-1])
            if msg["msg_type"] == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-kernel", action="store_true", help="skip the sending cost in a real kernel")
    args = parser.parse_args()
    playground = Playground(dataset="spiral", hidden=[8, 8], activation="tanh", samples=500, test_fraction=0.5,
                        output=RecordingOutput(), live=True)
    playground.show()
    playground.step(5)           # warm-up: first calls, and epochs timed
    figures = parts(playground, args.repeats)
    boundary_bytes, network_bytes, svg_bytes = figures.pop("_sizes")
    print("playground frame, 2 x 8 tanh, 500 points, 64 x 64 grid (best of "
          f"{args.repeats}, ms of CPU time)")
    for name, value in figures.items():
        print(f"  {name:<42} {value:7.2f} ms")
    print(f"  sizes: boundary PNG {boundary_bytes / 1024:.1f} KB, network PNG {network_bytes / 1024:.1f} KB, "
          f"loss SVG {svg_bytes / 1024:.1f} KB")
    reference = matplotlib_frame(playground, args.repeats)
    ours = figures["predict on the grid (every layer)"] + figures["colour mapping: boundary"] + \
        figures["encoding: boundary PNG"]
    print(f"  reference: the boundary as a matplotlib figure (imshow + scatter + savefig) {reference:7.2f} ms, "
          f"{reference / ours:.0f} x the NumPy boundary frame ({ours:.2f} ms)")
    loop = loop_figures(playground, args.seconds)
    print(f"the loop for {args.seconds:g} s: {loop['frames per second']:.1f} frames/s, "
          f"{loop['epochs per frame']:.1f} epochs per frame, {loop['KB/s to the browser']:.0f} KB/s")
    playground.close()
    if not args.no_kernel:
        sent = kernel_send_cost(200)
        print(f"sending one boundary frame ({sent['bytes'] / 1024:.1f} KB) in a real ipykernel: "
              f"{sent['cpu_ms']:.2f} ms CPU, {sent['wall_ms']:.2f} ms wall (best of 200)")


if __name__ == "__main__":
    main()
