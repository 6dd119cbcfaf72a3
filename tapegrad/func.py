"""tg.func: function transforms as torch.func (grad, grad_and_value, vjp, jacrev, hessian).

Each transform calls the function on fresh graph tensors and differentiates it with
``tg.autograd.grad(create_graph=True)``, so transforms nest (``grad(grad(f))``) and compose
with ordinary autograd. A result is detached unless it depends on a tensor from outside the
call (an enclosing transform's input, or a tensor that requires grad).
"""

from __future__ import annotations

import functools

import numpy as np

from tapegrad.autograd.engine import grad as autograd_grad
from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import enable_grad
from tapegrad.tensor import Tensor, _make

__all__ = ["grad", "grad_and_value", "hessian", "jacobian", "jacrev", "vjp"]


def grad(func, argnums=0, has_aux: bool = False):
    """Return a function computing the gradient of scalar ``func`` w.r.t. ``argnums``.

    Same as ``torch.func.grad``: ``argnums`` is an int or a tuple of ints (then a tuple of
    gradients is returned); each differentiated argument may be a tuple/list/dict of tensors.
    With ``has_aux``, ``func`` returns ``(output, aux)`` and the call returns ``(grad, aux)``.

    Example:
        >>> import tapegrad as tg
        >>> f = lambda x: (x**3).sum()
        >>> tg.func.grad(tg.func.grad(f))(tg.tensor(2.0))  # d^2/dx^2 x^3 = 6x
        tensor(12.)
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, (_, aux) = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (gradients, aux) if has_aux else gradients

    return wrapper


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """Like ``grad``, returning ``(grad, value)`` (``(grad, (value, aux))`` with ``has_aux``).

    Same as ``torch.func.grad_and_value``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, (value, aux) = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (gradients, (value, aux)) if has_aux else (gradients, value)

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """Return ``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives one grad per primal.

    Same as ``torch.func.vjp``: the cotangents have the structure of the output, and
    ``vjp_fn`` may be called many times. With ``has_aux`` it returns ``(output, vjp_fn, aux)``.

    Example:
        >>> import tapegrad as tg
        >>> out, vjp_fn = tg.func.vjp(tg.sin, tg.tensor([0.0, 1.0]))
        >>> vjp_fn(tg.ones(2))
        (tensor([1.0000, 0.5403]),)
    """
    with enable_grad():
        args, groups = _track(primals, tuple(range(len(primals))))
        output, aux = _split_aux(func(*args), has_aux, "vjp")
    out_leaves, out_spec = _flatten(output)
    _require_tensors(out_leaves, "vjp(f, *primals)")
    inputs = [t for _, fresh in groups for t in fresh]

    def vjp_fn(cotangents):
        ct_leaves, ct_spec = _flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {_spec_str(ct_spec)}, primal output: "
                f"{_spec_str(out_spec)}"
            )
        with enable_grad():
            flat = _gradients(out_leaves, inputs, ct_leaves)
        return _release(_arrange(flat, groups, ()), inputs)

    output, aux = _release((output, aux), inputs)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None):
    """Return a function computing the Jacobian of ``func`` by reverse mode, one row at a time.

    Same as ``torch.func.jacrev``: the Jacobian of an output of shape ``O`` w.r.t. an input of
    shape ``I`` has shape ``O + I``; tuple outputs and tuple ``argnums`` give nested tuples
    (outputs outside, arguments inside). ``chunk_size`` only bounds memory in torch (vmap)
    and is accepted as such. ``tg.func.jacobian`` is the same function.

    Example:
        >>> import tapegrad as tg
        >>> tg.func.jacrev(lambda x: x**2)(tg.tensor([1.0, 3.0]))
        tensor([[2., 0.],
                [0., 6.]])
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            new_args, groups = _track(args, argnums)
            output, aux = _split_aux(func(*new_args, **kwargs), has_aux, "jacrev")
            out_leaves, out_spec = _flatten(output)
            _require_tensors(out_leaves, "jacrev(f)(*args)")
            inputs = [t for _, fresh in groups for t in fresh]
            per_output = []
            for out in out_leaves:
                flat = _jacobian(out, inputs)
                per_output.append(_arrange(flat, groups, argnums))
        jac = _unflatten(out_spec, per_output)
        jac, aux = _release((jac, aux), inputs)
        return (jac, aux) if has_aux else jac

    return wrapper


jacobian = jacrev


def hessian(func, argnums=0):
    """Return a function computing the Hessian of scalar ``func``: ``jacrev(jacrev(func))``.

    Same numbers as ``torch.func.hessian`` (which runs forward mode over reverse mode).

    Example:
        >>> import tapegrad as tg
        >>> tg.func.hessian(lambda x: (x**3).sum())(tg.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacrev(jacrev(func, argnums), argnums)


# --- the shared steps -----------------------------------------------------------------------


def _grad_and_value(func, argnums, has_aux: bool, args: tuple, kwargs: dict):
    with enable_grad():
        new_args, groups = _track(args, argnums)
        output, aux = _split_aux(func(*new_args, **kwargs), has_aux, "grad_and_value")
        if not isinstance(output, Tensor):
            raise RuntimeError(
                "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                f"{type(output)}"
            )
        if output._data.ndim != 0:
            raise RuntimeError(
                "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                f"tensor with {output._data.ndim} dims. Maybe you wanted to use the vjp or "
                "jacrev APIs instead?"
            )
        inputs = [t for _, fresh in groups for t in fresh]
        flat = _gradients([output], inputs, [_make(np.ones_like(output._data))])
    gradients = _arrange(flat, groups, argnums)
    gradients, output, aux = _release((gradients, output, aux), inputs)
    return gradients, (output, aux)


def _positions(argnums, count: int) -> tuple:
    """Validate ``argnums`` as torch.func does; return it as a tuple of non-negative ints."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        numbers = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(a, int) for a in argnums) and argnums:
        numbers = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in numbers:
        if not -count <= a < count:
            raise RuntimeError(f"Got argnum={a}, but only {count} positional inputs")
    positions = tuple(a % count for a in numbers)
    if len(set(positions)) != len(positions):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return positions


def _track(args: tuple, argnums) -> tuple[tuple, list]:
    """Replace the differentiated arguments' tensors by fresh graph tensors.

    A tensor that already requires grad is cloned, so this call differentiates w.r.t. its own
    copy (an enclosing ``grad`` of the same tensor stays separate); others become new leaves.
    Returns the new args and, per differentiated argument, its spec and fresh tensors.
    """
    args = list(args)
    groups = []
    for position in _positions(argnums, len(args)):
        leaves, spec = _flatten(args[position])
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
        fresh = [t.clone() if t.requires_grad else t.detach().requires_grad_() for t in leaves]
        args[position] = _unflatten(spec, fresh)
        groups.append((spec, fresh))
    return tuple(args), groups


def _split_aux(out, has_aux: bool, api: str):
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise RuntimeError(
            f"{api}(f)(*args): output of function f should be a tuple: (output, aux) if "
            "has_aux is True"
        )
    return out


def _gradients(outputs: list, inputs: list, cotangents: list) -> list:
    """d<cotangents, outputs>/d(inputs), recorded; zeros for inputs the outputs ignore."""
    live = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if live:
        grads = autograd_grad(
            [o for o, _ in live],
            inputs,
            [c for _, c in live],
            retain_graph=True,
            create_graph=True,
            allow_unused=True,
        )
    else:
        grads = [None] * len(inputs)
    return [_make(np.zeros_like(t._data)) if g is None else g for g, t in zip(grads, inputs)]


def _jacobian(out: Tensor, inputs: list) -> list:
    """Per input, the Jacobian of ``out`` (shape ``out.shape + input.shape``), row by row."""
    n = out._data.size
    rows: list[list] = [[] for _ in inputs]
    for k in range(n):
        onehot = np.zeros(n, dtype=out._data.dtype)
        onehot[k] = 1
        grads = _gradients([out], inputs, [_make(onehot.reshape(out._data.shape))])
        for j, g in enumerate(grads):
            rows[j].append(g)
    result = []
    for j, t in enumerate(inputs):
        shape = out._data.shape + t._data.shape
        if n == 0:
            result.append(_make(np.zeros(shape, dtype=t._data.dtype)))
        else:
            result.append(_Stack.apply(*rows[j]).reshape(shape))
    return result


def _arrange(flat: list, groups: list, argnums):
    """Put per-tensor results back in the shape of the differentiated arguments."""
    per_arg = []
    start = 0
    for spec, fresh in groups:
        per_arg.append(_unflatten(spec, flat[start : start + len(fresh)]))
        start += len(fresh)
    return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)


def _release(results, own: list):
    """Detach every tensor in ``results`` unless one of them depends on an outside tensor."""
    leaves, spec = _flatten(results)
    if _reaches_outside([t for t in leaves if isinstance(t, Tensor)], own):
        return results
    return _unflatten(spec, [t.detach() if isinstance(t, Tensor) else t for t in leaves])


def _reaches_outside(tensors: list, own: list) -> bool:
    """Whether the graph behind ``tensors`` reaches a tensor needing grad other than ``own``."""
    own_ids = {id(t) for t in own}
    stack = []
    for t in tensors:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad and id(t) not in own_ids:
            return True
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node.edges:
            if edge is None:
                continue
            target, nr = edge
            if nr is not None:
                stack.append(target)
            elif id(target) not in own_ids:
                return True
    return False


def _require_tensors(leaves: list, api: str) -> None:
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(
                f"{api}: Expected f to return a Tensor or a tuple/list/dict of Tensors, got "
                f"{type(leaf)}"
            )


# --- pytrees: tuples, lists and dicts of leaves ---------------------------------------------


def _flatten(tree) -> tuple[list, object]:
    """The leaves of ``tree`` in order and a spec that ``_unflatten`` rebuilds it from."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            sub, spec = _flatten(item)
            leaves.extend(sub)
            specs.append(spec)
        return leaves, (type(tree), tuple(specs))
    if isinstance(tree, dict):
        leaves, specs = [], []
        for value in tree.values():
            sub, spec = _flatten(value)
            leaves.extend(sub)
            specs.append(spec)
        return leaves, (dict, tuple(tree.keys()), tuple(specs))
    return [tree], None


def _unflatten(spec, leaves: list):
    items = iter(leaves)
    return _build(spec, items)


def _build(spec, items):
    if spec is None:
        return next(items)
    if spec[0] is dict:
        _, keys, specs = spec
        return {k: _build(s, items) for k, s in zip(keys, specs)}
    kind, specs = spec
    children = [_build(s, items) for s in specs]
    return kind(*children) if hasattr(kind, "_fields") else kind(children)  # namedtuples too


def _spec_str(spec) -> str:
    if spec is None:
        return "*"
    if spec[0] is dict:
        _, keys, specs = spec
        return "{" + ", ".join(f"{k!r}: {_spec_str(s)}" for k, s in zip(keys, specs)) + "}"
    kind, specs = spec
    inner = ", ".join(_spec_str(s) for s in specs)
    return f"[{inner}]" if kind is list else f"({inner})"


class _Stack(Function):
    """Jacobian rows stacked along a new first dim; differentiable, so jacrev nests."""

    @staticmethod
    def forward(ctx, *rows):
        return np.stack([r._data for r in rows])

    @staticmethod
    def backward(ctx, grad):
        return _Unstack.apply(grad)  # d stack / d row_k picks slice k


class _Unstack(Function):
    """The slices of x along its first dim: the backward of _Stack."""

    @staticmethod
    def forward(ctx, x):
        return tuple(np.array(x._data[k]) for k in range(x._data.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        return _Stack.apply(*grads)
