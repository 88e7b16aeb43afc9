"""Layers written the Keras way: ``build`` makes weights with ``add_weight``, ``call`` computes with
``nbtrain.ops``, and the gradients come from recording ``call`` (no backward pass to write).

``Layer`` hands such a layer's work to this module: :func:`apply_call` runs ``call`` under a
:class:`~nbtrain.ops.GradientTape` and returns the output with the backprop function every layer returns;
:class:`LayerVariable` is what ``add_weight`` gives back, a :class:`~nbtrain.ops.Variable` that reads the
layer's own weight array, so optimizers updating that array in place are seen by ``call``; and
:func:`inferred_output_shape` runs ``call`` once on zeros when the layer does not say its output shape.

Two more Keras habits live here. ``self.add_loss(value)`` in ``call`` records an extra loss term: the
:class:`_CallContext` of the outermost call being recorded collects it, its value is added to the training
loss (``ops.sum`` of it, as Keras) and its gradient flows back with the output's. And a layer may call other
layers in ``call`` (the guide's ``MLPBlock`` of ``Linear`` layers, a ``Dense`` inside a block): those
*sublayers* are found among the layer's attributes once it is built, their weights are listed as the outer
layer's (``linear_1/kernel``: the attribute, then the weight, the same arrays), and a call on a tracked tensor
is recorded on the same tape (:func:`call_inside`): a layer written with ``call`` runs its ``call``, a built-in
layer runs its fused ``_apply`` as one recorded op.

The tape is imported only when a layer of this kind runs, so built-in layers and ``import nbtrain`` never
load it.
"""

from __future__ import annotations

import inspect
import threading
from functools import cache

import numpy as np

_local = threading.local()      # the calls being recorded in this thread (fit(background=True) uses another)


class _CallContext:
    """The outermost layer call being recorded: its training mode (for layers called inside it without one)
    and the losses ``add_loss`` added during it."""

    __slots__ = ("losses", "training")

    def __init__(self, training: bool):
        self.training = training
        self.losses = []


class _recording:
    """``with _recording(context):`` makes ``context`` the current call for ``add_loss`` and sublayers."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        _contexts().append(self.context)
        return self.context

    def __exit__(self, *exc_info):
        _contexts().pop()


def _contexts() -> list:
    contexts = getattr(_local, "contexts", None)
    if contexts is None:
        contexts = _local.contexts = []
    return contexts


def current_context():
    """The call being recorded in this thread, or None."""
    contexts = _contexts()
    return contexts[-1] if contexts else None


def add_loss(layer, loss) -> None:
    """``layer.add_loss(loss)`` inside ``call``: keep ``loss`` for the loss of this call (see the module)."""
    context = current_context()
    if context is None:
        raise RuntimeError(
            f"add_loss() of layer '{layer.name}' was called outside the layer's call(): nbtrain (as Keras 3) "
            f"collects extra losses while call() runs. Call self.add_loss(...) inside call(), on values computed "
            f"from its inputs or weights with nbtrain.ops.")
    for value in (loss if isinstance(loss, (list, tuple)) else [loss]):
        context.losses.append(value)


def layer_variable(layer, name: str):
    """The Variable for ``layer``'s weight ``name``, made once and kept on the layer."""
    variables = layer.__dict__.setdefault("_variable_objects", {})
    if name not in variables:
        variables[name] = _variable_class()(layer, name)
    return variables[name]


@cache
def _variable_class():
    from nbtrain.ops.autodiff import Variable

    class LayerVariable(Variable):
        """A layer weight seen as a Variable: its value is always the array the layer holds now (the optimizer
        updates it in place; ``set_weights`` copies into it; the float64 gradient checks replace it)."""

        __slots__ = ("layer", "key")

        def __new__(cls, layer, key):
            variable = object.__new__(cls)
            variable.layer, variable.key = layer, key
            variable.trainable, variable.name = key in layer._trainable_weight_names, key
            return variable

        def __init__(self, layer, key):
            pass    # everything is set in __new__; Variable.__init__ would copy the array

        @property
        def value(self):
            return self.layer._weights[self.key]

        @value.setter
        def value(self, new_value):
            self.layer._weights[self.key][...] = new_value

        @property
        def path(self) -> str:
            return f"{self.layer.name}/{self.key}"

    return LayerVariable


def apply_call(layer, x, training, need_input_grad, mask=None):
    """Run ``layer.call`` while recording it; return ``(output, backprop)`` as every layer's ``_apply`` does.

    ``backprop(dL/dy)`` fills ``layer.grads`` for its trainable weights (zeros for one ``call`` did not use)
    and returns dL/dx (None when not needed, or for integer inputs, which have no gradient).
    """
    from nbtrain.ops import sum as ops_sum
    from nbtrain.ops.autodiff import GradientTape, Tensor, Variable

    several = isinstance(x, (list, tuple))
    arrays = list(x) if several else [x]
    tape = GradientTape()
    with _recording(_CallContext(bool(training))) as context, tape:
        inputs = [tape.watch(a) if np.asarray(a).dtype.kind == "f" else a for a in arrays]
        output = invoke_call(layer, inputs if several else inputs[0], call_keywords(layer, training, mask))
        added = [ops_sum(loss) for loss in context.losses]     # Keras adds ops.sum of each added loss
    several_outputs = isinstance(output, (list, tuple))
    outputs = list(output) if several_outputs else [output]
    # A returned Variable (a running total) is copied: later calls change the variable, not this output.
    values = [np.array(o.value) if isinstance(o, Variable) else np.asarray(_plain(o)) for o in outputs]
    trainable = list(layer.params) if layer.trainable else []
    variables = [weight_variable(layer, name) for name in trainable]
    tracked_losses = [loss for loss in added if isinstance(loss, Tensor)]

    def backprop(grad_output):
        sources = [t for t in inputs if isinstance(t, Tensor)] if need_input_grad else []
        # The added losses count once each in the total loss: upstream gradient 1. grad_output is None when
        # only they reach the loss (a model compiled without a loss).
        grad_outputs = list(grad_output) if several_outputs and grad_output is not None else [grad_output]
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None and isinstance(o, Tensor)]
        targets, upstream = [o for o, _ in pairs], [g for _, g in pairs]
        targets += tracked_losses
        upstream += [np.ones((), loss.value.dtype) for loss in tracked_losses]
        grads = tape.gradient(targets, sources + variables, output_gradients=upstream) \
            if any(isinstance(t, Tensor) for t in targets) else [None] * (len(sources) + len(variables))
        for name, grad in zip(trainable, grads[len(sources):]):
            weight = layer._weights[name]
            layer.grads[name] = np.zeros_like(weight) if grad is None else np.asarray(grad, weight.dtype)
        if not need_input_grad:
            return None
        by_input = iter(grads[:len(sources)])
        input_grads = [_zeros_if_none(next(by_input), a) if isinstance(t, Tensor) else None
                       for t, a in zip(inputs, arrays)]
        return input_grads if several else input_grads[0]

    backprop.added_losses = [float(np.asarray(_plain(loss))) for loss in added]
    return (values if several_outputs else values[0]), backprop


def added_loss_total(backprop) -> float:
    """The sum of the losses a layer call added with ``add_loss`` (0 for layers that add none)."""
    return sum(getattr(backprop, "added_losses", ()))


def weight_variable(layer, name: str):
    """The Variable ``call`` reads for ``layer``'s weight ``name``: its own, or, for a sublayer's weight listed
    under the outer layer (``dense/kernel``), the Variable of the layer that owns it."""
    owner, key = layer.__dict__.get("_weight_owners", {}).get(name, (layer, name))
    if owner is not layer:
        return weight_variable(owner, key)
    return layer_variable(layer, name)


# ----- layers inside layers ---------------------------------------------------------------------------------

_layer_base = ()     # nbtrain.layers.layer.Layer, handed over by layer.py (which imports this module)
# A model's attributes that list the layers of its graph, not the layers its call() uses.
_MODEL_ATTRIBUTES = frozenset({"layers", "inputs", "outputs"})


def use_layer_base(layer_class: type) -> None:
    """Tell this module the ``Layer`` base class, to recognize sublayers among a layer's attributes."""
    global _layer_base
    _layer_base = layer_class


def sublayers(layer) -> list:
    """The layers held in ``layer``'s attributes (directly, or in lists, tuples and dicts), in the order they
    were assigned: Keras tracks these as the layer's sublayers."""
    found = []
    source = layer._attribute_source()
    for name, value in vars(source).items():
        if name.startswith("_") or (source is not layer and name in _MODEL_ATTRIBUTES):
            continue
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)])
        for key, item in items:
            if isinstance(item, _layer_base) and item is not layer:
                found.append((name if key is None else f"{name}.{key}", item))
    return found


def track_sublayers(layer, input_shape) -> None:
    """Once ``layer`` is built: build the sublayers its ``call`` uses (one run on zeros when building did not
    already run it) and list their weights as ``layer``'s (see :func:`link_sublayer_weights`)."""
    found = sublayers(layer)
    if not found:
        return
    if any(not sub.built for _, sub in found):
        run_on_zeros(layer, input_shape)
    link_sublayer_weights(layer)


def link_sublayer_weights(layer) -> None:
    """Add each built sublayer's weights to ``layer``'s under ``attribute/weight`` (the same arrays, so an
    optimizer updating them updates the sublayer), with their trainability, regularizers and constraints."""
    owners = layer.__dict__.setdefault("_weight_owners", {})
    for name in owners:
        layer._weights.pop(name, None)
        layer._regularizers.pop(name, None)
        layer._constraints.pop(name, None)
    layer._trainable_weight_names = [n for n in layer._trainable_weight_names if n not in owners]
    owners.clear()
    for attribute, sub in sublayers(layer):
        if not sub.built:
            continue
        trainable = set(sub.params)     # empty when the sublayer is frozen
        for key, value in sub._weights.items():
            name = f"{attribute}/{key}"
            layer._weights[name] = value
            owners[name] = (sub, key)
            if key in trainable:
                layer._trainable_weight_names.append(name)
            if key in sub._regularizers:
                layer._regularizers[name] = sub._regularizers[key]
            if key in sub._constraints:
                layer._constraints[name] = sub._constraints[key]


def cast_with_sublayers(layer, dtype) -> None:
    """``cast_weights`` of a layer with sublayers: cast its own weights and its sublayers', then link again."""
    owners = layer.__dict__.get("_weight_owners", {})
    for name in layer._weights:
        if name not in owners:
            layer._weights[name] = layer._weights[name].astype(dtype)
    for _, sub in sublayers(layer):
        if sub.built:
            sub.cast_weights(dtype)
    link_sublayer_weights(layer)


def call_inside(layer, x, training, mask):
    """``layer(x)`` inside another layer's ``call``, on tracked tensors: recorded on the same tape.

    ``training`` left unset follows the outer call's mode, as Keras propagates it.
    """
    context = current_context()
    if training is None:
        training = context.training if context is not None else layer.training_by_default
    several = isinstance(x, (list, tuple))
    items = list(x) if several else [x]
    shapes = [tuple(np.shape(_plain(item))) for item in items]
    layer.ensure_built(shapes if several else shapes[0])
    if getattr(layer, "_written_with_call", False):
        output = invoke_call(layer, x, call_keywords(layer, training, mask))
    else:
        output = _recorded_apply(layer, items, several, training, mask)
    if layer.activity_regularizer is not None and context is not None:
        _add_activity_penalty(layer, output)
    return output


def _add_activity_penalty(layer, output) -> None:
    """An inner layer's ``activity_regularizer``: its penalty joins the added losses, with its gradient."""
    from nbtrain.ops.autodiff import make_result
    from nbtrain.regularizers import activity_penalty, activity_penalty_gradient

    regularizer = layer.activity_regularizer
    for value in (output if isinstance(output, (list, tuple)) else [output]):
        array = np.asarray(_plain(value))
        penalty = np.asarray(activity_penalty(regularizer, array), array.dtype)
        add_loss(layer, make_result(penalty, [value], [
            lambda grad, array=array: grad * activity_penalty_gradient(regularizer, array)]))


def _recorded_apply(layer, items, several, training, mask):
    """A built-in layer's fused ``_apply`` on ``items`` (its inputs) as one recorded op: its backprop gives the
    gradients of the inputs and of the layer's trainable weights, which the tape then sends on."""
    from nbtrain.ops.autodiff import Tensor, unwrap

    arrays = [_plain(item) for item in items]
    need_input_grad = any(isinstance(item, Tensor) for item in items)
    argument = arrays if several else arrays[0]
    if mask is not None and layer.accepts_mask:
        value, backprop = layer._apply(argument, bool(training), need_input_grad, mask=mask)
    else:
        value, backprop = layer._apply(argument, bool(training), need_input_grad)
    if isinstance(value, (list, tuple)):
        raise NotImplementedError(f"Layer '{layer.name}' ({type(layer).__name__}) returns several outputs; nbtrain "
                                  f"records only single-output built-in layers inside another layer's call().")
    names = list(layer.params)
    weights = [unwrap(layer_variable(layer, name)) for name in names]
    parents = [item for item in items if isinstance(item, Tensor)] + [w for w in weights if isinstance(w, Tensor)]
    if not parents or np.asarray(value).dtype.kind != "f":
        return value
    results = {}

    def gradients(grad):
        if results.get("for") is not grad:      # one backprop per upstream gradient, shared by every parent
            grad_input = backprop(np.ascontiguousarray(grad, dtype=value.dtype))
            grad_inputs = grad_input if several else [grad_input]
            results.update({"for": grad, "inputs": list(grad_inputs) if grad_inputs is not None else
                            [None] * len(items), "weights": [layer.grads[name].copy() for name in names]})
        return results

    grad_fns = []
    for index, item in enumerate(items):
        if isinstance(item, Tensor):
            grad_fns.append(lambda g, i=index: _zeros_if_none(gradients(g)["inputs"][i], items[i].value))
    for index, weight in enumerate(weights):
        if isinstance(weight, Tensor):
            grad_fns.append(lambda g, i=index: gradients(g)["weights"][i])
    return Tensor(np.asarray(value), tuple(parents), tuple(grad_fns))


def _zeros_if_none(grad, like):
    return np.zeros(np.shape(like), np.asarray(like).dtype) if grad is None else np.asarray(grad)


def call_keywords(layer, training, mask) -> dict:
    """``training`` and ``mask`` for the layer's ``call``, when its signature takes them (as Keras passes them)."""
    parameters = _call_parameters(type(layer))
    keywords = {}
    if "training" in parameters:
        keywords["training"] = bool(training)
    if "mask" in parameters and mask is not None:
        keywords["mask"] = mask
    return keywords


@cache
def _call_parameters(layer_class) -> frozenset:
    return frozenset(inspect.signature(layer_class.call).parameters)


@cache
def tensor_parameters(layer_class) -> tuple[str, ...]:
    """The names of ``call``'s tensor parameters: all but ``training`` and ``mask`` (Keras's LogisticEndpoint
    has ``call(self, targets, logits, sample_weights=None)``)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(inspect.signature(layer_class.call).parameters.values())[1:]     # without self
    return tuple(p.name for p in parameters if p.kind in kinds and p.name not in ("training", "mask"))


def gather_tensor_arguments(layer, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``layer(targets, logits)`` for a ``call`` taking several tensors: one list of inputs, so that the layer
    is a node with several inputs in a functional model; :func:`invoke_call` spreads them again.

    Returns the arguments unchanged for a ``call`` taking one tensor (a list is then one argument, as in Keras).
    """
    names = tensor_parameters(type(layer))
    if len(names) < 2:
        return args, kwargs
    given = dict(zip(names, args))
    rest = list(args[len(names):])
    for name in names[len(args):]:
        if name in kwargs:
            given[name] = kwargs.pop(name)
    count = len(given)
    if len(args) <= 1 and count <= 1:
        return args, kwargs           # a single tensor (or a list of them) in the first parameter
    if list(given) != list(names[:count]):
        missing = [name for name in names[:max(names.index(n) for n in given) + 1] if name not in given]
        raise TypeError(f"{type(layer).__name__}.call() takes its tensors {', '.join(names)} in this order; "
                        f"{', '.join(missing)} was not given. Pass each tensor up to the last one you use.")
    layer._spread_inputs = True
    return (list(given.values()), *rest), kwargs


def invoke_call(layer, inputs, keywords: dict):
    """``layer.call(inputs, **keywords)``, or ``layer.call(*inputs, ...)`` when the layer was called with
    several tensor arguments (see :func:`gather_tensor_arguments`)."""
    if getattr(layer, "_spread_inputs", False):
        return layer.call(*inputs, **keywords)
    return layer.call(inputs, **keywords)


def inferred_output_shape(layer, input_shape):
    """The output shape of ``call`` for inputs of ``input_shape``: run it once on zeros (Keras traces it
    symbolically; a batch of 2 stands for the unknown batch size and is given back as None)."""
    several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
    shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    output = run_on_zeros(layer, input_shape)
    batch_unknown = shapes[0][:1] == (None,)
    found = [((None,) if batch_unknown else o.shape[:1]) + tuple(o.shape[1:]) for o in _as_list(output)]
    return found if isinstance(output, list) else found[0]


def _as_list(output) -> list:
    return output if isinstance(output, list) else [output]


def run_on_zeros(layer, input_shape):
    """``layer.call`` on zeros of ``input_shape`` in inference mode (a batch of 2 for an unknown batch size),
    its added losses dropped: to learn the output shape and build the sublayers it calls. Returns an array, or
    a list of arrays for a ``call`` returning several."""
    several = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
    shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    zeros = [np.zeros(tuple(2 if d is None else d for d in shape), np.float32) for shape in shapes]
    with _recording(_CallContext(False)), np.errstate(all="ignore"):     # zeros: 1 / x may be inf here
        output = invoke_call(layer, zeros if several else zeros[0], call_keywords(layer, False, None))
    if isinstance(output, (list, tuple)):
        return [np.asarray(_plain(o)) for o in output]
    return np.asarray(_plain(output))


def _plain(value):
    return getattr(value, "value", value)


def uses_call(layer_class) -> bool:
    """A layer written the Keras way: it defines ``call`` and none of nbtrain's own ways to compute."""
    return "call" in layer_class.__dict__ and not any(
        name in layer_class.__dict__ for name in ("_apply", "forward", "backward"))
