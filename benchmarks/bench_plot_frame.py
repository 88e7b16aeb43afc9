"""What one live frame of the history plot costs: ``HistoryPlot.update`` + ``png`` after each epoch of a run.

A 30-epoch run is replayed into a :class:`~nbtrain.display.state.RunState` (made-up metrics with the shapes of
real ones: losses falling, accuracies rising, some noise), and after each epoch one frame is drawn and encoded,
as the dashboard does. Reported for 2, 4 and 8 metric panels (train and validation curves each):

* construction: ``prepare`` (building the figure and its first draw, which loads the fonts), a one-time cost
  the dashboard pays outside its running budget; matplotlib's import is paid by a warm-up before it;
* per frame: mean, median and slowest of the 30 frames, and how many of them redrew some axes (new limits,
  which the rounded, sticky limits keep rare) rather than only the curves;
* the rarer frames that redraw the axes of one panel or of all;
* for comparison, the cost of drawing the whole figure each frame (the naive way) and of matplotlib's SVG.

Budget: a live frame at most 30 ms on one core. Run (one core, one BLAS thread):

    OPENBLAS_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/bench_plot_frame.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nbtrain.display.plots import HistoryPlot, rgba_png  # noqa: E402
from nbtrain.display.state import RunState  # noqa: E402

EPOCHS = 30
# CPU time of this thread: what drawing costs the training thread, and barely disturbed by other processes on
# a shared machine (wall time is, by however many processes share the core). --wall measures wall time.
CLOCK = time.thread_time
BUDGET_MS = 30.0
EXTRA_METRICS = ["accuracy", "mae", "auc", "precision", "recall", "mse", "top_k_accuracy"]


def epoch_logs(epoch: int, n_panels: int, rng) -> dict:
    """Logs of one epoch with ``n_panels`` metric families (loss first), each with its ``val_`` twin."""
    progress = 1 - np.exp(-epoch / 8)
    logs = {}
    for i, name in enumerate(["loss", *EXTRA_METRICS][:n_panels]):
        falling = name in ("loss", "mae", "mse")
        value = (2.3 - 2.1 * progress) if falling else (0.3 + 0.65 * progress)
        logs[name] = float(value * (1 + 0.03 * rng.standard_normal()))
        gap = 1.05 if falling else 0.97          # validation a little worse than training
        logs[f"val_{name}"] = float(value * (gap + 0.03 * rng.standard_normal()))
    return logs


def replay(n_panels: int, seed: int = 0):
    """``(construction seconds, [seconds per frame], [whether the frame redrew axes])`` of one run."""
    rng = np.random.default_rng(seed)
    state = RunState("fit", {"epochs": EPOCHS, "steps": 50}, "bench")
    state.begin(0.0)
    plot = HistoryPlot()
    frames, relayouts, construction = [], [], None
    for epoch in range(EPOCHS):
        state.epoch_begin(epoch, float(epoch))
        state.epoch_end(epoch, epoch_logs(epoch, n_panels, rng), epoch + 1.0)
        if construction is None:
            started = CLOCK()
            plot.prepare(state)
            construction = CLOCK() - started
        started = CLOCK()
        plot.update(state)
        relayouts.append(bool(plot._stale))
        plot.png()
        frames.append(CLOCK() - started)
    return construction, frames, relayouts, plot, state


def frame_redrawing_axes(plot, state, panels) -> float:
    """One frame whose ``panels`` need their axes redrawn (new limits), as when a curve leaves its axes."""
    times = []
    for _ in range(3):
        plot._stale.update(panels)
        started = CLOCK()
        plot.update(state)
        plot.png()
        times.append(CLOCK() - started)
    return min(times)


def naive_frame(plot, state) -> float:
    """One frame drawn the naive way: the whole figure, every text laid out again, then encoded."""
    for panel in plot._panels:
        for artist in panel.artists():
            artist.set_animated(False)
    plot._stamp.set_animated(False)
    started = CLOCK()
    plot.figure.canvas.draw()
    rgba_png(plot.figure.canvas.buffer_rgba(), 64)
    return CLOCK() - started


def svg_frame(plot) -> tuple[float, int]:
    """One frame as matplotlib SVG with text kept as text (the browser draws it): seconds and bytes."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        started = CLOCK()
        plot.figure.savefig(buffer, format="svg")
        return CLOCK() - started, len(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the fastest run is reported")
    parser.add_argument("--wall", action="store_true", help="measure wall time instead of thread CPU time")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.thread_time
    replay(2)                                   # warm-up: imports matplotlib and PIL, loads the font
    print(f"live frame (update + palette PNG) of a {EPOCHS}-epoch run, budget {BUDGET_MS:.0f} ms per frame; "
          f"{'wall' if args.wall else 'thread CPU'} time")
    worst_mean = 0.0
    for n_panels in (2, 4, 8):
        runs = [replay(n_panels, seed) for seed in range(args.repeats)]
        construction, frames, relayouts, plot, state = min(runs, key=lambda run: statistics.mean(run[1]))
        ms = [1e3 * f for f in frames]
        mean = statistics.mean(ms)
        worst_mean = max(worst_mean, mean)
        size = plot.figure.get_size_inches() * plot.dpi
        png_bytes = len(plot.png())
        print(f"{n_panels} panels ({size[0]:.0f}x{size[1]:.0f} px, {png_bytes / 1e3:.1f} KB): "
              f"construction {1e3 * construction:.0f} ms; per frame mean {mean:.1f} ms, "
              f"median {statistics.median(ms):.1f} ms, slowest {max(ms):.1f} ms; "
              f"{sum(relayouts)}/{EPOCHS} frames redrew axes")
        one = frame_redrawing_axes(plot, state, [0])
        every = frame_redrawing_axes(plot, state, range(n_panels))
        print(f"    a frame redrawing one panel's axes {1e3 * one:.1f} ms, every panel's {1e3 * every:.1f} ms")
        svg_seconds, svg_bytes = svg_frame(plot)
        print(f"    for comparison: whole figure redrawn {1e3 * naive_frame(plot, state):.1f} ms; "
              f"matplotlib SVG {1e3 * svg_seconds:.1f} ms ({svg_bytes / 1e3:.1f} KB)")
    verdict = "within" if worst_mean <= BUDGET_MS else "OVER"
    print(f"{verdict} budget: worst mean frame {worst_mean:.1f} ms <= {BUDGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
