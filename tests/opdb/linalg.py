"""Op table rows: linalg (tapegrad/ops/linalg.py)."""

import math

import numpy as np

from tests.opdb.cases import OpCase, Sample, T


def _torch_linalg(name: str):
    """``torch.linalg.<name>``, looked up only when a torch comparison runs."""

    def call(*args, **kwargs):
        import torch

        return getattr(torch.linalg, name)(*args, **kwargs)

    return call


def _ref_vector_norm(x, ord=2, dim=None, keepdim=False):
    a = np.abs(x)
    axis = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    if ord == math.inf:
        return np.max(a, axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return np.min(a, axis=axis, keepdims=keepdim)
    if ord == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    return np.sum(a**ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)


def _ref_norm(x, ord=None, dim=None, keepdim=False):
    if dim is None and ord is None:  # numpy would take a 2-D input's Frobenius norm; same value
        return _ref_vector_norm(x, 2, None, keepdim)
    return np.linalg.norm(x, ord, axis=dim, keepdims=keepdim)


def _ref_addmm(bias, mat1, mat2, beta=1, alpha=1):
    return (beta * bias if beta else 0) + alpha * (mat1 @ mat2)


def _einsum(equation: str, *shapes) -> Sample:
    return Sample(
        (equation, *(T(s) for s in shapes)), id=f"{equation} {'x'.join(map(str, shapes))}"
    )


MATMUL_PAIRS = [
    ((3,), (3,)),  # 0-d result
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast
]

CASES = [
    OpCase("matmul", [Sample((T(a), T(b))) for a, b in MATMUL_PAIRS], ref=np.matmul),
    OpCase("mm", [Sample((T((3, 4)), T((4, 2)))), Sample((T((1, 3)), T((3, 1))))], ref=np.matmul),
    OpCase("bmm", [Sample((T((2, 3, 4)), T((2, 4, 5))))], ref=np.matmul),
    OpCase("mv", [Sample((T((3, 4)), T((4,))))], ref=np.matmul),
    OpCase("dot", [Sample((T((5,)), T((5,)))), Sample((T((1,)), T((1,))))], ref=np.dot),
    OpCase("outer", [Sample((T((3,)), T((4,)))), Sample((T((1,)), T((2,))))], ref=np.outer),
    OpCase(
        "addmm",
        [
            Sample((T((3, 4)), T((3, 2)), T((2, 4)))),
            Sample((T((4,)), T((3, 2)), T((2, 4))), id="bias (4,) broadcast"),
            Sample((T(()), T((3, 2)), T((2, 4))), id="bias 0-d"),
            Sample((T((3, 1)), T((3, 2)), T((2, 4))), {"beta": 0.5, "alpha": -2.0}),
            Sample((T((3, 4)), T((3, 2)), T((2, 4))), {"beta": 0}),
        ],
        ref=_ref_addmm,
    ),
    OpCase(
        "einsum",
        [
            _einsum("ij,jk->ik", (2, 3), (3, 4)),
            _einsum("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
            _einsum("ii->", (3, 3)),
            _einsum("ii->i", (3, 3)),
            _einsum("iij->ji", (2, 2, 3)),
            _einsum("i,j->ij", (3,), (4,)),
            _einsum("ij,jk", (2, 3), (3, 4)),
            _einsum("ba,ca", (2, 3), (4, 3)),
            _einsum("...ij,...jk->...ik", (2, 1, 3, 4), (5, 4, 2)),
            _einsum("...i,...i", (2, 3), (3,)),
            _einsum("ij->", (3, 4)),
            _einsum("ij->ji", (3, 4)),
            _einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
            _einsum("ij,ij->ij", (1, 3), (2, 3)),
            _einsum("ijk,i->j", (2, 3, 4), (2,)),
            _einsum("i,i", (4,), (4,)),
        ],
        ref=np.einsum,
    ),
    OpCase(
        "linalg_vector_norm",
        [
            Sample((T((5,)),)),
            Sample((T((3, 4)),), id="(3, 4) all elements"),
            Sample((T((3, 4)), 1)),
            Sample((T((3, 4)), math.inf, -1), {"keepdim": True}),
            Sample((T((3, 4)), -math.inf, 0)),
            Sample((T((2, 3, 4)), 3, (0, 2))),
            Sample((T((2, 3, 4)), 2, (-1, 0)), {"keepdim": True}),
            Sample((T((3, 4)), 0.5, 1)),
            Sample((T((3, 4)), -1.5, -1)),
            Sample((T((5,)), 0)),
            Sample((T(()),)),
        ],
        ref=_ref_vector_norm,
        torch=_torch_linalg("vector_norm"),
    ),
    OpCase(
        "linalg_norm",
        [
            Sample((T((5,)),)),
            Sample((T((2, 3, 4)),), id="(2, 3, 4) flattened"),
            Sample((T((3, 4)), "fro")),
            Sample((T((3, 4)), 1)),
            Sample((T((3, 4)), -1)),
            Sample((T((3, 4)), math.inf)),
            Sample((T((3, 4)), -math.inf)),
            Sample((T((2, 3, 4)), "fro", (0, 2)), {"keepdim": True}),
            Sample((T((2, 3, 4)), 1, (-1, 0))),
            Sample((T((2, 3, 4)), math.inf, (2, 1)), {"keepdim": True}),
            Sample((T((3, 4)), 3, 1)),
            Sample((T((3, 4)), None, -1), {"keepdim": True}),
            Sample((T((5,)), -math.inf)),
            Sample((T(()),)),
        ],
        ref=_ref_norm,
        torch=_torch_linalg("norm"),
    ),
]
