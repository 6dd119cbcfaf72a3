"""check_graph: gradcheck every op recorded behind a tensor, in float64, on its recorded inputs.

It needs each node's inputs, which anomaly mode keeps (``detect_anomaly()``), and reports the
first op (in recording order) whose backward disagrees with its own forward.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.anomaly import describe_origin
from tapegrad.autograd.engine import _as_tuple
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.autograd.gradcheck import GradcheckError, first_mismatch
from tapegrad.tensor import Tensor, _make


def check_graph(
    outputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Numerically check the backward of every op recorded behind ``outputs``.

    Record the forward inside ``tg.autograd.detect_anomaly()``: there each op keeps a copy of
    its inputs and its call site. Each op's Function is then re-run on float64 copies of its
    inputs and its backward compared with central differences, as ``gradcheck`` does, with a
    random cotangent. Points where the op has a kink (relu at exactly 0) are skipped, and so
    are ops that cannot be checked in float64: a forward that is random, or one whose output
    stays in a lower precision (a cast to float32).

    Returns True when every op agrees. Otherwise raises ``GradcheckError`` naming the first op
    (in recording order) that disagrees, the input and element, and where user code recorded
    it (or returns False when ``raise_exception=False``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randn(3, requires_grad=True)
        >>> with tg.autograd.detect_anomaly():
        ...     loss = (x.tanh() * x).sum()
        >>> tg.autograd.check_graph(loss)
        True
    """
    nodes = _nodes_behind(_as_tuple(outputs))
    for node in nodes:
        if node.recorded_args is None:
            raise RuntimeError(
                f"check_graph needs the inputs of every op, but {node.name()} was recorded "
                "outside anomaly mode: run the forward pass inside "
                "`with tg.autograd.detect_anomaly():`"
            )
    for position, node in enumerate(nodes):
        problem = _check_node(node, eps, atol, rtol, seed + position)
        if problem is None:
            continue
        message = (
            f"check_graph: the backward of {node.name()} (op {position + 1} of {len(nodes)} "
            f"in recording order) disagrees with its forward: {problem}. " + describe_origin(node)
        )
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True


def _nodes_behind(outputs: tuple) -> list:
    """Every node the outputs depend on, oldest first."""
    stack = [t.grad_fn for t in outputs if isinstance(t, Tensor) and t.grad_fn is not None]
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node.edges:
            if edge is not None and edge[1] is not None:
                stack.append(edge[0])
    return sorted(seen, key=lambda n: n.seq)


def _check_node(node, eps, atol, rtol, seed) -> str | None:
    args = _float64_args(node)
    diff = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._rg]
    kwargs = node.forward_kwargs or {}

    def forward(*inputs):
        return node.fn.apply(*inputs, **kwargs)

    if not diff or not _checkable(forward, args):
        return None
    return first_mismatch(
        forward, args, diff, eps=eps, atol=atol, rtol=rtol, seed=seed, skip_kinks=True
    )


def _float64_args(node) -> tuple:
    """The recorded arguments, float ones as float64 leaves that require grad where needed."""
    args = []
    for i, value in enumerate(node.recorded_args):
        if isinstance(value, Tensor) and value._data.dtype.kind == "f":
            value = _make(value._data.astype(np.float64), bool(node.needs_input_grad[i]))
        args.append(value)
    return tuple(args)


def _checkable(forward, args: tuple) -> bool:
    """Deterministic, and every differentiable output in float64."""
    with no_grad():
        first = _as_list(forward(*args))
        second = _as_list(forward(*args))
    for a, b in zip(first, second):
        if not isinstance(a, Tensor) or a._data.dtype.kind != "f":
            continue
        if a._data.dtype != np.float64 or not np.array_equal(a._data, b._data, equal_nan=True):
            return False
    return True


def _as_list(out) -> list:
    return list(out) if isinstance(out, tuple) else [out]
