"""What ``compile`` stores: the losses (with their weights) and the metrics, per model output."""

from __future__ import annotations

import numpy as np

from nbtrain import losses as losses_module
from nbtrain import metrics as metrics_module
from nbtrain.regularizers import activity_penalty

_CROSSENTROPY_SHORTHANDS = ("crossentropy", "ce")


def _per_output(value, output_names: list[str], what: str, allow_broadcast: bool):
    """Spread a loss/metric spec over the outputs: a dict by name, a list by position, or one for all."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ValueError(
                f"{what} has keys {unknown} that are not output names; the model's outputs are {output_names}."
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and len(output_names) > 1:
        if len(value) != len(output_names):
            raise ValueError(
                f"{what} lists {len(value)} entries but the model has {len(output_names)} outputs "
                f"{output_names}. Give one entry per output (None for an output without one), or a dict by name."
            )
        return list(value)
    if len(output_names) > 1 and not allow_broadcast:
        raise ValueError(
            f"The model has {len(output_names)} outputs {output_names}: give {what} as a list with one entry per "
            f"output, or a dict keyed by output name."
        )
    return [value] * len(output_names)


class CompiledLoss:
    """The loss of every output, their weights, and the fused softmax/sigmoid + crossentropy gradient."""

    def __init__(self, loss, loss_weights, output_names: list[str]):
        self.output_names = list(output_names)
        specs = _per_output(loss, self.output_names, "loss", allow_broadcast=True)
        self.losses = [self._resolve_at_compile(spec) for spec in specs]
        self.weights = self._weights(loss_weights)

    @staticmethod
    def _resolve_at_compile(spec):
        # "crossentropy" depends on the target's shape, so it waits for the first batch.
        if isinstance(spec, str) and spec.lower() in _CROSSENTROPY_SHORTHANDS:
            return spec.lower()
        return losses_module.get(spec)

    def _weights(self, loss_weights) -> list[float]:
        n = len(self.output_names)
        if loss_weights is None:
            return [1.0] * n
        if isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
            return [float(loss_weights)] * n
        if isinstance(loss_weights, dict):
            unknown = [k for k in loss_weights if k not in self.output_names]
            if unknown:
                raise ValueError(f"loss_weights has keys {unknown} that are not output names {self.output_names}.")
            return [float(loss_weights.get(name, 1.0)) for name in self.output_names]
        if isinstance(loss_weights, (list, tuple)):
            if len(loss_weights) != n:
                raise ValueError(
                    f"loss_weights lists {len(loss_weights)} weights but the model has {n} outputs {self.output_names}."
                )
            return [float(w) for w in loss_weights]
        raise TypeError(f"loss_weights must be a number, a list or a dict, got {type(loss_weights).__name__}.")

    def resolve_shorthands(self, ys, outputs) -> None:
        for i, spec in enumerate(self.losses):
            if isinstance(spec, str):
                self.losses[i] = losses_module.resolve_crossentropy(ys[i].shape, outputs[i].shape)

    def value_and_gradients(self, ys, outputs, sample_weights, fusable: list[bool]):
        """Weighted total loss, each output's loss, and per output (gradient, is_gradient_wrt_logits).

        ``sample_weights`` holds one weight array (or None) per output, masks already folded in.
        """
        total, parts, gradients = 0.0, [], []
        for loss, weight, y, y_pred, fuse, sample_weight in zip(self.losses, self.weights, ys, outputs, fusable,
                                                                 sample_weights):
            if loss is None:
                parts.append(None)
                gradients.append((None, False))
                continue
            if fuse:
                value, grad = loss.value_and_logits_gradient(y, y_pred, sample_weight)
            else:
                value, grad = loss.value_and_gradient(y, y_pred, sample_weight)
            if weight != 1.0:
                grad *= weight
            total += weight * value
            parts.append(value)
            gradients.append((grad, fuse))
        return total, parts, gradients

    def values(self, ys, outputs, sample_weights):
        """Weighted total and per-output losses, without gradients (evaluate)."""
        parts = [None if loss is None else float(loss(y, p, w))
                 for loss, y, p, w in zip(self.losses, ys, outputs, sample_weights)]
        total = sum(w * v for w, v in zip(self.weights, parts) if v is not None)
        return total, parts


class CompiledMetrics:
    """The metrics of every output, resolved on the first batch (``accuracy`` depends on shapes)."""

    def __init__(self, metrics, weighted_metrics, output_names: list[str]):
        self.output_names = list(output_names)
        self.specs = self._specs(metrics, "metrics")
        self.weighted_specs = self._specs(weighted_metrics, "weighted_metrics")
        self.metrics: list[list] | None = None
        self.weighted: list[list] | None = None

    def _specs(self, metrics, what):
        if metrics is None:
            return [[] for _ in self.output_names]
        if isinstance(metrics, str) or callable(metrics) and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(
                f"{what} must be a list such as {what}=['accuracy'], got {metrics!r}. Wrap it in a list: "
                f"{what}=[{metrics!r}]."
            )
        if isinstance(metrics, dict) or len(self.output_names) > 1 and _is_list_per_output(metrics, self.output_names):
            specs = _per_output(metrics, self.output_names, what, allow_broadcast=False)
            specs = [[] if s is None else (list(s) if isinstance(s, (list, tuple)) else [s]) for s in specs]
        elif isinstance(metrics, (list, tuple)):
            specs = [list(metrics) for _ in self.output_names]
        else:
            raise TypeError(f"{what} must be a list or a dict, got {type(metrics).__name__}.")
        for output_specs in specs:
            for spec in output_specs:
                metrics_module.validate(spec)
        return specs

    @property
    def built(self) -> bool:
        return self.metrics is not None

    def build(self, ys, outputs) -> None:
        def resolve(specs):
            return [[metrics_module.resolve(spec, y.shape, p.shape) for spec in output_specs]
                    for output_specs, y, p in zip(specs, ys, outputs)]

        self.metrics, self.weighted = resolve(self.specs), resolve(self.weighted_specs)
        self._name_logs()

    def _name_logs(self) -> None:
        multi = len(self.output_names) > 1
        names, owners = [], []
        for weighted, groups in ((False, self.metrics), (True, self.weighted)):
            for output, group in zip(self.output_names, groups):
                for metric in group:
                    base = f"{output}_{metric.name}" if multi else metric.name
                    if weighted and base in names:
                        base = f"weighted_{base}"
                    names.append(base)
                    owners.append(metric)
        self.log_names = metrics_module.unique_names(names)
        self._ordered = list(zip(self.log_names, owners))

    def update(self, ys, outputs, sample_weight, masks) -> None:
        """Accumulate a batch; padded time steps (a mask is False) count for no metric, weighted or not."""
        for group, y, p, mask in zip(self.metrics, ys, outputs, masks):
            for metric in group:
                metric.update_state(y, p, sample_weight=mask)
        for group, y, p, mask in zip(self.weighted, ys, outputs, masks):
            weights = masked_weights(sample_weight, mask)
            for metric in group:
                metric.update_state(y, p, sample_weight=weights)

    def results(self) -> dict[str, float]:
        return {name: _plain(metric.result()) for name, metric in self._ordered}

    def reset(self) -> None:
        for name, metric in getattr(self, "_ordered", []):
            metric.reset_state()

    def all_metrics(self):
        return [metric for _, metric in getattr(self, "_ordered", [])]


def _is_list_per_output(metrics, output_names) -> bool:
    return isinstance(metrics, (list, tuple)) and len(metrics) == len(output_names) and all(
        m is None or isinstance(m, (list, tuple)) for m in metrics)


def _plain(value):
    """Python floats for logs; per-class arrays (F1Score(average=None)) stay lists of floats."""
    if not isinstance(value, (int, float, np.number)):
        value = np.asarray(value)       # an array, or a metric's own state (an nbtrain.ops Variable)
        if value.ndim > 0:
            return [float(v) for v in value]
    return float(value)


def masked_weights(sample_weight, mask):
    """Per-sample weights times a (batch, time) mask of real steps; None when there is neither."""
    if mask is None:
        return sample_weight
    weights = mask.astype(np.float32)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float32)
        weights = weights * sample_weight.reshape(sample_weight.shape + (1,) * (weights.ndim - sample_weight.ndim))
    return weights


def loss_weights_with_mask(sample_weight, mask):
    """Weights that make a mean over all steps a mean over the real ones, as Keras masks losses.

    The loss divides by the number of per-step values; scaling the masked weights by
    ``size / real steps`` turns that into ``sum(loss * weight * mask) / real steps``.
    """
    weights = masked_weights(sample_weight, mask)
    if mask is None:
        return weights
    real = int(np.count_nonzero(mask))
    return weights * (mask.size / max(real, 1))


class MeanTracker:
    """A running mean weighted by batch size: Keras's per-epoch ``loss`` is ``sum(n_b * L_b) / sum(n_b)``."""

    __slots__ = ("total", "count")

    def __init__(self):
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int) -> None:
        self.total += value * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


class LogTracker:
    """The running loss, per-output losses and metrics of one fit epoch or evaluation: what goes in ``logs``.

    Keras keeps the same pieces beside ``CompileLoss`` and ``CompileMetrics``; the Trainer only feeds it
    each batch and reads the logs.

    Args:
        compiled_loss: the :class:`CompiledLoss`, or None before ``compile``.
        compiled_metrics: the :class:`CompiledMetrics`, or None before ``compile``.
        output_names: the model's output names; several outputs also log ``<output>_loss``.
    """

    def __init__(self, compiled_loss=None, compiled_metrics=None, output_names=()):
        self.compiled_loss, self.compiled_metrics = compiled_loss, compiled_metrics
        self.output_names = list(output_names)
        self.loss = MeanTracker()
        self.output_losses = [MeanTracker() for _ in self.output_names] if len(self.output_names) > 1 else []

    def update(self, total, parts, ys, outputs, sample_weight, masks, batch_size) -> None:
        """Add one batch: its total loss, each output's loss (None where an output has none), its metrics."""
        self.loss.update(total, batch_size)
        for tracker, value in zip(self.output_losses, parts):
            if value is not None:
                tracker.update(value, batch_size)
        self.compiled_metrics.update(ys, outputs, sample_weight, masks)

    def logs(self) -> dict:
        """The running values as plain floats, sorted by name as Keras sorts them."""
        logs = {"loss": float(self.loss.result())}
        for name, tracker in zip(self.output_names, self.output_losses):
            if tracker.count:
                logs[f"{name}_loss"] = float(tracker.result())
        logs |= self.compiled_metrics.results()
        return sorted_logs(logs)

    def reset(self) -> None:
        self.loss.reset()
        for tracker in self.output_losses:
            tracker.reset()
        if self.compiled_metrics is not None:
            self.compiled_metrics.reset()

    @property
    def names(self) -> list[str]:
        """The names ``evaluate`` returns values for, in the order Keras 3 returns them.

        One output: the loss, then the metrics as compiled. Several outputs: the loss, each output's loss in
        output order, then the metrics sorted by name (``department_accuracy`` before ``priority_mae``), since
        Keras 3 lists by name the log keys that its compiled metrics do not name themselves.
        """
        metric_names = []
        if self.compiled_metrics is not None and self.compiled_metrics.built:
            metric_names = list(self.compiled_metrics.log_names)
        if not self.output_losses:
            return ["loss"] + metric_names
        return ["loss"] + [f"{name}_loss" for name in self.output_names] + sorted(metric_names)

    def result(self, logs: dict, return_dict: bool):
        """What ``evaluate`` and the ``*_on_batch`` methods return: the dict, the loss alone, or a list."""
        if return_dict:
            return logs
        if len(logs) == 1:
            return logs["loss"]
        return [logs[name] for name in self.names if name in logs]

    def direction(self, name: str):
        """'up', 'down' or None for a log key (without ``val_``), used by callbacks with ``mode='auto'``."""
        if self.compiled_metrics is None or not self.compiled_metrics.built:
            return None
        for log_name, metric in zip(self.compiled_metrics.log_names, self.compiled_metrics.all_metrics()):
            if log_name == name:
                return getattr(metric, "direction", None)
        return None


def sorted_logs(logs: dict) -> dict:
    # Keras sorts log keys, so History and progress lines list them alphabetically.
    return dict(sorted(logs.items()))


def regularization_penalty(layers, activity_outputs: dict) -> float:
    """Weight and activity penalties, part of ``loss`` and ``val_loss`` as in Keras.

    Args:
        layers: the model's layers (their weight regularizers).
        activity_outputs: ``{key: (regularizer, output or list of outputs)}`` from the last forward pass.
    """
    penalty = 0.0
    for layer in layers:
        if layer._regularizers:
            penalty += sum(layer.weight_penalties())
    for regularizer, outputs in activity_outputs.values():
        for output in (outputs if isinstance(outputs, list) else [outputs]):
            penalty += activity_penalty(regularizer, output)
    return penalty


def learning_rate_log(optimizer) -> dict:
    """``learning_rate`` joins the epoch logs when a schedule changes it, so History and plots show it."""
    if isinstance(optimizer._learning_rate, (int, float)):
        return {}
    return {"learning_rate": float(optimizer.learning_rate)}
