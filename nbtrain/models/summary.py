"""``model.summary()``: a Keras-style table of layers, output shapes and parameter counts."""

from __future__ import annotations

import shutil

from nbtrain.utils.naming import shape_text

SEQUENTIAL_POSITIONS = (0.45, 0.80, 1.0)
FUNCTIONAL_POSITIONS = (0.3, 0.56, 0.74, 1.0)


def format_size(n_bytes: float) -> str:
    """1024-based size with two decimals, as Keras prints it: ``53.16 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} GB"


def _fit(text: str, width: int, right: bool = False) -> str:
    text = text if len(text) <= width else text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def _rows(model):
    """(name and type, output shape, parameter count, connections) per layer, in model order."""
    from nbtrain.layers.input_layer import InputLayer

    rows = []
    nodes = getattr(model, "_nodes", None)
    for layer in model.layers:
        label = f"{layer.name} ({type(layer).__name__})"
        if isinstance(layer, InputLayer):
            shape, connections = layer.input_shape, ""
        elif nodes is not None:
            calls = [n for n in nodes if n.layer is layer]
            outputs = [t.shape for t in calls[0].outputs] if calls else None
            shape = outputs[0] if outputs and len(outputs) == 1 else outputs
            connections = ", ".join(_address(t, nodes) for call in calls[:1] for t in call.inputs)
        else:
            shape, connections = (layer.output_shape if layer.built else None), ""
        count = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        rows.append((label, shape_text(shape), count, connections))
    return rows


def _address(tensor, nodes) -> str:
    """Keras's ``layer[call][output]`` name of a tensor, e.g. ``lstm[0][1]`` for an LSTM's state h."""
    node = tensor.node
    call = [n for n in nodes if n.layer is node.layer].index(node) if node in nodes else 0
    return f"{node.layer.name}[{call}][{node.outputs.index(tensor)}]"


def summary_text(model, line_length=None, positions=None, show_trainable=False) -> str:
    """The summary table as one string (``model.summary()`` prints it)."""
    functional = getattr(model, "_nodes", None) is not None and not _is_chain(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    default_length = 108 if functional else 88
    line_length = line_length or min(default_length, max(60, shutil.get_terminal_size((120, 20)).columns - 4))
    positions = positions or (FUNCTIONAL_POSITIONS if functional else SEQUENTIAL_POSITIONS)
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths = [max(4, b - a - 3) for a, b in zip([0] + list(positions[:-1]), positions)]
    rows = [row[: len(headers)] for row in _rows(model)]
    if show_trainable:
        headers.append("Trainable")
        widths.append(9)
        rows = [row + (("Y" if layer.trainable else "N"),) for row, layer in zip(rows, model.layers)]

    def line(left, fill, joint, right):
        return left + joint.join(fill * (w + 2) for w in widths) + right

    def cells(values, border):
        parts = [_fit(v, w, right=(i == 2)) for i, (v, w) in enumerate(zip(values, widths))]
        return border + border.join(f" {p} " for p in parts) + border

    out = [f'Model: "{model.name}"', line("┏", "━", "┳", "┓"), cells(headers, "┃"), line("┡", "━", "╇", "┩")]
    for index, row in enumerate(rows):
        if index:
            out.append(line("├", "─", "┼", "┤"))
        out.append(cells(row, "│"))
    out.append(line("└", "─", "┴", "┘"))
    out += _totals(model)
    return "\n".join(out)


def _is_chain(model) -> bool:
    """A functional model whose layers form one line reads best in the Sequential layout."""
    nodes = model._nodes
    return len(model.inputs) == 1 and len(model.outputs) == 1 and all(
        len(node.inputs) == 1 and (i == 0 or node.inputs[0].node is nodes[i - 1]) for i, node in enumerate(nodes))


def _totals(model) -> list[str]:
    weights = model.weights
    trainable_ids = {id(w) for w in model.trainable_weights}
    trainable = sum(w.size for w in weights if id(w) in trainable_ids)
    frozen = sum(w.size for w in weights if id(w) not in trainable_ids)
    size = lambda n: format_size(n * 4)  # noqa: E731 -- float32 weights
    lines = []
    optimizer_params = _optimizer_parameter_count(model)
    total = trainable + frozen + optimizer_params
    lines.append(f" Total params: {total:,} ({size(total)})")
    lines.append(f" Trainable params: {trainable:,} ({size(trainable)})")
    lines.append(f" Non-trainable params: {frozen:,} ({size(frozen)})")
    if optimizer_params:
        lines.append(f" Optimizer params: {optimizer_params:,} ({size(optimizer_params)})")
    return lines


def _optimizer_parameter_count(model) -> int:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return 0
    return int(sum(getattr(v, "size", 1) for v in optimizer.variables()))


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None) -> None:
    """Print (or hand to ``print_fn``) the summary table."""
    text = summary_text(model, line_length=line_length, positions=positions, show_trainable=show_trainable)
    (print_fn or print)(text)
