"""Function: the base class of every op, built-in or user-defined (torch.autograd.Function).

``apply`` runs ``forward`` with recording off and, when grad mode is on and an input requires
grad, records one Node that will run ``backward`` when the graph is replayed.
"""

from __future__ import annotations

import functools

import numpy as np

from tapegrad.autograd.grad_mode import STATE, no_grad
from tapegrad.autograd.node import SEQUENCE, Node
from tapegrad.autograd.numerics import check_pattern
from tapegrad.tensor import Tensor, _make


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

    # Numerics warnings (tapegrad.autograd.numerics): a consumer op sets ``numerics_check`` to
    # the input it inspects when recorded; a producer maps consumer paths such as "Log" or
    # "Sum>Div" to advice in ``numerics_hint``, unless its own input came from an op named in
    # ``numerics_stable_after``. Only ``numerics_check`` is read on the recording path.
    numerics_check: int | None = None
    numerics_hint: dict | None = None
    numerics_stable_after: tuple = ()

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must implement backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on ``args`` and record it when any input requires grad."""
        if STATE.enabled:
            for arg in args:
                if isinstance(arg, Tensor) and arg._rg:
                    return _apply_recorded(cls, args, kwargs)
        # Nothing to record (the hot path of every backward formula): no bookkeeping at all.
        raw = cls.forward(Node(cls), *args, **kwargs)
        if type(raw) is tuple:
            return tuple(_wrap_output(o) for o in raw)
        return _wrap_output(raw)


def _apply_recorded(cls, args: tuple, kwargs: dict):
    ctx = Node(cls)
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
    STATE.enabled = False  # a user forward that calls tapegrad ops must not record them
    try:
        raw = cls.forward(ctx, *args, **kwargs)
    finally:
        STATE.enabled = True
    raw_outputs = raw if type(raw) is tuple else (raw,)
    outputs = tuple(_wrap_output(o) for o in raw_outputs)
    if kwargs:
        ctx.forward_kwargs = kwargs
    if cls.numerics_check is not None:
        check_pattern(ctx, args)
    _record(ctx, args, outputs, raw_outputs)
    return outputs if type(raw) is tuple else outputs[0]


def _wrap_output(value) -> Tensor:
    if type(value) is np.ndarray:
        return _make(value)
    if isinstance(value, Tensor):
        return _make(value._data)
    return _make(np.asarray(value))


def _record(ctx: Node, args: tuple, outputs: tuple, raw_outputs: tuple) -> None:
    """Connect ``ctx`` to the inputs' graph and make it the grad_fn of its outputs."""
    edges = []
    input_meta = []
    for arg, needs in zip(args, ctx.needs_input_grad):
        if not needs:
            edges.append(None)
            input_meta.append(None)
            continue
        node = arg.grad_fn
        edges.append((arg, None) if node is None else (node, arg._output_nr))
        input_meta.append((arg._data.shape, arg._data.dtype))
    ctx.edges = tuple(edges)
    ctx.input_meta = tuple(input_meta)
    ctx.seq = next(SEQUENCE)
    non_diff = ctx.non_differentiable
    for nr, out in enumerate(outputs):
        data = out._data
        if data.dtype.kind == "f" and not any(data is nd for nd in non_diff):
            out._rg = True
            out.grad_fn = ctx
            out._output_nr = nr
    ctx.out_meta = tuple((o._data.shape, o._data.dtype) for o in outputs)
    if ctx._to_save:
        ctx._pack(outputs, raw_outputs)
    state = STATE
    if state.module_stack:
        ctx.modules = tuple(state.module_stack)
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
        if not STATE.enabled:  # create_graph=False: nothing will differentiate the result
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
    for edge, meta in zip(ctx.edges, ctx.input_meta):
        if edge is None:
            continue
        target, nr = edge
        if nr is None:
            tensors.append(target)
        else:
            shape, dtype = meta
            placeholder = np.broadcast_to(np.zeros((), dtype), shape)
            tensors.append(_make(placeholder, True, target, nr))
    return tensors
