"""Linear algebra: matmul (with mm, bmm, mv, dot, addmm over it), outer, einsum, and the
vector and matrix norms behind ``tg.linalg`` (tapegrad/linalg.py re-exports them).

Mixed dtypes are promoted as torch promotes elementwise operands, where torch itself refuses
them (``long @ float``).
"""

from __future__ import annotations

import math
import numbers
import string

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function
from tapegrad.creation import eye
from tapegrad.ops._args import as_tensor, dim_index, dims_tuple, promote_tensors
from tapegrad.ops.arithmetic import add, mul
from tapegrad.ops.elementwise import where
from tapegrad.ops.registry import register
from tapegrad.ops.shape import squeeze
from tapegrad.tensor import Tensor


def _tensors(op: str, *values, bool_ok: bool = False) -> list[Tensor]:
    """Operands as tensors of one dtype; Python scalars are refused, as torch refuses them,
    and so are bools (torch has no bool kernels for products), unless ``bool_ok``."""
    tensors = []
    for value in values:
        if isinstance(value, np.ndarray):
            value = as_tensor(value)
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: expected Tensor operands, got {type(value).__name__}")
        tensors.append(value)
    tensors = promote_tensors(tensors, op)
    if tensors[0]._data.dtype.kind == "b" and not bool_ok:
        raise TypeError(f"{op}: not implemented for dtype bool, as in torch; convert first")
    return tensors


def _shapes(*tensors: Tensor) -> str:
    return " and ".join(str(tuple(t._data.shape)) for t in tensors)


# --- matrix products ------------------------------------------------------------------------


class MatMul(Function):
    """x @ y, with torch's 1-D rules and broadcast batch dims."""

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)  # save_for_backward, inlined: matmul is on every step's hot path
        return np.matmul(x._data, y._data)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.ndim == 2 == y.ndim:  # the common case, without the 1-D and batch bookkeeping
            grad_x = grad @ y.T if ctx.needs_input_grad[0] else None  # d(xy)/dx = grad y^T
            grad_y = x.T @ grad if ctx.needs_input_grad[1] else None  # d(xy)/dy = x^T grad
            return grad_x, grad_y
        xp = ctx.xp
        x_vec, y_vec = x.ndim == 1, y.ndim == 1
        # A vector is a (1, k) row on the left and a (k, 1) column on the right; the gradient
        # gets the dims that matmul removed, and the engine sums broadcast batch dims back.
        rows = xp.unsqueeze(x, 0) if x_vec else x
        cols = xp.unsqueeze(y, -1) if y_vec else y
        if y_vec:
            grad = xp.unsqueeze(grad, -1)
        if x_vec:
            grad = xp.unsqueeze(grad, -2)
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:  # d(xy)/dx: grad @ y^T
            grad_x = xp.matmul(grad, xp.transpose(cols, -1, -2))
            grad_x = xp.squeeze(grad_x, -2) if x_vec else grad_x
        if ctx.needs_input_grad[1]:  # d(xy)/dy: x^T @ grad
            grad_y = xp.matmul(xp.transpose(rows, -1, -2), grad)
            grad_y = xp.squeeze(grad_y, -1) if y_vec else grad_y
        return grad_x, grad_y


def _check_inner(x: Tensor, y: Tensor, op: str) -> None:
    """The contracted sizes must agree: x's last dim and y's second to last (or only) dim."""
    k_x = x._data.shape[-1]
    k_y = y._data.shape[-2] if y._data.ndim > 1 else y._data.shape[0]
    if k_x != k_y:
        raise ValueError(f"{op}: shapes {_shapes(x, y)} cannot be multiplied ({k_x} != {k_y})")


def _check_rank(op: str, t: Tensor, ndim: int, what: str) -> None:
    if t._data.ndim != ndim:
        raise ValueError(f"{op}: expected {what} to be {ndim}-D, got shape {tuple(t._data.shape)}")


@register(MatMul, method=True, dunders=("__matmul__", "__rmatmul__"))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with 1-D and batched broadcasting rules. Same as ``torch.matmul``."""
    if (
        isinstance(input, Tensor)  # a Parameter too: x @ self.weight in a user's module
        and isinstance(other, Tensor)
        and input._data.ndim == 2 == other._data.ndim
        and input._data.dtype is other._data.dtype  # numpy's one object per built-in dtype
        and input._data.dtype.kind != "b"
        and input._data.shape[1] == other._data.shape[0]
    ):
        return MatMul.apply(input, other)  # the common case: nothing to check or convert
    x, y = _tensors("matmul", input, other)
    if x._data.ndim == 0 or y._data.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes {_shapes(x, y)}")
    _check_inner(x, y, "matmul")
    batch_x, batch_y = x._data.shape[:-2], y._data.shape[:-2]
    try:
        np.broadcast_shapes(batch_x, batch_y)
    except ValueError:
        raise ValueError(
            f"matmul: shapes {_shapes(x, y)} cannot be multiplied (batch dims {batch_x} and "
            f"{batch_y} do not broadcast)"
        ) from None
    return MatMul.apply(x, y)


@register(method=True)
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices, without broadcasting. Same as ``torch.mm``."""
    x, y = _tensors("mm", input, mat2)
    _check_rank("mm", x, 2, "input")
    _check_rank("mm", y, 2, "mat2")
    _check_inner(x, y, "mm")
    return MatMul.apply(x, y)


@register(method=True)
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p) tensors. Same as ``torch.bmm``."""
    x, y = _tensors("bmm", input, mat2)
    _check_rank("bmm", x, 3, "input")
    _check_rank("bmm", y, 3, "mat2")
    if x._data.shape[0] != y._data.shape[0]:
        raise ValueError(f"bmm: shapes {_shapes(x, y)} have different batch sizes")
    _check_inner(x, y, "bmm")
    return MatMul.apply(x, y)


@register(method=True)
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a matrix and a vector. Same as ``torch.mv``."""
    x, y = _tensors("mv", input, vec)
    _check_rank("mv", x, 2, "input")
    _check_rank("mv", y, 1, "vec")
    _check_inner(x, y, "mv")
    return MatMul.apply(x, y)


@register(method=True)
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two equal-length vectors, a 0-d tensor. Same as ``torch.dot``."""
    x, y = _tensors("dot", input, tensor)
    _check_rank("dot", x, 1, "input")
    _check_rank("dot", y, 1, "tensor")
    _check_inner(x, y, "dot")
    return MatMul.apply(x, y)


@register(method=True)
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product: ``out[i, j] = input[i] * vec2[j]``. Same as ``torch.outer``."""
    x, y = _tensors("outer", input, vec2, bool_ok=True)  # torch's outer is a product
    _check_rank("outer", x, 1, "input")
    _check_rank("outer", y, 1, "vec2")
    return mul(x.unsqueeze(-1), y)


@register(method=True)
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Return ``beta * input + alpha * (mat1 @ mat2)``. Same as ``torch.addmm``."""
    product = mm(mat1, mat2)
    bias = _tensors("addmm", input)[0]
    out_shape = product._data.shape
    try:
        fits = np.broadcast_shapes(bias._data.shape, out_shape) == out_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"addmm: input of shape {tuple(bias._data.shape)} cannot be broadcast to the "
            f"product's shape {out_shape}"
        )
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product  # input is ignored, so NaN or inf in it does not propagate (as torch)
    return add(bias if beta == 1 else bias * beta, product)


# --- einsum -----------------------------------------------------------------------------------


class Einsum(Function):
    """Einstein summation over canonical subscripts (letters only, operand sizes agreeing)."""

    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        arrays = [t._data for t in operands]
        return np.einsum(equation, *arrays, optimize=len(arrays) > 1)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        terms = inputs.split(",")
        grads = []
        for k, term in enumerate(terms):
            if ctx.needs_input_grad[k + 1]:
                others = [(t, op) for j, (t, op) in enumerate(zip(terms, operands)) if j != k]
                grads.append(_einsum_grad(grad, output, term, operands[k], others))
            else:
                grads.append(None)
        return None, *grads


def _einsum_grad(grad: Tensor, output: str, term: str, operand: Tensor, others: list) -> Tensor:
    """d(einsum)/d(operand): an einsum of ``grad`` with the other operands, then put in shape.

    Letters only this operand has were summed away, so the gradient is constant along them
    (expand); a letter repeated in ``term`` read a diagonal, so the gradient goes on it (eye).
    """
    shape = operand.shape
    unique = "".join(dict.fromkeys(term))
    size = {c: shape[term.index(c)] for c in unique}
    known = "".join(c for c in unique if c in output or any(c in t for t, _ in others))
    if others or known != output:
        subscripts = ",".join([output, *(t for t, _ in others)])
        grad = einsum(f"{subscripts}->{known}", grad, *(op for _, op in others))
    if known != unique:
        grad = grad.reshape([size[c] if c in known else 1 for c in unique])
        grad = grad.expand([size[c] for c in unique])
    if unique == term:
        return grad
    first = {c: term.index(c) for c in unique}
    grad = grad.reshape([size[c] if first[c] == p else 1 for p, c in enumerate(term)])
    for p, c in enumerate(term):
        if first[c] != p:  # d A[i, i] / d A[a, b] = 1 where a == b: an identity mask
            mask_shape = [size[c] if q in (first[c], p) else 1 for q in range(len(term))]
            grad = grad * eye(size[c], dtype=grad.dtype).reshape(mask_shape)
    return grad


@register(Einsum, method=False)
def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over the operands (also given as one list). Same as ``torch.einsum``.

    Supports implicit output, ``...``, repeated letters (diagonals) and size-1 broadcasting.
    """
    if not isinstance(equation, str):
        raise TypeError(
            f"einsum: expected the equation string first, got {type(equation).__name__} (the "
            "sublist form einsum(op, [0, 1], ...) is not supported)"
        )
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError(f"einsum: equation {equation!r} was given no operands")
    tensors = _tensors("einsum", *operands)
    terms, output, size = _parse_einsum(equation, [t._data.shape for t in tensors])
    for i, term in enumerate(terms):
        full = tuple(size[c] for c in term)
        if tensors[i]._data.shape != full:  # a size-1 dim broadcast against the other operands
            tensors[i] = tensors[i].expand(full)
    return Einsum.apply(f"{','.join(terms)}->{output}", *tensors)


def _parse_einsum(equation: str, shapes: list) -> tuple[list[str], str, dict]:
    """Canonical subscripts: '...' replaced by unused letters, output made explicit.

    Returns the input terms, the output term and each letter's (broadcast) size.
    """
    context = f"einsum: equation {equation!r} with operand shapes {', '.join(map(str, shapes))}"
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    raw_terms = lhs.split(",")
    if len(raw_terms) != len(shapes):
        raise ValueError(f"{context}: {len(raw_terms)} subscript terms for {len(shapes)} operands")
    for term in [*raw_terms, out]:
        _check_subscripts(term, context)
    ell_dims = []
    for term, shape in zip(raw_terms, shapes):
        n_ell = len(shape) - len(term.replace("...", ""))
        if n_ell < 0 or (n_ell and "..." not in term):
            raise ValueError(f"{context}: term {term!r} does not match {len(shape)} dims")
        ell_dims.append(n_ell)
    fresh = [c for c in string.ascii_letters if c not in eq][: max(ell_dims)]
    if len(fresh) < max(ell_dims):
        raise ValueError(f"{context}: too many dims for the 52 subscript letters")
    terms = [
        t.replace("...", "".join(fresh[len(fresh) - n :])) for t, n in zip(raw_terms, ell_dims)
    ]
    if not arrow:  # implicit output: '...' dims, then the letters used once, sorted
        letters = lhs.replace(".", "").replace(",", "")
        out = "..." + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    output = out.replace("...", "".join(fresh))
    for c in output:
        if output.count(c) > 1:
            raise ValueError(f"{context}: output subscript {c!r} appears more than once")
        if not any(c in t for t in terms):
            raise ValueError(f"{context}: output subscript {c!r} is in no input term")
    return terms, output, _letter_sizes(terms, shapes, context)


def _check_subscripts(term: str, context: str) -> None:
    if term.count("...") > 1:
        raise ValueError(f"{context}: term {term!r} has more than one '...'")
    for c in term.replace("...", ""):
        if c not in string.ascii_letters:
            raise ValueError(f"{context}: invalid subscript {c!r}; subscripts must be in [a-zA-Z]")


def _letter_sizes(terms: list[str], shapes: list, context: str) -> dict:
    """Each letter's size: equal within an operand, equal or 1 (broadcast) across operands."""
    size: dict = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        own: dict = {}
        for c, n in zip(term, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(
                    f"{context}: subscript {c!r} is repeated in operand {i} with sizes "
                    f"{own[c]} and {n}"
                )
        for c, n in own.items():
            seen = size.setdefault(c, n)
            if n != seen and 1 not in (n, seen):
                raise ValueError(
                    f"{context}: sizes {seen} and {n} of subscript {c!r} (or of a '...' dim) "
                    "do not match"
                )
            size[c] = max(seen, n) if 1 in (n, seen) else n
    return size


# --- norms (exported as tg.linalg.vector_norm and tg.linalg.norm) ------------------------------


class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over dims, with max/min |x| for p = +-inf and a count for p = 0."""

    # A Function rather than sqrt(sum(x*x)): that composite's gradient is 0/0 = NaN at a zero
    # vector, where torch (and this backward) gives 0; and the inf-norm shares ties evenly.

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        a = np.abs(x._data)
        if ord == math.inf:
            out = np.max(a, axis=dims, keepdims=keepdim)
        elif ord == -math.inf:
            out = np.min(a, axis=dims, keepdims=keepdim)
        elif ord == 0:
            out = np.sum(a != 0, axis=dims, keepdims=keepdim).astype(a.dtype)
        elif ord == 1:
            out = np.sum(a, axis=dims, keepdims=keepdim)
        elif ord == 2:
            out = np.sqrt(np.sum(a * a, axis=dims, keepdims=keepdim))
        else:
            with np.errstate(divide="ignore"):  # 0 ** (p < 0) is inf, and the norm is then 0
                out = np.sum(a**ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p = ctx.ord
        if p == 0:  # counting nonzeros is flat wherever it is differentiable; torch gives None
            return None, None, None, None
        if not ctx.keepdim:
            kept = _kept_shape(x.shape, ctx.dims)
            grad, out = grad.reshape(kept), out.reshape(kept)
        if p in (math.inf, -math.inf):  # sign(x) at the extreme entries, ties share equally
            hit = (x.abs() == out).to(x.dtype)
            grad_x = grad * x.sign() * hit / hit.sum(ctx.dims, keepdim=True)
        elif p == 1:  # d|x|/dx = sign(x)
            grad_x = grad * x.sign()
        elif p == 2:  # d||x||/dx = x / ||x||, taken as 0 at a zero vector
            grad_x = grad * x / where(out == 0, 1.0, out)
        elif p > 1:  # d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1); x = 0 wherever ||x|| = 0
            grad_x = grad * x.sign() * x.abs() ** (p - 1) / where(out == 0, 1.0, out) ** (p - 1)
        else:  # same formula; |x|^(p-1) is infinite at x = 0, where sign(x) = 0 ends it anyway
            safe_abs = where(x == 0, 1.0, x.abs())
            grad_x = grad * x.sign() * safe_abs ** (p - 1) * out ** (1 - p)
        return grad_x, None, None, None


def _kept_shape(shape: tuple, dims) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _float_input(x: Tensor, dtype, op: str) -> Tensor:
    """Norms take float tensors only; ``dtype`` may widen (never narrow) before computing."""
    x = _tensors(op, x)[0]
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point tensor as input, got {x.dtype}")
    dtype = dtypes.as_dtype(dtype)
    if dtype is None or dtype == x._data.dtype:
        return x
    if dtype.kind != "f" or dtype.itemsize < x._data.dtype.itemsize:
        raise RuntimeError(
            f"{op}: the dtype of the input ({x.dtype}) should be convertible without narrowing "
            f"to the specified dtype ({dtype})"
        )
    return x.to(dtype)


@register(VectorNorm, name="linalg_vector_norm", export=False)
def linalg_vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """Vector p-norm over ``dim`` (default: all). Same as ``torch.linalg.vector_norm``."""
    op = "linalg.vector_norm"
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"{op}: ord must be a number, got {ord!r}")
    x = _float_input(x, dtype, op)
    shape = x._data.shape
    dims = dims_tuple(dim, len(shape), op) or None  # dim=() reduces everything, as torch
    count = x._data.size if dims is None else math.prod(shape[d] for d in dims)
    if count == 0 and (ord < 0 or ord == math.inf):
        raise RuntimeError(
            f"{op} cannot compute the {ord} norm on an empty tensor (shape {shape}) because the "
            "operation does not have an identity"
        )
    return VectorNorm.apply(x, float(ord), dims, keepdim)


_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


@register(name="linalg_norm", export=False)
def linalg_norm(input: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """Vector norm (1 dim) or matrix norm (2 dims) of ``input``. Same as ``torch.linalg.norm``."""
    op = "linalg.norm"
    x = _float_input(input, dtype, op)
    ndim = x._data.ndim
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is None:
        if ord is None:  # the 2-norm of all elements, whatever the shape
            return linalg_vector_norm(x, 2, None, keepdim)
        if ndim not in (1, 2):
            raise ValueError(
                f"{op}: if dim is not given but ord is, the input must be 1-D or 2-D; got "
                f"shape {tuple(x._data.shape)}"
            )
        dim = tuple(range(ndim))
    dim = tuple(dim)
    if len(dim) == 1:
        if isinstance(ord, str):
            raise ValueError(f"{op}: ord={ord!r} is a matrix norm and needs a 2-tuple dim")
        return linalg_vector_norm(x, 2 if ord is None else ord, dim, keepdim)
    if len(dim) != 2:
        raise ValueError(f"{op}: dim must be an int or a tuple of 1 or 2 ints, got {dim}")
    return _matrix_norm(x, "fro" if ord is None else ord, dim, keepdim)


def _matrix_norm(x: Tensor, ord, dim: tuple, keepdim: bool) -> Tensor:
    op = "linalg.norm"
    ndim = x._data.ndim
    rows, cols = (dim_index(d, ndim, op) for d in dim)
    if rows == cols:
        raise ValueError(f"{op}: dim {dim} names dimension {rows} twice")
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"{op}: matrix norm order {ord!r} is not supported; use {_MATRIX_ORDS}")
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"{op}: matrix ord={ord!r} needs singular values (no SVD)")
    if ord == "fro":
        return linalg_vector_norm(x, 2, (rows, cols), keepdim)
    # ord 1 is the largest column sum of |x| (summed over rows); ord inf the largest row sum;
    # the negative orders take the smallest. max of |sums| is their inf-norm (-inf for min).
    summed, extreme = (rows, cols) if ord in (1, -1) else (cols, rows)
    sums = linalg_vector_norm(x, 1, summed, keepdim=True)
    out = linalg_vector_norm(sums, math.inf if ord > 0 else -math.inf, extreme, keepdim=True)
    return out if keepdim else squeeze(out, (rows, cols))
