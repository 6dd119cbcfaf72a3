"""Function: the base class of every op, built-in or user-defined (torch.autograd.Function).

``apply`` runs ``forward`` with recording off and, when grad mode is on and an input requires
grad, records one Node that will run ``backward`` when the graph is replayed.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.errstate import restore, silence
from tapegrad.autograd.grad_mode import STATE
from tapegrad.autograd.node import SEQUENCE, Node
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
        token = silence()
        try:
            raw = cls.forward(Node(cls), *args, **kwargs)
        finally:
            restore(token)
        if type(raw) is tuple:
            return tuple(_wrap_output(o) for o in raw)
        return _wrap_output(raw)


def _apply_recorded(cls, args: tuple, kwargs: dict):
    ctx = Node(cls)
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
    STATE.enabled = False  # a user forward that calls tapegrad ops must not record them
    token = silence()
    try:
        raw = cls.forward(ctx, *args, **kwargs)
    finally:
        restore(token)
        STATE.enabled = True
    raw_outputs = raw if type(raw) is tuple else (raw,)
    outputs = tuple(_wrap_output(o) for o in raw_outputs)
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
        ctx.modules = state.module_stack  # shared by the call's ops, not copied
    for tracer in state.tracers:
        tracer.on_record(ctx, args, outputs)
