"""Functional models: ``Model(inputs, outputs)`` over a graph of layer calls, with several inputs and outputs.

The graph is a list of :class:`Node` objects (one per layer call) in topological order. The forward pass
walks it keeping every tensor's value and every call's ``backprop`` (see ``Layer._apply``); the backward pass
walks it in reverse, summing the gradients of tensors that feed several layers. A layer called more than once
(a *shared* layer) has one backprop per call, and its weight gradients are summed over the calls, so every use
contributes.
"""

from __future__ import annotations

import numpy as np

from nbtrain.layers.input_layer import InputLayer
from nbtrain.layers.symbolic import SymbolicTensor
from nbtrain.models.model import Model
from nbtrain.models.model_classes import MODELS
from nbtrain.utils.errors import check_keyword_arguments
from nbtrain.utils.naming import shape_text
from nbtrain.layers.custom_call import added_loss_total
from nbtrain.regularizers import activity_penalty_gradient


def _as_tensor_list(structure, what: str) -> tuple[list[SymbolicTensor], list[str] | None]:
    """Flatten one tensor, a list/tuple, or a dict of tensors; return the tensors and dict keys if any."""
    if isinstance(structure, dict):
        keys = list(structure)
        tensors = [structure[k] for k in keys]
    else:
        keys = None
        tensors = list(structure) if isinstance(structure, (list, tuple)) else [structure]
    for tensor in tensors:
        if not isinstance(tensor, SymbolicTensor):
            raise TypeError(
                f"Model {what} must be symbolic tensors from nbtrain.Input(...) or from calling layers on them, "
                f"got {type(tensor).__name__}. Example: inputs = Input(shape=(4,)); "
                f"outputs = Dense(1)(inputs); model = Model(inputs, outputs)."
            )
    if not tensors:
        raise ValueError(f"Model needs at least one tensor in {what}.")
    return tensors, keys


def _topological_nodes(outputs: list[SymbolicTensor], inputs: list[SymbolicTensor]):
    """Every layer call between the inputs and the outputs, each after the calls that feed it."""
    input_ids = {id(t) for t in inputs}
    order, state = [], {}

    def visit(node):
        mark = state.get(id(node))
        if mark == "done":
            return
        if mark == "visiting":
            raise ValueError("The layer graph has a cycle; a layer's output cannot feed back into its own input.")
        state[id(node)] = "visiting"
        for tensor in node.inputs:
            if id(tensor) in input_ids:
                continue
            if isinstance(tensor.node.layer, InputLayer):
                raise ValueError(
                    f"Graph disconnected: the output depends on Input '{tensor.node.layer.name}' "
                    f"(shape {tensor.shape}), which is not in the model's inputs. Add it to inputs=[...]."
                )
            visit(tensor.node)
        state[id(node)] = "done"
        order.append(node)

    for tensor in outputs:
        if id(tensor) in input_ids:
            continue
        visit(tensor.node)
    return order


@MODELS.register()
class Functional(Model):
    """A model defined by calling layers on ``Input`` tensors: ``Model(inputs, outputs)``.

    Args:
        inputs: an ``Input`` tensor, or a list or dict of them.
        outputs: the tensor(s) the model computes, as a tensor, list or dict.
        name: model name.

    Example:
        >>> from nbtrain import Input, Model
        >>> from nbtrain.layers import Dense, Concatenate
        >>> a, b = Input(shape=(3,), name="a"), Input(shape=(2,), name="b")
        >>> hidden = Dense(8, activation="relu")(Concatenate()([a, b]))
        >>> model = Model([a, b], [Dense(1, name="price")(hidden), Dense(1, activation="sigmoid", name="sold")(hidden)])
        >>> model.output_names
        ['price', 'sold']
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        check_keyword_arguments("Model()", kwargs, ["inputs", "outputs", "name", "trainable"])
        if inputs is None or outputs is None:
            raise TypeError("Model() needs both inputs and outputs: Model(inputs=input_tensor, outputs=output_tensor).")
        super().__init__(name=name, trainable=trainable)
        self._set_graph(inputs, outputs)

    def _set_graph(self, inputs, outputs) -> None:
        """Take the graph from ``inputs`` to ``outputs``: its calls in order, its layers, what they need."""
        self.inputs, self._input_keys = _as_tensor_list(inputs, "inputs")
        self.outputs, self._output_keys = _as_tensor_list(outputs, "outputs")
        for tensor in self.inputs:
            if not isinstance(tensor.node.layer, InputLayer):
                raise ValueError(f"Model inputs must come straight from Input(...); '{tensor.layer.name}' is a "
                                 f"{type(tensor.layer).__name__} output.")
        self._nodes = _topological_nodes(self.outputs, self.inputs)
        self.layers = self._layers_in_order()
        self._consumers = self._count_consumers()
        self._node_index = {id(node): index for index, node in enumerate(self._nodes)}
        self._backprops = []            # per node, from the last forward pass
        self._earlier_gradients = {}    # per shared layer: reused buffers for summing its calls' gradients
        self._activity_outputs = {}
        self._pool_candidates = self._find_pool_candidates()
        self._decide_input_gradients()
        self.built = True

    # ----- as a block of a bigger graph -----------------------------------------------------------------

    @property
    def input(self):
        """The model's input tensor (a list for several inputs), as Keras's ``model.input``."""
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        """The model's output tensor (a list for several outputs), as Keras's ``model.output``."""
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    def call_symbolically(self, x):
        """``model(new_tensors)`` inside another functional model (an autoencoder's ``encoder(inputs)``): the
        model's layer calls are replayed on the new tensors, so the layers and their weights are shared.

        The bigger model then lists these layers one by one (Keras shows the inner model as one layer)."""
        given = list(x.values()) if isinstance(x, dict) else list(x) if isinstance(x, (list, tuple)) else [x]
        if isinstance(x, dict) and self._input_keys is not None:
            given = [x[key] for key in self._input_keys]
        if len(given) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' takes {len(self.inputs)} input tensor(s), got {len(given)}.")
        for tensor, placeholder in zip(given, self.inputs):
            if tuple(tensor.shape[1:]) != tuple(placeholder.shape[1:]):
                raise ValueError(f"Model '{self.name}' expects inputs of shape {shape_text(placeholder.shape)} but was "
                                 f"called on a tensor of shape {shape_text(tensor.shape)}.")
        replaced = {id(old): new for old, new in zip(self.inputs, given)}
        for node in self._nodes:
            inputs = [replaced[id(t)] for t in node.inputs]
            result = node.call_layer(inputs)
            for old, new in zip(node.outputs, result if len(node.outputs) > 1 else [result]):
                replaced[id(old)] = new
        outputs = [replaced[id(t)] for t in self.outputs]
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outputs))
        return outputs[0] if len(outputs) == 1 else outputs

    # ----- structure ------------------------------------------------------------------------------------

    def _layers_in_order(self):
        layers = [t.node.layer for t in self.inputs]
        for node in self._nodes:
            if all(node.layer is not known for known in layers):
                layers.append(node.layer)
        return layers

    def _count_consumers(self) -> dict:
        counts = {}
        for node in self._nodes:
            for tensor in node.inputs:
                counts[id(tensor)] = counts.get(id(tensor), 0) + 1
        return counts

    def _find_pool_candidates(self) -> frozenset:
        """The indices of the convolution calls that may run the next call, a max pool, on their pre-activation,
        as Sequential does (see ``Sequential._pools_next``): the pool takes the convolution's one output, which
        nothing else reads and the model does not return, and neither layer is called anywhere else in the
        graph (the fused path keeps work arrays on the layer for its backward pass). Whether a pair fuses is
        then checked on every pass, since the layers' settings may change: see :meth:`_pools_next`."""
        calls = {}
        for node in self._nodes:
            calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
        returned = {id(tensor) for tensor in self.outputs}
        candidates = set()
        for index, (node, following) in enumerate(zip(self._nodes, self._nodes[1:])):
            plain = not (node.list_input or node.state_count or following.list_input or following.state_count)
            if (plain and hasattr(node.layer, "pools_before_activation") and len(node.outputs) == 1
                    and following.inputs == node.outputs and self._consumers.get(id(node.outputs[0])) == 1
                    and id(node.outputs[0]) not in returned
                    and calls[id(node.layer)] == calls[id(following.layer)] == 1):
                candidates.add(index)
        return frozenset(candidates)

    def _pools_next(self, index: int) -> bool:
        """Whether call ``index`` runs the max pool of call ``index + 1`` on its pre-activation (a Conv with relu or
        no activation and no activity penalty, before a max pool whose windows tile: exact, see Conv2D.apply_pooled)."""
        return index in self._pool_candidates and self._nodes[index].layer.pools_before_activation(
            self._nodes[index + 1].layer)

    def _decide_input_gradients(self) -> None:
        """For each node, whether its call must compute dL/dx: only if something trainable lies between its
        inputs and the model's inputs."""
        needs = {id(t): False for t in self.inputs}
        self._input_gradient_needs = []
        for node in self._nodes:
            upstream = any(needs.get(id(t), False) for t in node.inputs)
            self._input_gradient_needs.append(upstream)
            for tensor in node.outputs:
                needs[id(tensor)] = upstream or bool(node.layer.params)

    def _on_trainable_changed(self) -> None:
        self._decide_input_gradients()

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        if self._output_keys is not None:
            return list(self._output_keys)
        names = []
        for tensor in self.outputs:
            node = tensor.node
            base = node.layer.name
            if len(node.outputs) > 1:
                base = f"{base}_{node.outputs.index(tensor)}"
            names.append(base if base not in names else f"{base}_{len(names)}")
        return names

    @property
    def output_layers(self):
        """The object computing each output, or None where fusing with the loss would be wrong."""
        layers = []
        for tensor in self.outputs:
            node = tensor.node
            alone = len(node.outputs) == 1 and self._consumers.get(id(tensor), 0) == 0 and node in self._nodes
            layers.append(node.layer if alone else None)
        return layers

    @property
    def output_shapes(self) -> list[tuple]:
        return [t.shape for t in self.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = self.output_shapes
        return shapes[0] if len(shapes) == 1 else shapes

    def build(self, input_shape=None) -> None:
        """Functional models are built when created; this exists for Keras compatibility."""

    # ----- data -----------------------------------------------------------------------------------------

    def _check_inputs(self, xs) -> None:
        if len(xs) != len(self.inputs):
            raise ValueError(
                f"Model '{self.name}' has {len(self.inputs)} inputs {self.input_names} but received "
                f"{len(xs)} array(s). Pass a list with one array per input (or a dict keyed by input name)."
            )
        for x, tensor, name in zip(xs, self.inputs, self.input_names):
            expected = tensor.shape
            if x.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:], x.shape[1:])):
                raise ValueError(f"Input '{name}' of model '{self.name}' expects shape {shape_text(expected)} but got an "
                                 f"array of shape {x.shape}.")

    # ----- computation ----------------------------------------------------------------------------------

    def _forward(self, xs, training=False) -> list[np.ndarray]:
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        masks = {}
        self._activity_outputs = {}
        self._added_loss = 0.0     # what layers' call() added with add_loss, this pass
        self._backprops = backprops = []
        steps = enumerate(zip(self._nodes, self._input_gradient_needs))
        for index, (node, need_input_grad) in steps:
            layer = node.layer
            inputs = [values[id(t)] for t in node.inputs]
            argument = inputs if node.list_input else inputs[0]
            mask = masks.get(id(node.inputs[0]))
            if mask is None and self._pools_next(index):
                self._run_pooled(index, argument, training, need_input_grad, values)
                next(steps)          # the pool ran with this call (see _pools_next)
                continue
            arguments = {"mask": mask} if mask is not None and layer.accepts_mask else {}
            if node.state_count:
                arguments["initial_state"] = inputs[1:]
            result, backprop = layer._apply(argument, training, need_input_grad, **arguments)
            backprops.append(backprop)
            self._added_loss += added_loss_total(backprop)
            results = result if len(node.outputs) > 1 else [result]
            if node.list_input:     # merge layers combine one mask per input (None for an input without)
                input_masks = [masks.get(id(t)) for t in node.inputs]
                output_mask = layer.compute_mask(argument, None if all(m is None for m in input_masks)
                                                 else input_masks)
            else:
                output_mask = layer.compute_mask(argument, mask)
            if layer.activity_regularizer is not None:
                self._activity_outputs[id(node)] = (layer.activity_regularizer, results)
            for tensor, value in zip(node.outputs, results):
                values[id(tensor)] = value
                if output_mask is not None:
                    masks[id(tensor)] = output_mask
        self._values = values
        self._masks = masks
        return [values[id(t)] for t in self.outputs]

    def _run_pooled(self, index, x, training, need_input_grad, values) -> None:
        """Run convolution call ``index`` and the max pool after it as one (see _pools_next); the convolution's
        own output is never made, so only the pool's output gets a value."""
        conv_node, pool_node = self._nodes[index], self._nodes[index + 1]
        pooled, backprop, pool_backprop = conv_node.layer.apply_pooled(pool_node.layer, x, training, need_input_grad)
        self._backprops += [backprop, pool_backprop]
        pool = pool_node.layer
        if pool.activity_regularizer is not None:
            self._activity_outputs[id(pool_node)] = (pool.activity_regularizer, [pooled])
        values[id(pool_node.outputs[0])] = pooled

    def _output_masks(self) -> list:
        masks = getattr(self, "_masks", {})
        return [masks.get(id(t)) for t in self.outputs]

    def _backward(self, output_gradients) -> None:
        grads, ran, filled = {}, set(), set()     # filled: ids of layers whose gradients this pass has written
        for tensor, (grad, is_logits_gradient) in zip(self.outputs, output_gradients):
            if grad is None:
                continue
            if is_logits_gradient:
                node = tensor.node
                index = self._node_index[id(node)]
                backprop = self._backprops[index].from_preactivation
                self._accumulate(grads, node, self._run_backprop(node.layer, backprop, grad, filled))
                ran.add(index)
            else:
                grads[id(tensor)] = grads[id(tensor)] + grad if id(tensor) in grads else grad
        for index in range(len(self._nodes) - 1, -1, -1):
            node = self._nodes[index]
            if index in ran:
                continue
            outgoing = [grads.get(id(t)) for t in node.outputs]
            if all(g is None for g in outgoing):
                if not getattr(self._backprops[index], "added_losses", None):
                    continue
                outgoing = [np.zeros_like(self._values[id(t)]) for t in node.outputs]   # its add_loss still counts
            if len(outgoing) > 1:
                outgoing = [np.zeros_like(self._values[id(t)]) if g is None else g
                            for g, t in zip(outgoing, node.outputs)]
            outgoing = self._with_activity_gradient(node, outgoing)
            grad = outgoing if len(outgoing) > 1 else outgoing[0]
            self._accumulate(grads, node, self._run_backprop(node.layer, self._backprops[index], grad, filled))
        self._zero_unreached_gradients(filled)

    def _run_backprop(self, layer, backprop, grad, filled):
        """Run one call's backprop. A backprop writes (not adds) its layer's gradients, so when an earlier call of
        the same (shared) layer has written them in this pass, keep a copy and add it back: the sum over calls."""
        if id(layer) not in filled or not layer.params:
            filled.add(id(layer))
            return backprop(grad)
        earlier = self._copy_gradients(layer)
        grad_input = backprop(grad)
        for name, gradient in earlier.items():
            layer.grads[name] += gradient
        return grad_input

    def _copy_gradients(self, layer) -> dict:
        """A copy of ``layer``'s gradients in buffers kept for it, so summing over calls allocates once."""
        buffers = self._earlier_gradients.setdefault(id(layer), {})
        for name in layer.params:
            gradient = layer.grads[name]
            buffer = buffers.get(name)
            if buffer is None or buffer.shape != gradient.shape or buffer.dtype != gradient.dtype:
                buffer = buffers[name] = np.empty_like(gradient)
            np.copyto(buffer, gradient)
        return buffers

    def _with_activity_gradient(self, node, outgoing):
        entry = self._activity_outputs.get(id(node))
        if entry is None:
            return outgoing
        regularizer, outputs = entry
        return [g + activity_penalty_gradient(regularizer, out) for g, out in zip(outgoing, outputs)]

    @staticmethod
    def _accumulate(grads, node, input_grads) -> None:
        if input_grads is None:
            return
        input_grads = input_grads if node.several_inputs else [input_grads]
        for tensor, grad in zip(node.inputs, input_grads):
            if grad is None:
                continue
            key = id(tensor)
            grads[key] = grads[key] + grad if key in grads else grad

    def _zero_unreached_gradients(self, filled) -> None:
        """A layer no loss reached (an output left out of the loss) gets zero gradients, not last batch's."""
        for layer in self.layers:
            if id(layer) not in filled:
                for name in layer.params:
                    layer.grad_buffer(name).fill(0)

    # ----- configuration --------------------------------------------------------------------------------

    def get_config(self) -> dict:
        """Architecture as plain data: layers, then the calls between them in order (for saving)."""
        node_index = {}
        tensor_address = {}
        for tensor in self.inputs:
            tensor_address[id(tensor)] = [tensor.node.layer.name, 0, 0]
        calls = []
        for node in self._nodes:
            index = node_index.setdefault(id(node.layer), [])
            index.append(id(node))
            position = len(index) - 1
            for i, tensor in enumerate(node.outputs):
                tensor_address[id(tensor)] = [node.layer.name, position, i]
            call = {"layer": node.layer.name, "inputs": [tensor_address[id(t)] for t in node.inputs],
                    "list_input": node.list_input}
            if node.state_count:
                call["initial_state"] = node.state_count
            calls.append(call)
        return {
            "name": self.name,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
            "calls": calls,
            "input_layers": [tensor_address[id(t)] for t in self.inputs],
            "output_layers": [tensor_address[id(t)] for t in self.outputs],
            "input_keys": self._input_keys,
            "output_keys": self._output_keys,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """Rebuild the graph from :meth:`get_config` (layers are created fresh, unbuilt weights re-initialised)."""
        from nbtrain.layers import serialization

        layers = {}
        for entry in config["layers"]:
            layer = serialization.deserialize(entry, custom_objects=custom_objects)
            layers[layer.name] = layer
        produced = {}
        for layer in layers.values():
            if isinstance(layer, InputLayer):
                produced[(layer.name, 0)] = [layer.output]
        for call in config["calls"]:
            inputs = [produced[(name, node)][index] for name, node, index in call["inputs"]]
            layer = layers[call["layer"]]
            if call.get("initial_state"):
                result = layer(inputs[0], initial_state=inputs[1:])
            else:
                result = layer(inputs if call["list_input"] else inputs[0])
            calls_so_far = sum(1 for key in produced if key[0] == call["layer"])
            produced[(call["layer"], calls_so_far)] = result if isinstance(result, list) else [result]
        pick = lambda address: produced[(address[0], address[1])][address[2]]  # noqa: E731
        inputs = [pick(a) for a in config["input_layers"]]
        outputs = [pick(a) for a in config["output_layers"]]
        if config.get("input_keys"):
            inputs = dict(zip(config["input_keys"], inputs))
        if config.get("output_keys"):
            outputs = dict(zip(config["output_keys"], outputs))
        return cls(inputs, outputs, name=config.get("name"))
