"""Op table rows: dropout, normalization, embedding and one_hot (tapegrad/nn/functional/
{dropout,normalization,sparse}.py)."""

import numpy as np

import tapegrad as tg
from tapegrad.nn import functional as F
from tests.opdb.cases import I, OpCase, Sample, T, positive


def _torch_F(name):
    """torch.nn.functional.<name>, imported only when a torch comparison runs."""

    def call(*args, **kwargs):
        import torch.nn.functional

        return getattr(torch.nn.functional, name)(*args, **kwargs)

    return call


def _seeded(fn):
    """``fn`` with the global seed reset first, so every call draws the same dropout mask."""

    def call(*args, **kwargs):
        tg.manual_seed(1234)
        return fn(*args, **kwargs)

    return call


# --- numpy references ----------------------------------------------------------------------


def _standardize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _affine(out, weight, bias, shape=None):
    if weight is not None:
        out = out * (weight if shape is None else weight.reshape(shape))
    if bias is not None:
        out = out + (bias if shape is None else bias.reshape(shape))
    return out


def _layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    return _affine(_standardize(x, tuple(range(x.ndim - n, x.ndim)), eps), weight, bias)


def _batch_norm(x, mean, var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        out = _standardize(x, (0, *range(2, x.ndim)), eps)
    else:
        out = (x - _channel(mean, x.ndim)) / np.sqrt(_channel(var, x.ndim) + eps)
    return _affine(out, weight, bias, shape)


def _group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    grouped = x.reshape(x.shape[0], num_groups, -1)
    out = _standardize(grouped, (2,), eps).reshape(x.shape)
    return _affine(out, weight, bias, (1, -1) + (1,) * (x.ndim - 2))


def _normalize(x, p=2.0, dim=1, eps=1e-12):
    norm = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(norm, eps)


def _embedding(index, weight):
    return weight[index]


def _one_hot(index, num_classes=-1):
    n = index.max() + 1 if num_classes == -1 else num_classes
    return np.eye(n, dtype=np.int64)[index]


CASES = [
    OpCase(
        "dropout",
        [
            Sample((T((3, 4)),)),
            Sample((T((2, 3, 4)), 0.2)),
            Sample((T(()),), {"p": 0.3}),
            Sample((T((3, 4)),), {"p": 1.0}),
            Sample((T((3, 4)),), {"training": False}),
        ],
        op=_seeded(F.dropout),
        torch=None,  # random: tests/nn/test_dropout.py checks the statistics instead
    ),
    OpCase(
        "dropout1d",
        [Sample((T((2, 3, 4)),)), Sample((T((3, 4)), 0.25))],
        op=_seeded(F.dropout1d),
        torch=None,
    ),
    OpCase("dropout2d", [Sample((T((2, 3, 2, 2)),))], op=_seeded(F.dropout2d), torch=None),
    OpCase(
        "layer_norm",
        [
            Sample((T((3, 4)), (4,))),
            Sample((T((2, 3, 4)), (3, 4), T((3, 4)), T((3, 4)))),
            Sample((T((2, 5)), (5,), None, T((5,))), {"eps": 1e-3}),
            Sample((T((4,)), [4], T((4,)))),
        ],
        ref=_layer_norm,
        torch=_torch_F("layer_norm"),
    ),
    OpCase(
        "batch_norm",
        [
            Sample((T((4, 3)), None, None, T((3,)), T((3,))), {"training": True}),
            Sample((T((2, 3, 5)), None, None), {"training": True, "eps": 1e-3}),
            Sample(
                (
                    T((2, 3, 2, 2)),
                    T((3,), grad=False),
                    T((3,), grad=False, domain=positive()),
                    T((3,)),
                    T((3,)),
                ),
                id="eval,(2, 3, 2, 2)",
            ),
            Sample(
                (T((5, 2)), T((2,), grad=False), T((2,), grad=False, domain=positive())),
                {"training": False},
            ),
        ],
        ref=_batch_norm,
        torch=_torch_F("batch_norm"),
    ),
    OpCase(
        "group_norm",
        [
            Sample((T((2, 4, 3)), 2, T((4,)), T((4,)))),
            Sample((T((3, 6)), 3)),
            Sample((T((2, 4, 2, 2)), 1, T((4,))), {"eps": 1e-3}),
        ],
        ref=_group_norm,
        torch=_torch_F("group_norm"),
    ),
    OpCase(
        "normalize",
        [
            Sample((T((3, 4)),)),
            Sample((T((2, 3, 4)),), {"p": 1.0, "dim": -1}),
            Sample((T((5,)),), {"dim": 0}),
            Sample((T((2, 3)),), {"p": 3.0, "dim": (0, 1)}),
        ],
        ref=_normalize,
        domain=(0.2, 2.0),  # away from the |x| kink of the 1-norm
        torch=_torch_F("normalize"),
    ),
    OpCase(
        "embedding",
        [
            Sample((I([[0, 2, 2], [1, 0, 2]]), T((4, 3))), id="repeated"),
            Sample((I(2), T((3, 2))), id="0-d"),
            # padding_idx and scale_grad_by_freq change the gradient on purpose (torch's
            # semantics, not the derivative), so tests/nn/test_embedding.py checks them vs torch
        ],
        ref=_embedding,
        torch=_torch_F("embedding"),
    ),
    OpCase(
        "one_hot",
        [
            Sample((I([0, 2, 1]),)),
            Sample((I([[1, 0], [3, 2]]), 5)),
            Sample((I(2),), {"num_classes": 3}),
        ],
        ref=_one_hot,
        torch=_torch_F("one_hot"),
    ),
]
