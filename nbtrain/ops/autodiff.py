"""Reverse-mode automatic differentiation: tracked tensors, the recording context and the backward pass.

A :class:`Tensor` wraps a NumPy array. Tensors come from :meth:`GradientTape.watch` (the leaves) and from the
ops applied to them: each op result remembers its parents and, per parent, a function turning the gradient
of the result into the gradient of that parent (a vector-Jacobian product). :func:`backpropagate` walks that
graph from the outputs back to the leaves. Ops whose arguments are all plain arrays return plain arrays and
record nothing, so the same loss function runs eagerly on NumPy and under a tape.

A :class:`Variable` is a weight that ops can read directly (``x @ self.kernel``): outside a tape it behaves as
its array; while a tape watches it, ops see the tape's tensor for it, so its gradient is recorded.
"""

from __future__ import annotations

import threading
import types

import numpy as np

from nbtrain.ops._numpy_names import numpy_equivalent_hint

_local = threading.local()  # the active tapes of this thread (fit(background=True) trains in another thread)


def _active_tapes() -> list:
    tapes = getattr(_local, "tapes", None)
    if tapes is None:
        tapes = _local.tapes = []
    return tapes


class _ArithmeticMixin:
    """Python operators on tensors and variables, each one the ``nbtrain.ops`` function of the same name."""

    __slots__ = ()
    # NumPy's binary operators give way to ours (``array * tensor`` -> Tensor.__rmul__).
    __array_priority__ = 1000

    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __floordiv__(self, other):
        return _ops().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops().floor_divide(other, self)

    def __mod__(self, other):
        return _ops().mod(self, other)

    def __rmod__(self, other):
        return _ops().mod(other, self)

    def __pow__(self, other):
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __eq__(self, other):
        return _ops().equal(self, other)

    def __ne__(self, other):
        return _ops().not_equal(self, other)

    __hash__ = object.__hash__  # == is elementwise, as on arrays; identity hashing keeps tensors usable as keys

    def __getitem__(self, key):
        return _ops().get_item(self, key)

    def __len__(self):
        return len(self._array())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._array())

    def __float__(self):
        return float(self._array())

    def __int__(self):
        return int(self._array())

    def __index__(self):
        return self._array().__index__()

    @property
    def shape(self) -> tuple:
        return self._array().shape

    @property
    def dtype(self):
        return self._array().dtype

    @property
    def ndim(self) -> int:
        return self._array().ndim

    @property
    def size(self) -> int:
        return self._array().size

    @property
    def T(self):
        return _ops().transpose(self)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (no gradient flows through it)."""
        return self._array()

    def reshape(self, *shape):
        return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype):
        return _ops().cast(self, dtype)


#: The ops functions by name, filled in by ``nbtrain.ops`` when it loads (the ops modules import this one, so
#: the operators cannot import them).
OPS = types.SimpleNamespace()


def _ops():
    return OPS


class Tensor(_ArithmeticMixin):
    """An array whose operations are recorded for automatic differentiation.

    You get tensors inside a :class:`GradientTape` (``tape.watch(array)``), or as the inputs of a custom
    layer's ``call`` while a model trains. Use ``nbtrain.ops`` functions and Python operators on them; NumPy
    functions would drop the gradient, so they raise an error naming the ``ops`` function to use.

    Attributes:
        value: the NumPy array.
    """

    __slots__ = ("grad_fns", "parents", "value")

    def __init__(self, value: np.ndarray, parents: tuple = (), grad_fns: tuple = ()):
        self.value = value
        self.parents = parents      # the tracked tensors this one was computed from
        self.grad_fns = grad_fns    # per parent: gradient of this tensor -> gradient of that parent

    def _array(self) -> np.ndarray:
        return self.value

    def __repr__(self) -> str:
        body = np.array2string(self.value, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, shape={self.value.shape}, dtype={self.value.dtype})"

    # Handing a tracked tensor to NumPy would compute a value with no gradient: refuse, and say what to use.
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_NO_CONVERSION)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # ``array + tensor`` reaches us as np.add(array, tensor): the operators' ufuncs run as the ops.
        operator_op = _OPERATOR_UFUNCS.get(ufunc.__name__)
        if method == "__call__" and operator_op is not None and not kwargs:
            return getattr(_ops(), operator_op)(*inputs)
        raise TypeError(numpy_equivalent_hint(f"numpy.{ufunc.__name__}", OPS))

    def __array_function__(self, func, types, args, kwargs):
        if func in _INTROSPECTION and len(args) == 1:
            return func(self.value, **kwargs)  # a shape has no gradient to lose
        raise TypeError(numpy_equivalent_hint(f"numpy.{func.__name__}", OPS))


_INTROSPECTION = (np.shape, np.ndim, np.size)

_NO_CONVERSION = (
    "A tracked nbtrain Tensor cannot be converted to a NumPy array: its gradient would be lost. Use nbtrain.ops "
    "functions on it (from nbtrain import ops; ops.mean(x), ops.exp(x), ...), or ops.convert_to_numpy(x) if you "
    "really want the values without a gradient.")

# NumPy ufuncs behind Python's operators, and the ops that compute them with a gradient.
_OPERATOR_UFUNCS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide", "true_divide": "divide",
    "power": "power", "matmul": "matmul", "floor_divide": "floor_divide", "remainder": "mod", "less": "less",
    "less_equal": "less_equal", "greater": "greater", "greater_equal": "greater_equal", "equal": "equal",
    "not_equal": "not_equal",
}


class Variable(_ArithmeticMixin):
    """A weight: a float array that ops read directly, and whose gradient a :class:`GradientTape` records.

    Outside a tape a variable acts as its array (``np.asarray(v)``, ``v * 2`` gives an array). Inside a tape
    that watches it, ops use the tape's tensor for it, so ``x @ self.kernel`` is differentiated.

    Args:
        value: the initial array (converted to float32 unless ``dtype`` is given).
        dtype: the dtype to store.
        trainable: whether optimizers update it.
        name: a label for messages.

    Example:
        >>> import numpy as np
        >>> from nbtrain import ops
        >>> v = ops.Variable(np.ones(3))
        >>> with ops.GradientTape() as tape:
        ...     y = ops.sum(v * v)
        >>> tape.gradient(y, v)
        array([2., 2., 2.], dtype=float32)
    """

    __slots__ = ("__weakref__", "name", "trainable", "value")

    def __init__(self, value, dtype=None, trainable: bool = True, name: str | None = None):
        self.value = np.array(value, dtype=dtype or _default_float(value))
        self.trainable = trainable
        self.name = name or "variable"

    @classmethod
    def wrap(cls, array: np.ndarray, trainable: bool = True, name: str | None = None) -> "Variable":
        """A variable over ``array`` itself (no copy): in-place updates of the array (an optimizer's) show in
        the variable, as a layer needs for the weights it keeps in arrays.

        Args:
            array: a floating-point NumPy array.
            trainable: whether it is trained.
            name: a label for messages.
        """
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise TypeError(f"Variable.wrap() needs a floating-point NumPy array, got {type(array).__name__}"
                            f"{'' if not isinstance(array, np.ndarray) else ' of dtype ' + str(array.dtype)}.")
        variable = cls.__new__(cls)
        variable.value, variable.trainable, variable.name = array, trainable, name or "variable"
        return variable

    def _array(self) -> np.ndarray:
        tensor = watched_tensor(self)
        return self.value if tensor is None else tensor.value

    def assign(self, value) -> "Variable":
        """Overwrite the values in place (the shape stays)."""
        self.value[...] = _plain(value)
        return self

    def assign_add(self, delta) -> "Variable":
        """Add ``delta`` in place (a metric's running total)."""
        self.value += _plain(delta)
        return self

    def assign_sub(self, delta) -> "Variable":
        """Subtract ``delta`` in place."""
        self.value -= _plain(delta)
        return self

    def _is_recorded(self) -> bool:
        """Whether ops on this variable are being recorded (a tape watches it, or would on first use)."""
        if watched_tensor(self) is not None:
            return True
        tapes = _active_tapes()
        return bool(tapes) and tapes[-1].watch_accessed_variables and self.trainable

    # Outside a tape NumPy sees the array; while recording, NumPy would silently drop the gradient: refuse.
    def __array__(self, dtype=None, copy=None):
        if self._is_recorded():
            raise TypeError(_NO_CONVERSION)
        return self.value if dtype is None else self.value.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if self._is_recorded():
            return Tensor.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)
        return getattr(ufunc, method)(*_values_of_variables(inputs), **_values_of_variables(kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if self._is_recorded():
            raise TypeError(numpy_equivalent_hint(f"numpy.{func.__name__}", OPS))
        return func(*_values_of_variables(args), **_values_of_variables(kwargs))

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.value.shape} dtype={self.value.dtype}>"


def _plain(x):
    """The values of an array, number, Tensor or Variable (an assignment records no gradient)."""
    if isinstance(x, (Tensor, Variable)):
        return x.value
    return x


def _values_of_variables(structure):
    """``structure`` (nested lists, tuples, dicts) with every Variable replaced by its array."""
    if isinstance(structure, Variable):
        return structure.value
    if isinstance(structure, (list, tuple)):
        return type(structure)(_values_of_variables(item) for item in structure)
    if isinstance(structure, dict):
        return {key: _values_of_variables(item) for key, item in structure.items()}
    return structure


def _default_float(value):
    dtype = np.asarray(value).dtype
    return np.float32 if dtype.kind in "biuf" and dtype != np.float16 else dtype


def watched_tensor(variable: Variable):
    """The tensor the innermost tape watching ``variable`` made for it, or None."""
    for tape in reversed(_active_tapes()):
        tensor = tape._variables.get(id(variable))
        if tensor is not None:
            return tensor
    return None


def unwrap(x):
    """An op's argument as a tracked Tensor or a plain array/scalar (a Variable -> its Tensor on the innermost
    active tape, which starts watching a trainable variable on first use unless told not to)."""
    if isinstance(x, Variable):
        tensor = watched_tensor(x)
        tapes = _active_tapes()
        if tensor is not None:
            if tapes[-1]._variables.get(id(x)) is not tensor:
                tapes[-1]._adopt(x, tensor)  # watched by an outer tape: the inner one differentiates it too
            return tensor
        if tapes and tapes[-1].watch_accessed_variables and x.trainable:
            return tapes[-1].watch(x)
        return x.value
    return x


def is_tracked(x) -> bool:
    return isinstance(x, Tensor)


def values_of(*xs):
    """The arrays inside tensors (other arguments unchanged)."""
    return tuple(x.value if isinstance(x, Tensor) else x for x in xs)


def make_result(value, inputs, grad_fns):
    """The result of an op: a Tensor recording its tracked inputs, or ``value`` itself when none is tracked.

    Args:
        value: the op's output array.
        inputs: the op's array arguments (Tensors or arrays), in the order of ``grad_fns``.
        grad_fns: per input, ``g -> gradient for that input`` (already reduced to its shape), or None for
            an input the op is not differentiable in.
    """
    if not _is_differentiable_dtype(value):
        return value  # integer and boolean results carry no gradient
    parents, fns = [], []
    for x, fn in zip(inputs, grad_fns):
        if fn is not None and isinstance(x, Tensor):
            parents.append(x)
            fns.append(fn)
    if not parents:
        return value
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)  # NumPy reductions return scalars; a tensor always holds an array
    return Tensor(value, tuple(parents), tuple(fns))


def _is_differentiable_dtype(value) -> bool:
    return getattr(value, "dtype", np.dtype(float)).kind in "fc"


def sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum ``grad`` over the axes along which an input of ``shape`` was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def backpropagate(outputs, output_grads, targets) -> list:
    """Gradients of ``sum(output * output_grad)`` for each target tensor (None where a target is unreached).

    Args:
        outputs: tracked tensors.
        output_grads: one array per output, of its shape.
        targets: the tensors to return gradients for (leaves or intermediate results).
    """
    grads = {}
    for output, grad in zip(outputs, output_grads):
        if isinstance(output, Tensor):
            _accumulate(grads, output, np.asarray(grad, dtype=output.value.dtype))
    wanted = {id(t) for t in targets}
    order = _topological_order(outputs)
    leads_to_target = _leading_to(order, wanted)
    found = {}
    for node in reversed(order):
        entry = grads.pop(id(node), None)
        if entry is None:
            continue
        grad = entry[0]
        if id(node) in wanted:
            found[id(node)] = grad
        for parent, grad_fn in zip(node.parents, node.grad_fns):
            if id(parent) in leads_to_target:  # skip e.g. dL/dx of a first layer nobody asked for
                _accumulate(grads, parent, grad_fn(grad))
    return [found.get(id(t)) for t in targets]


def _leading_to(order: list, wanted: set) -> set:
    """The ids of the tensors in ``order`` (parents first) that are a wanted tensor or computed from one."""
    leading = set()
    for node in order:
        if id(node) in wanted or any(id(parent) in leading for parent in node.parents):
            leading.add(id(node))
    return leading


def _accumulate(grads: dict, tensor: Tensor, grad) -> None:
    """Add ``grad`` to the tensor's gradient so far. ``grads`` maps id -> (array, whether we own it): a
    gradient fn may hand the same array to several parents, so only a sum we allocated is added to in place."""
    grad = np.asarray(grad)
    if grad.dtype != tensor.value.dtype:
        grad = grad.astype(tensor.value.dtype)
    if grad.shape != tensor.value.shape:
        grad = np.broadcast_to(grad, tensor.value.shape)
    previous = grads.get(id(tensor))
    if previous is None:
        grads[id(tensor)] = (grad, False)
    elif previous[1]:
        previous[0].__iadd__(grad)
    else:
        grads[id(tensor)] = (previous[0] + grad, True)


def _topological_order(outputs) -> list:
    """Every tensor the outputs depend on, parents before children (iterative: RNN graphs are deep)."""
    order, seen = [], set()
    for output in outputs:
        if not isinstance(output, Tensor) or id(output) in seen:
            continue
        seen.add(id(output))
        stack = [(output, iter(output.parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


class GradientTape:
    """Records the ops applied to watched arrays and variables, then gives their gradients.

    Args:
        persistent: accepted for TensorFlow-style code (a tape can always be asked again).
        watch_accessed_variables: watch every trainable :class:`Variable` an op reads while the tape is active
            (as TensorFlow's tape), so ``tape.gradient(loss, layer.trainable_weights)`` needs no ``watch``.

    Example:
        >>> import numpy as np
        >>> from nbtrain import ops
        >>> with ops.GradientTape() as tape:
        ...     w = tape.watch(np.array([1.0, 2.0], dtype=np.float32))
        ...     loss = ops.sum(ops.square(w))
        >>> tape.gradient(loss, w)
        array([2., 4.], dtype=float32)
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        # Gradients can be asked for any number of times (the graph is kept by the tensors): every tape is
        # "persistent"; the argument exists for TensorFlow-style code.
        self.watch_accessed_variables = watch_accessed_variables
        self._variables = {}  # id(Variable) -> its Tensor while this tape is active
        self._keep = []       # the watched variables (keeps their ids valid)

    def __enter__(self) -> GradientTape:
        _active_tapes().append(self)
        return self

    def __exit__(self, *exc_info) -> None:
        tapes = _active_tapes()
        if self in tapes:
            tapes.remove(self)

    def _adopt(self, variable, tensor) -> None:
        self._variables[id(variable)] = tensor
        self._keep.append(variable)

    def watch(self, x):
        """Start recording ``x``. Returns the Tensor to compute with (for a Variable, ops find it themselves).

        Args:
            x: an array, a number, a Variable, or a list/tuple of them.
        """
        if isinstance(x, (list, tuple)):
            return type(x)(self.watch(item) for item in x)
        if isinstance(x, Variable):
            tensor = self._variables.get(id(x))
            if tensor is None:
                tensor = self._variables[id(x)] = Tensor(x.value)
                self._keep.append(x)
            return tensor
        if isinstance(x, Tensor):
            return x
        value = np.asarray(x)
        if value.dtype.kind not in "fc":
            raise TypeError(f"GradientTape.watch() needs floating-point values to differentiate, got dtype "
                            f"{value.dtype}. Cast first: x.astype('float32').")
        return Tensor(value)

    def gradient(self, target, sources, output_gradients=None):
        """d target / d sources, the way TensorFlow's and Keras's tapes answer it.

        Args:
            target: a tensor (or list of tensors); a non-scalar target is summed, unless ``output_gradients``
                gives the upstream gradient for each.
            sources: a watched tensor or Variable, or a (nested list/tuple) of them.
            output_gradients: the upstream gradient(s) of ``target``; ones by default.

        Returns:
            Arrays shaped like ``sources`` (None for a source the target does not depend on).
        """
        targets = list(target) if isinstance(target, (list, tuple)) else [target]
        if output_gradients is None:
            output_gradients = [np.ones(np.shape(t.value if isinstance(t, Tensor) else t)) for t in targets]
        elif not isinstance(output_gradients, (list, tuple)):
            output_gradients = [output_gradients]
        flat_sources = _flatten(sources)
        tensors = [self._variables.get(id(s)) if isinstance(s, Variable) else s for s in flat_sources]
        grads = backpropagate(targets, output_gradients, [t for t in tensors if t is not None])
        grads_iter = iter(grads)
        flat_grads = [None if t is None else next(grads_iter) for t in tensors]
        return _unflatten(sources, iter(flat_grads))


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _unflatten(structure, leaves):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_unflatten(item, leaves) for item in structure)
    return next(leaves)


def vjp(fn, *arrays):
    """Run ``fn(*arrays)`` recording its ops; return its outputs and a function giving input gradients.

    The entry point for a training loop: the forward pass runs once, and the returned ``backward`` turns
    the gradients of the outputs into the gradients of every argument and of every Variable ``fn`` read
    while recording (the variables listed in ``variables``).

    Args:
        fn: a function of arrays written with ``nbtrain.ops``; it returns an array or a list/tuple of them.
        *arrays: its float arguments (NumPy arrays).

    Returns:
        ``(outputs, backward)``: ``outputs`` are NumPy arrays (the same structure ``fn`` returned);
        ``backward(output_grads, variables=(), arguments=True)`` returns ``(argument_grads, variable_grads)``,
        zeros for what the outputs do not depend on; with ``arguments=False`` the argument gradients are not
        computed (None), as for a first layer. ``backward.connected`` is False when no output depends on the
        arguments or on any variable (every gradient would be zero).

    Example:
        >>> import numpy as np
        >>> from nbtrain import ops
        >>> kernel = ops.Variable(np.ones((3, 2)))
        >>> y, backward = ops.vjp(lambda x: ops.relu(x @ kernel), np.ones((4, 3), np.float32))
        >>> (grad_x,), (grad_kernel,) = backward(np.ones((4, 2), np.float32), variables=[kernel])
        >>> grad_kernel
        array([[4., 4.],
               [4., 4.],
               [4., 4.]], dtype=float32)
    """
    tape = GradientTape()
    with tape:
        watched = [tape.watch(np.asarray(a)) for a in arrays]
        outputs = fn(*watched)
    single = not isinstance(outputs, (list, tuple))
    output_list = [outputs] if single else list(outputs)
    for i, output in enumerate(output_list):
        if isinstance(output, Variable):
            output_list[i] = output.value
    values = [o.value if isinstance(o, Tensor) else np.asarray(o) for o in output_list]

    def backward(output_grads, variables=(), arguments=True):
        grads_list = [output_grads] if single else list(output_grads)
        sources = ((watched if arguments else [None] * len(watched))
                   + [tape._variables.get(id(v)) for v in variables])
        reached = backpropagate(output_list, grads_list, [s for s in sources if s is not None])
        reached = iter(reached)
        results = []
        for source, reference in zip(sources, list(arrays) + list(variables)):
            grad = next(reached) if source is not None else None
            shape = np.shape(reference.value if isinstance(reference, Variable) else reference)
            results.append(np.zeros(shape, np.float32) if grad is None else grad)
        return (results[:len(arrays)] if arguments else None), results[len(arrays):]

    # False when no output was computed from the arguments or a variable (all gradients would be zeros): a
    # caller can then explain, e.g. "your loss does not depend on y_pred through nbtrain.ops".
    backward.connected = any(isinstance(o, Tensor) for o in output_list)
    return (values[0] if single else values), backward


def value_and_grad(fn, argnums=0):
    """A function returning ``(fn(*args), gradient of fn's scalar output with respect to args[argnums])``.

    Args:
        fn: a scalar-valued function written with ``nbtrain.ops``.
        argnums: an int or a tuple of ints: which arguments to differentiate.

    Example:
        >>> import numpy as np
        >>> from nbtrain import ops
        >>> loss_and_grad = ops.value_and_grad(lambda w: ops.sum(w ** 2))
        >>> loss_and_grad(np.array([1.0, 3.0], np.float32))
        (array(10., dtype=float32), array([2., 6.], dtype=float32))
    """
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def wrapped(*args):
        with GradientTape() as tape:
            args = list(args)
            for i in positions:
                args[i] = tape.watch(args[i])
            output = fn(*args)
        if not isinstance(output, Tensor):
            raise ValueError(
                "value_and_grad(): the function's result does not depend on the differentiated arguments "
                "through nbtrain.ops (did it convert them to NumPy, or return a constant?).")
        if output.value.size != 1:
            raise ValueError(f"value_and_grad() needs a scalar result, got shape {output.value.shape}. "
                             "Reduce it first, e.g. with ops.mean().")
        grads = tape.gradient(output, [args[i] for i in positions])
        grads = [np.zeros_like(np.asarray(args[i].value)) if g is None else g for i, g in zip(positions, grads)]
        return output.value, (grads[0] if isinstance(argnums, int) else tuple(grads))

    return wrapped
