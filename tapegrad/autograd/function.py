"""Function: the base class of every op, built-in or user-defined (torch.autograd.Function).

``apply`` runs ``forward`` with recording off and, when grad mode is on and an input requires
grad, records one Node that will run ``backward`` when the graph is replayed.
"""

from __future__ import annotations

import functools

import numpy as np

import tapegrad  # ctx.xp; the package is being imported, this binds it
from tapegrad.autograd.errstate import restore, silence
from tapegrad.autograd.grad_mode import PER_THREAD, current, no_grad
from tapegrad.autograd.node import SEQUENCE, Node, _output_entry
from tapegrad.autograd.numerics import check_pattern
from tapegrad.tensor import Tensor, _make, _new


class Function:
    """Base class for ops with a hand-written gradient. Same as ``torch.autograd.Function``.

    Subclass it with two static methods. ``forward(ctx, *inputs)`` computes the outputs;
    ``backward(ctx, *grads)`` returns one gradient per forward input (``None`` where there
    is none), written with tapegrad ops so that it can itself be differentiated.

    Example:
        >>> import tapegrad as tg
        >>> class Cube(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x**3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x**2
        >>> x = tg.tensor([2.0], requires_grad=True)
        >>> Cube.apply(x).backward(tg.ones(1))
        >>> x.grad
        tensor([12.])
    """

    # True: backward uses only operators and ``ctx.xp`` functions, so the engine may run it on
    # numpy arrays when nothing records (tapegrad/ops/_numpy_ops.py); the same formula is
    # recorded under create_graph. False (user Functions): backward always gets Tensors.
    raw_backward = False

    # True: forward computes on arrays only and never calls a tapegrad op, so apply need not
    # switch recording off around it, and runs it in this thread's quiet context (numpy's
    # warnings off) rather than setting numpy's error state per op: ~3.5% of a small op.
    # Set on audited built-ins; a user Function keeps False.
    plain_forward = False

    # Numerics warnings (tapegrad.autograd.numerics): a consumer op sets ``numerics_check`` to
    # the input it inspects when recorded; a producer maps consumer paths such as "Log" or
    # "Sum>Div" to advice in ``numerics_hint``, unless its own input came from an op named in
    # ``numerics_stable_after``. Only ``numerics_check`` is read on the recording path.
    numerics_check: int | None = None
    numerics_hint: dict | None = None
    numerics_stable_after: tuple = ()

    # The node's name in the graph when it is not the class name (torch names the node of
    # amax MaxBackward0): read by Node.name(), tg.viz and tg.onnx.
    graph_name: str | None = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must implement backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on ``args`` and record it when any input requires grad."""
        state = PER_THREAD.state  # one thread-local read; the rest are plain attributes
        if not state.enabled:
            return _apply_plain(cls, args, kwargs)
        # each input's edge into the graph, None if it needs no gradient: compact_edge inlined,
        # and without a loop for one and two inputs (the ops that run most)
        if len(args) == 1:
            x = args[0]
            if not (isinstance(x, Tensor) and x._rg):
                return _apply_plain(cls, args, kwargs)
            node = x.grad_fn
            edges = (x if node is None else node if x._output_nr == 0 else (node, x._output_nr),)
            needs = _NEEDS_ONE
        elif len(args) == 2:
            x, y = args
            if isinstance(x, Tensor) and x._rg:
                node = x.grad_fn
                x = x if node is None else node if x._output_nr == 0 else (node, x._output_nr)
            else:
                x = None
            if isinstance(y, Tensor) and y._rg:
                node = y.grad_fn
                y = y if node is None else node if y._output_nr == 0 else (node, y._output_nr)
            elif x is None:
                return _apply_plain(cls, args, kwargs)
            else:
                y = None
            edges = (x, y)
            needs = (
                _NEEDS_BOTH if x is not None and y is not None else (x is not None, y is not None)
            )
        else:
            edges = []
            for arg in args:
                if isinstance(arg, Tensor) and arg._rg:
                    node = arg.grad_fn
                    nr = arg._output_nr
                    edges.append(arg if node is None else node if nr == 0 else (node, nr))
                else:
                    edges.append(None)
            needs = tuple([edge is not None for edge in edges])
            if True not in needs:
                return _apply_plain(cls, args, kwargs)
            edges = tuple(edges)

        # Record one node. This runs for every op, so calls are inlined where they cost.
        ctx = _new(Node)  # Node(cls) without an __init__ frame
        ctx.fn = cls
        ctx._saved = None
        ctx._freed = False
        ctx.xp = tapegrad
        ctx._hooks = ctx._retained = None
        ctx.non_differentiable = ()
        ctx._edges = edges
        ctx.needs_input_grad = needs
        if cls.plain_forward:
            raw = state.quiet.run(cls.forward, ctx, *args, **kwargs)
        else:
            state.enabled = False  # a forward that calls tapegrad ops must not record them
            token = silence()
            try:
                raw = cls.forward(ctx, *args, **kwargs)
            finally:
                restore(token)
                state.enabled = True
        ctx.seq = next(SEQUENCE)
        if kwargs:
            ctx.forward_kwargs = kwargs  # check_graph re-runs the forward with them
        if cls.numerics_check is not None:
            check_pattern(ctx, args)
        if type(raw) is tuple:
            outputs = tuple(_wrap_output(o) for o in raw)
            _record_outputs(ctx, outputs)
            if ctx._saved is not None:
                ctx._pack(outputs, raw)
            _observe(ctx, args, outputs)
            return outputs
        # one output: the common case, without the tuple machinery
        if type(raw) is np.ndarray:  # _make, inlined
            out = _new(Tensor)
            out._data = data = raw
            out.grad = None
            out._output_nr = 0
            out._vc = None
            out._hooks = None
        else:
            out = _wrap_output(raw)
            data = out._data
        dtype = data.dtype
        if dtype.kind == "f" and not ctx.non_differentiable:
            out._rg = True
            out.grad_fn = ctx
        else:
            out._rg = False
            out.grad_fn = None
        key = (data.shape, dtype)
        meta = _ONE_OUTPUT.get(key)
        if meta is None:
            meta = _one_output_meta(key)
        ctx.out_meta = meta
        saved = ctx._saved
        if saved is not None:
            # the output array alone (exp, tanh, relu ...); an input Tensor that forward saved
            # and returned is packed as an input
            if len(saved) == 1 and saved[0] is raw and type(raw) is np.ndarray:
                ctx._saved = _output_entry(out, 0)  # no tuple: see Node._pack
            else:
                ctx._pack((out,), (raw,))
        if state.module_stack or state.tracers:
            _observe(ctx, args, (out,))
        return out


# needs_input_grad of one- and two-input ops: shared tuples, not new ones for gc to track
_NEEDS_ONE = (True,)
_NEEDS_BOTH = (True, True)

# out_meta of one-output nodes, shared by every node with that output shape and dtype: a graph
# of 20,000 nodes then holds a few of these, not 20,000 pairs of tuples for gc to walk.
_ONE_OUTPUT: dict = {}


def _one_output_meta(key: tuple) -> tuple:
    if len(_ONE_OUTPUT) >= 4096:  # a cache, not a record: shapes that vary forever don't grow it
        _ONE_OUTPUT.clear()
    meta = _ONE_OUTPUT[key] = (key,)
    return meta


def _apply_plain(cls, args: tuple, kwargs: dict):
    """Run the op without recording (no_grad, or no input requires grad): no bookkeeping."""
    ctx = Node(cls, (False,) * len(args))  # a forward may read needs_input_grad
    if cls.plain_forward:
        raw = PER_THREAD.state.quiet.run(cls.forward, ctx, *args, **kwargs)
    else:
        token = silence()
        try:
            raw = cls.forward(ctx, *args, **kwargs)
        finally:
            restore(token)
    if type(raw) is tuple:
        return tuple(_wrap_output(o) for o in raw)
    return _wrap_output(raw)


def _wrap_output(value) -> Tensor:
    if type(value) is np.ndarray:
        return _make(value)
    if isinstance(value, Tensor):
        return _make(value._data)
    return _make(np.asarray(value))


def _record_outputs(ctx: Node, outputs: tuple) -> None:
    """Make ``ctx`` the grad_fn of its floating outputs that are not marked otherwise."""
    non_diff = ctx.non_differentiable
    for nr, out in enumerate(outputs):
        data = out._data
        if data.dtype.kind == "f" and not any(data is nd for nd in non_diff):
            out._rg = True
            out.grad_fn = ctx
            out._output_nr = nr
    ctx.out_meta = tuple((o._data.shape, o._data.dtype) for o in outputs)


def _observe(ctx: Node, args: tuple, outputs: tuple) -> None:
    """Remember the running nn modules; tell the tracers (tg.viz) about the new node."""
    state = PER_THREAD.state
    if state.module_stack:
        ctx.modules = state.module_stack  # shared by the call's ops, not copied
    for tracer in state.tracers:
        tracer.on_record(ctx, args, outputs)


# --- once_differentiable -------------------------------------------------------------------


def once_differentiable(backward):
    """Mark a backward that cannot itself be differentiated. Same as torch's decorator.

    The decorated backward runs without recording (so it may use numpy). Under
    ``create_graph=True`` its gradients are tied to a node that raises if a double backward
    reaches it, instead of silently giving a wrong second derivative.

    Example:
        >>> import numpy as np
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.function import once_differentiable
        >>> class Square(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x.detach().numpy() ** 2
        ...     @staticmethod
        ...     @once_differentiable
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x.detach().numpy() * grad.detach().numpy()
        >>> x = tg.tensor([3.0], requires_grad=True)
        >>> Square.apply(x).sum().backward()
        >>> x.grad
        tensor([6.])
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            result = backward(ctx, *grads)
        if not current().enabled:  # create_graph=False: nothing will differentiate the result
            return result
        sources = _graph_inputs(ctx) + [g for g in grads if isinstance(g, Tensor) and g._rg]
        name = ctx.name()
        if type(result) is not tuple:
            return _delay_error(result, name, sources)
        return tuple(_delay_error(g, name, sources) for g in result)

    return wrapper


class DelayedError(Function):
    """Identity on a gradient; its backward raises (the result of a once_differentiable node)."""

    @staticmethod
    def forward(ctx, grad, name, *sources):
        ctx.name_of_origin = name
        return grad._data

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with "
            f"@once_differentiable: {ctx.name_of_origin} ran its backward without recording, "
            "so its gradient cannot be differentiated again (create_graph=True)"
        )


def _delay_error(grad, name: str, sources: list):
    if grad is None:
        return None
    if not isinstance(grad, Tensor):
        grad = _make(np.asarray(grad))
    if grad._data.dtype.kind != "f":
        return grad
    return DelayedError.apply(grad, name, *sources)


def _graph_inputs(ctx: Node) -> list:
    """The forward inputs of ``ctx`` as graph tensors (values unused): what its grads hang on."""
    tensors = []
    for index, edge in enumerate(ctx.edges):
        if edge is None:
            continue
        target, nr = edge
        if nr is None:
            tensors.append(target)
        else:
            shape, dtype = ctx.input_shape(index)
            placeholder = np.broadcast_to(np.zeros((), dtype), shape)
            tensors.append(_make(placeholder, True, target, nr))
    return tensors
