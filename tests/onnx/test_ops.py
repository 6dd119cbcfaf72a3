"""Every export rule against ONNX Runtime: one small case per op, at two batch sizes.

Each case exports a function with axis 0 of every input dynamic (when ``dynamic``), then
ONNX Runtime must match tapegrad at the example's batch and at a larger one. A case names
the rules it exercises; the tape must record them, and together the cases cover every rule.
"""

from __future__ import annotations

import io
import math
from typing import NamedTuple

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F
from tapegrad.nn.functional import activation as act
from tapegrad.nn.functional import conv, loss, pooling
from tapegrad.nn.functional import normalization as norm
from tapegrad.nn.functional.linear import Linear
from tapegrad.ops import arithmetic as ar
from tapegrad.ops import conversion as cv
from tapegrad.ops import elementwise as el
from tapegrad.ops import indexing as ix
from tapegrad.ops import linalg as la
from tapegrad.ops import reduction as rd
from tapegrad.ops import shape as sh

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class Case(NamedTuple):
    id: str
    fn: object
    make: object  # batch size -> tuple of input tensors
    keys: tuple  # the rules it exercises: Function classes or plain op names
    dynamic: bool = True  # axis 0 of every input is dynamic; checked at two sizes
    min_opset: int = 13  # below it, export raises saying which opset it needs


def inputs(*factories):
    return lambda n: tuple(f(n) for f in factories)


def normal(*shape):
    return lambda n: tg.randn(n, *shape)


def positive(*shape):
    return lambda n: tg.rand(n, *shape) + 0.5


def unit(*shape):
    return lambda n: tg.rand(n, *shape) * 1.8 - 0.9


def probs(*shape):
    return lambda n: tg.rand(n, *shape) * 0.9 + 0.05


def ints(high, *shape):
    return lambda n: tg.randint(0, high, (n, *shape))


def flags(*shape):
    return lambda n: tg.rand(n, *shape) > 0.5


def case(id, fn, factories, *keys, dynamic=True, min_opset=13):
    return Case(id, fn, inputs(*factories), keys, dynamic, min_opset)


# weights made once: a function that draws new ones per call changes between export's runs
tg.manual_seed(0)
LINEAR = tg.nn.Linear(3, 2)
EMBEDDING = tg.nn.Embedding(7, 3, padding_idx=0)
W_T2D, B_T2D, W_T1D = tg.randn(4, 3, 3, 2), tg.randn(6), tg.randn(2, 3, 3)
GAMMA, BETA, CLASS_WEIGHT, POS_WEIGHT = tg.randn(4), tg.randn(4), tg.rand(5), tg.rand(4) + 0.5


_UNARY = [
    ("exp", tg.exp, normal(4), el.Exp),
    ("log", tg.log, positive(4), el.Log),
    ("sqrt", tg.sqrt, positive(4), el.Sqrt),
    ("abs", tg.abs, normal(4), el.Abs),
    ("tanh", tg.tanh, normal(4), el.Tanh),
    ("sigmoid", tg.sigmoid, normal(4), el.Sigmoid),
    ("relu", tg.relu, normal(4), el.Relu),
    ("sin", tg.sin, normal(4), el.Sin),
    ("cos", tg.cos, normal(4), el.Cos),
    ("tan", tg.tan, unit(4), el.Tan),
    ("asin", tg.asin, unit(4), el.Asin),
    ("acos", tg.acos, unit(4), el.Acos),
    ("atan", tg.atan, normal(4), el.Atan),
    ("sinh", tg.sinh, normal(4), el.Sinh),
    ("cosh", tg.cosh, normal(4), el.Cosh),
    ("erf", tg.erf, normal(4), el.Erf),
    ("sign", tg.sign, normal(4), el.Sign),
    ("floor", lambda x: (x * 3).floor(), normal(4), el.Floor),
    ("ceil", lambda x: (x * 3).ceil(), normal(4), el.Ceil),
    ("round", lambda x: (x * 3).round(), normal(4), el.Round),
    ("trunc", lambda x: (x * 3).trunc(), normal(4), el.Trunc),
    ("reciprocal", tg.reciprocal, positive(4), el.Reciprocal),
    ("neg", lambda x: -x, normal(4), ar.Neg),
    ("clone", lambda x: x.clone() * 2, normal(4), cv.Clone),
    ("rsqrt", tg.rsqrt, positive(4), el.Rsqrt),
    ("square", tg.square, normal(4), el.Square),
    ("log1p", tg.log1p, positive(4), el.Log1p),
    ("expm1", tg.expm1, normal(4), el.Expm1),
    ("exp2", tg.exp2, normal(4), el.Exp2),
    ("log2", tg.log2, positive(4), el.Log2),
    ("log10", tg.log10, positive(4), el.Log10),
]

CASES = [case(name, fn, [make], key) for name, fn, make, key in _UNARY]
CASES += [
    case("exp_of_int", lambda i: i.exp(), [ints(5, 3)], el.Exp),
    case("add_sub", lambda x, y: x + y - 1.5, [normal(3, 4), normal(1, 4)], ar.Add, ar.Sub),
    case("mul_div", lambda x, y: 2 * x * y / (y.abs() + 1), [normal(3, 4), normal(1, 4)], ar.Div),
    case("int_arithmetic", lambda i: (i + 2) * 3 - i, [ints(9, 4)], ar.Add, ar.Mul),
    case("pow", lambda x, y: x**2 + 2**x + x.abs() ** y, [normal(4), normal(4)], ar.Pow),
    case(
        "maximum_minimum",
        lambda x, y: tg.maximum(x, y) - tg.minimum(x, 0.5),
        [normal(4), normal(4)],
        el.Maximum,
        el.Minimum,
    ),
    case("remainder_float", lambda x: x % 0.7 + (-x) % -1.3, [normal(5)], ar.Remainder),
    case("remainder_int", lambda i: (i - 4) % 3, [ints(9, 5)], ar.Remainder),
    case("clamp", lambda x: x.clamp(-0.5, 0.5) + x.clamp(min=0.2), [normal(4)], el.Clamp),
    case("clamp_int", lambda i: i.clamp(2, 5), [ints(9, 4)], el.Clamp),
    case("where", lambda x, y: tg.where(x > y, x, 0.0), [normal(4), normal(4)], el.Where, "gt"),
    case(
        "cast",
        lambda x: (x * 4).long() + x.double().sum(-1, keepdim=True).long(),
        [normal(4)],
        cv.Cast,
    ),
    case("matmul", lambda x, y: x @ y, [normal(2, 3), normal(3, 4)], la.MatMul),
    case("matmul_vector", lambda x: x @ tg.ones(3), [normal(2, 3)], la.MatMul),
    # --- nn activations
    case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [normal(4)], act.LeakyRelu),
    case("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), [normal(4)], act.Hardtanh),
    case("elu_selu_celu", lambda x: F.elu(x) + F.selu(x) + F.celu(x, 0.5), [normal(4)], act.Elu),
    case("gelu", lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"), [normal(4)], act.Gelu),
    case("silu_mish", lambda x: F.silu(x) + F.mish(x), [normal(4)], act.Silu, act.Mish),
    case(
        "softplus", lambda x: F.softplus(x * 30, beta=2.0, threshold=5.0), [normal(4)], act.Softplus
    ),
    case("logsigmoid", lambda x: F.logsigmoid(x * 30), [normal(4)], act.LogSigmoid),
    case(
        "hard",
        lambda x: F.hardsigmoid(x * 4) + F.hardswish(x * 4),
        [normal(4)],
        act.Hardsigmoid,
        act.Hardswish,
    ),
    case(
        "softmax",
        lambda x: F.softmax(x, -1) + F.log_softmax(x, 1),
        [normal(3, 4)],
        act.Softmax,
        act.LogSoftmax,
    ),
    # --- layers
    case(
        "linear",
        lambda x, w, b: F.linear(x, w, b) + F.linear(x.unsqueeze(1), w).sum(1),
        [normal(3), lambda n: tg.randn(4, 3), lambda n: tg.randn(4)],
        Linear,
        dynamic=False,
    ),
    case("linear_batched", LINEAR, [normal(5, 3)], Linear),
    case(
        "einsum",
        lambda x, y: tg.einsum("bij,bjk->bik", x, y) + tg.einsum("bii->b", x)[:, None, None],
        [normal(3, 3), normal(3, 2)],
        la.Einsum,
    ),
    case(
        "conv1d_conv2d",
        lambda x: (
            F.conv2d(x, tg.ones(4, 1, 3, 3) * 0.1, tg.ones(4), padding=1).sum(1)
            + F.conv1d(x[:, 0], tg.ones(2, 5, 2) * 0.2, stride=2, dilation=2).sum()
        ),
        [normal(1, 5, 6)],
        conv.Conv2d,
    ),
    case(
        "conv_transpose2d",
        lambda x: F.conv_transpose2d(
            x, W_T2D, B_T2D, stride=2, padding=1, output_padding=1, groups=2
        ),
        [normal(4, 3, 5)],
        conv.ConvTranspose2d,
    ),
    case(
        "conv_transpose1d",
        lambda x: F.conv_transpose1d(x, W_T1D, stride=3, dilation=2),
        [normal(2, 5)],
        conv.ConvTranspose2d,
    ),
    case(
        "max_pool",
        lambda x: F.max_pool2d(x, 2, ceil_mode=True).sum() + F.max_pool1d(x[:, 0], 3, 2, 1),
        [normal(2, 5, 5)],
        pooling.MaxPool2d,
    ),
    case(
        "avg_pool",
        lambda x: (
            F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            + F.avg_pool2d(x, 2, divisor_override=3).sum()
        ),
        [normal(2, 5, 5)],
        pooling.AvgPool2d,
    ),
    case(
        "pad_constant",
        lambda x: F.pad(x, (1, 2, 0, 1), value=0.5) + F.pad(x, (-1, 2, 1, -1)).sum(),
        [normal(2, 4)],
        pooling.Pad,
    ),
    case(
        "pad_reflect_replicate_circular",
        lambda x: (
            F.pad(x, (2, 1), "reflect")
            + F.pad(x, (2, 1), "replicate")
            + F.pad(x, (1, 2), "circular")
        ),
        [normal(2, 4)],
        ix.IndexSelect,
    ),
    case(
        "adaptive_avg_pool",
        lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
        [normal(2, 5, 7)],
        la.MatMul,
    ),
    case(
        "layer_norm",
        lambda x: F.layer_norm(x, (3, 4), GAMMA.expand(3, 4), None) + F.layer_norm(x, (4,)),
        [normal(3, 4)],
        norm.NativeLayerNorm,
    ),
    case(
        "batch_norm_training",
        lambda x: F.batch_norm(x, None, None, GAMMA, BETA, training=True),
        [normal(4, 3)],
        norm.NativeBatchNorm,
    ),
    case(
        "group_norm",
        lambda x: F.group_norm(x, 2, GAMMA, BETA),
        [normal(4, 3)],
        rd.Var,
        rd.Mean,
    ),
    case(
        "normalize",
        lambda x: F.normalize(x, dim=-1) + F.normalize(x, p=1, dim=0),
        [normal(4)],
        rd.Norm,
    ),
    case("one_hot", lambda i: F.one_hot(i, 6), [ints(6, 3)], "one_hot"),
    # --- losses
    case(
        "nll_loss",
        lambda x, t: F.nll_loss(F.log_softmax(x, 1), t) + F.nll_loss(x, t, reduction="sum"),
        [normal(5), ints(5)],
        loss.NllLoss,
    ),
    case(
        "nll_loss_none_weight",
        lambda x, t: F.nll_loss(x, t, weight=CLASS_WEIGHT, reduction="none", ignore_index=2),
        [normal(5, 2), ints(5, 2)],
        loss.NllLoss,
    ),
    case(
        "nll_loss_weighted_mean",
        lambda x, t: F.nll_loss(x, t, weight=CLASS_WEIGHT, ignore_index=1),
        [normal(5), ints(5)],
        loss.NllLoss,
    ),
    case(
        "cross_entropy",
        lambda x, t: (
            F.cross_entropy(x, t) + F.cross_entropy(x, t, label_smoothing=0.1, reduction="sum")
        ),
        [normal(5), ints(5)],
        loss.CrossEntropy,
        act.LogSoftmax,
    ),
    case(
        "cross_entropy_weighted_ignored",
        lambda x, t: F.cross_entropy(x, t, weight=CLASS_WEIGHT, ignore_index=1),
        [normal(5), ints(5)],
        loss.CrossEntropy,
    ),
    case(
        "cross_entropy_probs",
        lambda x, p: F.cross_entropy(x, F.softmax(p, 1)),
        [normal(5), normal(5)],
        act.LogSoftmax,
    ),
    case(
        "binary_cross_entropy",
        lambda p, t: (
            F.binary_cross_entropy(p, t)
            + F.binary_cross_entropy(p, t, reduction="none").sum(1).mean()
        ),
        [probs(4), probs(4)],
        loss.BinaryCrossEntropy,
    ),
    case(
        "bce_with_logits",
        lambda x, t: F.binary_cross_entropy_with_logits(x * 40, t, pos_weight=POS_WEIGHT),
        [normal(4), probs(4)],
        loss.BinaryCrossEntropyWithLogits,
    ),
    case(
        "mse_l1",
        lambda x, y: F.mse_loss(x, y) + F.l1_loss(x, y, reduction="sum"),
        [normal(4), normal(4)],
        loss.MseLoss,
    ),
    case(
        "mse_sum_none",
        lambda x, y: F.mse_loss(x, y, reduction="none") * F.mse_loss(x, y, reduction="sum"),
        [normal(4), normal(4)],
        loss.MseLoss,
    ),
    case(
        "smooth_l1_huber",
        lambda x, y: (
            F.smooth_l1_loss(x, y, beta=0.5, reduction="none")
            + F.huber_loss(x, y, delta=0.7, reduction="none")
        ),
        [normal(4), normal(4)],
        el.Where,
        "lt",
    ),
    case(
        "kl_div",
        lambda x, t: (
            F.kl_div(F.log_softmax(x, 1), t, reduction="batchmean")
            + F.kl_div(x, t.log(), reduction="sum", log_target=True)
        ),
        [normal(4), probs(4)],
        "eq",
        el.Where,
    ),
    # --- reductions
    case(
        "sum_mean",
        lambda x: x.sum(1) + x.mean((1, 2)).unsqueeze(1) + x.sum(),
        [normal(3, 4)],
        rd.Sum,
        rd.Mean,
    ),
    case("sum_int", lambda i: i.sum(-1), [ints(5, 4)], rd.Sum),
    case(
        "amax_amin_prod",
        lambda x: x.amax(1) + x.amin(-1, keepdim=True).squeeze(-1) * x.prod(1),
        [normal(4)],
        rd.Amax,
        rd.Amin,
        rd.Prod,
    ),
    case("logsumexp", lambda x: x.logsumexp(1), [normal(4)], rd.Logsumexp),
    case(
        "var_std",
        lambda x: x.var(1) + x.std(1, keepdim=True).squeeze(1) + x.var(0).sum(),
        [normal(4)],
        rd.Var,
        rd.Std,
    ),
    case(
        "norm",
        lambda x: x.norm(dim=1) + x.norm(1, 1) + x.norm(math.inf, 1) + x.norm(0, 1) + x.norm(3, 1),
        [normal(4)],
        rd.Norm,
    ),
    case(
        "vector_norm",
        lambda x: (
            tg.linalg.vector_norm(x, dim=1)
            + tg.linalg.norm(x, -math.inf, dim=1)
            + tg.linalg.vector_norm(x, 0.5, dim=1)
        ),
        [normal(4)],
        la.VectorNorm,
    ),
    case(
        "max_min_dim",
        lambda x: (
            x.max(1).values
            + x.min(1, keepdim=True)[0].squeeze(1)
            + x.max(1).indices
            + x.min(-1).indices
        ),
        [normal(5)],
        rd.MaxDim,
        rd.MinDim,
    ),
    case(
        "argmax_argmin",
        lambda x: x.argmax(1) + x.argmin(dim=-1, keepdim=True).squeeze(1) + x.argmax() * 0,
        [normal(5)],
        "argmax",
        "argmin",
    ),
    case(
        "all_any",
        lambda x: (x > 0).all(1).long() + (x > 1).any(-1).long() + (x * 0).any().long(),
        [normal(4)],
        "all",
        "any",
    ),
    case("cumsum", lambda x: x.cumsum(1) + x.cumsum(0), [normal(4)], rd.Cumsum),
    # --- shapes
    case(
        "reshape",
        lambda x: x.reshape(-1, 2, 6).flatten(1) + x.view(x.shape[0], 12),
        [normal(3, 4)],
        sh.Reshape,
    ),
    case("permute", lambda x: x.permute(2, 0, 1).transpose(1, 2), [normal(3, 4)], sh.Permute),
    case(
        "expand",
        lambda x: x[:, :1].expand(-1, 3, 4) + x.unsqueeze(0).expand(2, -1, -1, -1).sum(0),
        [normal(3, 4)],
        sh.Expand,
    ),
    case(
        "cat_stack",
        lambda x, y: tg.cat([x, y * 2], 1) + tg.stack([x, y], 1).sum(1).repeat(1, 2),
        [normal(3), normal(3)],
        sh.Cat,
        sh.Repeat,
    ),
    case(
        "split_chunk",
        lambda x: tg.cat(list(x.split([1, 3], 1))[::-1], 1) * x.chunk(2, 1)[1].sum(),
        [normal(4)],
        sh.Split,
    ),
    case(
        "unbind_narrow", lambda x: x.unbind(1)[2] + x.narrow(1, 1, 2).sum(1), [normal(4)], sh.Split
    ),
    case(
        "repeat_tile",
        lambda x: x.repeat(2, 1, 3) + x.tile(2, 1, 3),
        [normal(2)],
        sh.Repeat,
        dynamic=False,
    ),
    case("flip", lambda x: x.flip(1) + x.flip(0, 1), [normal(4)], sh.Flip),
    case(
        "roll",
        lambda x: x.roll(1, 1) + x.roll((2, -1), (1, 2)) + x.roll(3),
        [normal(3, 4)],
        sh.Roll,
        dynamic=False,
    ),
    case("roll_dynamic", lambda x: x.roll(2, -1), [normal(3, 4)], sh.Roll),
    # --- indexing
    case(
        "getitem_basic",
        lambda x: x[:, 1:, None, ::2].sum((1, 2, 3)) + x[..., -1, 0] + x[:, 2][:, 1],
        [normal(4, 5)],
        ix.GetItem,
    ),
    case(
        "getitem_arrays",
        lambda x: (
            x[:, tg.tensor([2, 0, 0])].sum(1)
            + x[tg.tensor([1, 0]), tg.tensor([3, 3])]
            + x[..., tg.tensor([1, 2])].sum(-1)
        ),
        [normal(4)],
        ix.GetItem,
        dynamic=False,
    ),
    case(
        "getitem_tokens",
        lambda x, i: x[i] + x[i, 1:2],
        [lambda n: tg.randn(6, 3), ints(6, 2)],
        ix.GetItem,
        dynamic=False,
    ),
    case("embedding", EMBEDDING, [ints(7, 4)], ix.GetItem),
    case(
        "index_select_select",
        lambda x: x.index_select(1, tg.tensor([3, 0])) + x.select(1, 2).unsqueeze(1),
        [normal(4)],
        ix.IndexSelect,
        ix.Select,
    ),
    case(
        "gather",
        lambda x, i: x.gather(1, i) + tg.take_along_dim(x, i, 1),
        [normal(5), ints(5, 3)],
        ix.Gather,
    ),
    case(
        "gather_dim0",
        lambda x, i: x.gather(0, i),
        [lambda n: tg.randn(3, 4), ints(3, 4)],
        ix.Gather,
        dynamic=False,
    ),
    case(
        "scatter",
        lambda x, i: x.scatter(1, i[:, :1], x[:, :1] * 10) + x.scatter(1, i[:, 1:2], value=-1.0),
        [normal(5), ints(5, 2)],
        ix.Scatter,
    ),
    case(
        "scatter_add",
        lambda x, i: x.scatter_add(1, i, x[:, :3] * 10),
        [normal(5), ints(5, 3)],
        ix.ScatterAdd,
        min_opset=16,
    ),
    case("index_put", lambda x: _written(x), [normal(4)], ix.IndexPut, min_opset=16),
    case(
        "nonzero",
        lambda x: (x > 0).nonzero() + 0 * tg.stack((x > 0).nonzero(as_tuple=True), 1),
        [normal(4)],
        "nonzero",
        dynamic=False,
    ),
    # --- comparisons and logic
    case(
        "compare",
        lambda x, y: tg.stack([x == y, x != 0.5, x < y, x <= y, x > 0, x >= y]),
        [normal(4), normal(4)],
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
    ),
    case(
        "compare_int_float", lambda i: (i < 2.5) | (i == 3), [ints(5, 4)], "lt", "eq", "bitwise_or"
    ),
    case(
        "bitwise_bool",
        lambda a, b: (a & b) ^ ~a | (a ^ b),
        [flags(4), flags(4)],
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
    ),
    case(
        "bitwise_int",
        lambda i, j: (i & j) + (i | j) + (i ^ j) + ~i,
        [ints(16, 4), ints(16, 4)],
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
        min_opset=18,
    ),
    case(
        "logical",
        lambda x, i: tg.logical_and(x, i) | tg.logical_or(x > 0, i) | tg.logical_not(i),
        [normal(4), ints(2, 4)],
        "logical_and",
        "logical_or",
        "logical_not",
    ),
    case(
        "isnan_isinf",
        lambda x: tg.stack(
            [(x / x.round()).isnan(), (1 / x.round()).isinf(), (x / x.round()).isfinite()]
        ),
        [normal(6)],
        "isnan",
        "isinf",
        "isfinite",
    ),
    case(
        "isclose",
        lambda x, y: tg.isclose(x, x + y * 1e-6) & tg.isclose(x, y, atol=0.5, equal_nan=True),
        [normal(4), normal(4)],
        "isclose",
    ),
    case(
        "floor_divide",
        lambda x, i: (x // 0.3).long() + i // 3 + (-i) // 4,
        [normal(4), ints(9, 4)],
        "floor_divide",
    ),
]


def _written(x):
    y = x * 1.0
    y[0, 1:3] = 5.0
    y[:, tg.tensor([0, 0])] += x[:, :2]
    y[..., -1] = x[:, 0]
    y.index_put_((tg.tensor([1, 1]),), x[0], accumulate=True)
    return y


def _run(model_bytes, names, batch) -> list:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {n: t.numpy() for n, t in zip(names, batch)})


def _assert_matches(got, expected) -> None:
    assert got.shape == expected.shape
    if expected.dtype.kind == "f":
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_array_equal(got.astype(expected.dtype), expected)


def _check(c: Case, opset: int, batches: tuple) -> None:
    """Export ``c`` at ``opset`` from batches[0]; ONNX Runtime matches on every batch."""
    names = [f"in{i}" for i in range(len(batches[0]))]
    dynamic = {n: {0: "batch"} for n in names} if c.dynamic else None
    buffer = io.BytesIO()
    tg.onnx.export(
        c.fn, batches[0], buffer, input_names=names, dynamic_axes=dynamic, opset_version=opset
    )
    for batch in batches:
        with tg.no_grad():
            expected = c.fn(*batch)
        expected = (expected,) if isinstance(expected, tg.Tensor) else expected
        for got, want in zip(_run(buffer.getvalue(), names, batch), expected, strict=True):
            _assert_matches(got, want.numpy())


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_op_matches_onnx_runtime(c):
    example = c.make(2)
    recorded = {call.fn for call in tg.onnx.trace.record(c.fn, example).calls}
    assert set(c.keys) <= recorded
    _check(c, max(17, c.min_opset), (example, c.make(5)) if c.dynamic else (example,))


@pytest.mark.parametrize("opset", [13, 18])
def test_every_case_exports_at_the_oldest_and_a_newer_opset(opset):
    for c in CASES:
        if opset < c.min_opset:
            with pytest.raises(NotImplementedError, match=f"needs opset_version {c.min_opset}"):
                _check(c, opset, (c.make(2),))
        else:
            _check(c, opset, (c.make(2),))


def test_every_rule_is_exercised_by_a_case():
    covered = {key for c in CASES for key in c.keys}
    missing = [getattr(k, "__name__", k) for k in tg.onnx.ops.RULES if k not in covered]
    assert not missing
