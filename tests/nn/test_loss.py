"""Losses against torch (every reduction, weights, ignore_index, label smoothing, probability
targets), stability at extreme inputs, the loss layers, errors, and hand-derived values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.autograd.node import AccumulateGrad
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import nn_loss

ROWS = cases_and_samples({c.name: c for c in nn_loss.CASES})
RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 5))
LOGITS_3D = RNG.standard_normal((2, 5, 3))
TARGETS = np.array([1, 0, 4, -100])
TARGETS_3D = np.array([[1, 2, -100], [4, 0, 3]])
PROBS = RNG.dirichlet(np.ones(5), size=4)
CLASS_WEIGHT = RNG.uniform(0.5, 2.0, 5)
Y = RNG.uniform(0, 1, (4, 5))
P = RNG.uniform(0.05, 0.95, (4, 5))


def _compare(torch, fn, arrays, grad_args, rtol=1e-10, **kwargs):
    """Call ``fn(F)`` and ``fn(torch F)`` on the arrays; compare values and VJPs."""
    ours = [tg.tensor(a, requires_grad=i in grad_args) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad_args) for i, a in enumerate(arrays)]
    out = fn(F, tg, *ours, **kwargs)
    t_out = fn(torch.nn.functional, torch, *theirs, **kwargs)
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(out.shape)
    grads = tg.autograd.grad(out, [ours[i] for i in grad_args], tg.tensor(v))
    t_grads = torch.autograd.grad(t_out, [theirs[i] for i in grad_args], torch.tensor(v))
    for g, t_g in zip(grads, t_grads):
        np.testing.assert_allclose(g.numpy(), t_g.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_rows_match_torch(torch, case, sample, index):
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values, read_only=False)
    t_args = torch_args(torch, sample, values)
    out = op_callable(case)(*args, **sample.kwargs)
    t_out = case.torch(*t_args, **sample.kwargs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)
    v = np.random.default_rng(index).standard_normal(out.shape)
    ours = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    theirs = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    grads = tg.autograd.grad(out, ours, tg.from_numpy(v))
    t_grads = torch.autograd.grad(t_out, theirs, torch.from_numpy(v))
    for g, t_g in zip(grads, t_grads):
        np.testing.assert_allclose(g.numpy(), t_g.numpy(), rtol=1e-9, atol=1e-12)


# --- cross entropy and nll, every combination ------------------------------------------------


def _ce(weighted: bool):
    def call(f, lib, x, t, **kwargs):
        weight = lib.tensor(CLASS_WEIGHT) if weighted else None
        return f.cross_entropy(x, t, weight=weight, **kwargs)

    return call


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("x", "t"),
    [(LOGITS, TARGETS), (LOGITS_3D, TARGETS_3D), (LOGITS[0], np.array(3))],
    ids=["indices", "indices-3d", "unbatched"],
)
def test_cross_entropy_class_indices_match_torch(torch, x, t, reduction, label_smoothing, weighted):
    _compare(
        torch, _ce(weighted), [x, t], [0], reduction=reduction, label_smoothing=label_smoothing
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities_match_torch(torch, reduction, label_smoothing, weighted):
    _compare(
        torch,
        _ce(weighted),
        [LOGITS, PROBS],
        [0, 1],
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_custom_ignore_index_matches_torch(torch, reduction, weighted):
    t = np.array([1, 1, 2, 3])
    _compare(torch, _ce(weighted), [LOGITS, t], [0], reduction=reduction, ignore_index=1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_is_one_node_equal_to_log_softmax_then_nll(reduction, weighted):
    weight = tg.tensor(CLASS_WEIGHT) if weighted else None
    v = tg.tensor(np.random.default_rng(2).standard_normal((2, 3) if reduction == "none" else ()))
    x = tg.tensor(LOGITS_3D, requires_grad=True)
    fused = F.cross_entropy(x, tg.tensor(TARGETS_3D), weight, reduction=reduction)
    composed = F.nll_loss(F.log_softmax(x, 1), tg.tensor(TARGETS_3D), weight, reduction=reduction)
    assert fused.grad_fn.name() == "NllLossBackward0"  # torch's name for the loss node
    assert fused.grad_fn.next_functions == ((AccumulateGrad(x), 0),)
    np.testing.assert_array_equal(fused.detach().numpy(), composed.detach().numpy())
    (grad,) = tg.autograd.grad(fused, x, v)
    (expected,) = tg.autograd.grad(composed, x, v)
    np.testing.assert_array_equal(grad.numpy(), expected.numpy())


def test_cross_entropy_double_backward_matches_torch(torch):
    """The Hessian-vector product goes through the softmax inside the fused node."""
    t = np.array([1, 0, 4, 2])
    x = tg.tensor(LOGITS, requires_grad=True)
    (grad,) = tg.autograd.grad(F.cross_entropy(x, tg.tensor(t)), x, create_graph=True)
    (hvp,) = tg.autograd.grad((grad * tg.tensor(Y)).sum(), x)
    t_x = torch.tensor(LOGITS, requires_grad=True)
    (t_grad,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(t_x, torch.tensor(t)), t_x, create_graph=True
    )
    (t_hvp,) = torch.autograd.grad((t_grad * torch.tensor(Y)).sum(), t_x)
    np.testing.assert_allclose(hvp.numpy(), t_hvp.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(torch, reduction, weighted):
    def call(f, lib, x, t, **kwargs):
        weight = lib.tensor(CLASS_WEIGHT) if weighted else None
        return f.nll_loss(f.log_softmax(x, 1), t, weight, **kwargs)

    _compare(torch, call, [LOGITS_3D, TARGETS_3D], [0], reduction=reduction)


def test_all_targets_ignored_gives_nan_loss_and_zero_gradient():
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([-100, -100, -100]), label_smoothing=0.1)
    assert math.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_by_hand():
    x = tg.tensor([[0.0, math.log(3.0)], [2.0, 2.0]], dtype=tg.float64, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([1, 0]))
    np.testing.assert_allclose(loss.item(), (-math.log(0.75) - math.log(0.5)) / 2)
    loss.backward()  # d/dx = (softmax - onehot) / N
    np.testing.assert_allclose(x.grad.numpy(), [[0.125, -0.125], [-0.25, 0.25]])


def test_label_smoothing_by_hand():
    x = tg.tensor([[0.0, 0.0]], dtype=tg.float64)
    loss = F.cross_entropy(x, tg.tensor([0]), label_smoothing=0.5)
    np.testing.assert_allclose(loss.item(), math.log(2.0))  # uniform p: every term is log 2


def test_weighted_mean_divides_by_the_weights_of_kept_targets_by_hand():
    x = tg.zeros(3, 2, dtype=tg.float64)
    weight = tg.tensor([1.0, 3.0], dtype=tg.float64)
    loss = F.nll_loss(
        x - tg.tensor([[1.0, 2.0]], dtype=tg.float64), tg.tensor([0, 1, -100]), weight
    )
    np.testing.assert_allclose(loss.item(), (1 * 1 + 3 * 2) / (1 + 3))


# --- binary cross entropy, KL, regression ----------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(torch, reduction, weighted):
    def call(f, lib, x, y, **kwargs):
        weight = lib.tensor(CLASS_WEIGHT) if weighted else None
        return f.binary_cross_entropy(x, y, weight, **kwargs)

    _compare(torch, call, [P, Y], [0, 1], reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits_matches_torch(torch, reduction, weighted, pos_weighted):
    def call(f, lib, x, y, **kwargs):
        weight = lib.tensor(CLASS_WEIGHT) if weighted else None
        pos_weight = lib.tensor(CLASS_WEIGHT[::-1].copy()) if pos_weighted else None
        return f.binary_cross_entropy_with_logits(x, y, weight, pos_weight=pos_weight, **kwargs)

    _compare(torch, call, [LOGITS, Y], [0, 1], reduction=reduction)


@pytest.mark.parametrize("reduction", ["sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(torch, reduction, log_target):
    target = np.log(PROBS[::-1]) if log_target else PROBS[::-1].copy()
    _compare(
        torch,
        lambda f, lib, x, t, **kw: f.kl_div(x, t, **kw),
        [np.log(PROBS), target],
        [0, 1],
        reduction=reduction,
        log_target=log_target,
    )


def test_kl_div_mean_warns_as_torch_and_averages_every_element():
    x, t = tg.tensor(np.log(PROBS)), tg.tensor(PROBS[::-1].copy())
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        mean = F.kl_div(x, t)
    np.testing.assert_allclose(mean.item(), F.kl_div(x, t, reduction="sum").item() / PROBS.size)


def test_kl_div_of_a_distribution_with_itself_is_zero_even_with_zeros():
    p = tg.tensor([0.0, 0.25, 0.75], dtype=tg.float64, requires_grad=True)
    loss = F.kl_div(tg.log(p.detach() + 1e-300), p, reduction="sum")
    np.testing.assert_allclose(loss.item(), 0.0, atol=1e-12)
    loss.backward()
    assert np.isfinite(p.grad.numpy()).all()


POINTWISE = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.3}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.4}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("name", "options"), POINTWISE)
def test_pointwise_losses_match_torch(torch, name, options, reduction):
    call = lambda f, lib, x, y, **kw: getattr(f, name)(x, y, **kw)  # noqa: E731
    _compare(torch, call, [LOGITS, Y], [0, 1], reduction=reduction, **options)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weights_match_torch(torch, name, reduction):
    call = lambda f, lib, x, y, **kw: getattr(f, name)(x, y, weight=lib.tensor(P), **kw)  # noqa: E731
    _compare(torch, call, [LOGITS, Y], [0, 1], reduction=reduction)


def test_regression_losses_by_hand():
    x = tg.tensor([0.0, 1.0, 4.0], dtype=tg.float64)
    y = tg.tensor([0.5, 1.0, 1.0], dtype=tg.float64)
    assert F.mse_loss(x, y).item() == pytest.approx((0.25 + 0 + 9) / 3)
    assert F.l1_loss(x, y, reduction="sum").item() == pytest.approx(3.5)
    assert F.smooth_l1_loss(x, y).item() == pytest.approx((0.125 + 0 + 2.5) / 3)
    assert F.huber_loss(x, y, delta=2.0, reduction="sum").item() == pytest.approx(0.125 + 4.0)


# --- stability -------------------------------------------------------------------------------


def test_cross_entropy_float32_logits_of_1e4_are_finite_and_match_torch(torch):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [0.0, -1e4, 0.0]], dtype=np.float32)
    targets = np.array([2, 0, 1])
    for smoothing in (0.0, 0.1):
        x = tg.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, tg.tensor(targets), label_smoothing=smoothing)
        loss.backward()
        t_x = torch.tensor(logits, requires_grad=True)
        t_loss = torch.nn.functional.cross_entropy(
            t_x, torch.tensor(targets), label_smoothing=smoothing
        )
        t_loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_bce_with_logits_float32_logits_of_1e4_are_finite_and_match_torch(torch):
    logits = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=np.float32)
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype=np.float32)
    pos_weight = np.full(5, 3.0, dtype=np.float32)
    x = tg.tensor(logits, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(
        x, tg.tensor(target), pos_weight=tg.tensor(pos_weight), reduction="none"
    )
    loss.sum().backward()
    t_x = torch.tensor(logits, requires_grad=True)
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        t_x, torch.tensor(target), pos_weight=torch.tensor(pos_weight), reduction="none"
    )
    t_loss.sum().backward()
    assert np.isfinite(loss.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(loss.detach().numpy(), t_loss.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6)


def test_bce_with_logits_pos_weight_gradient_passes_gradcheck():
    # torch refuses to differentiate pos_weight; tapegrad gives its gradient, checked here
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    y = tg.rand(3, 4, dtype=tg.float64)
    pos_weight = tg.rand(4, dtype=tg.float64, requires_grad=True)

    def fn(x, pos_weight):
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")

    assert tg.autograd.gradcheck(fn, [x, pos_weight])
    assert tg.autograd.gradgradcheck(fn, [x, pos_weight])


def test_bce_with_logits_at_zero_has_the_sigmoid_gradient():
    x = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    y = tg.tensor([0.0, 0.5, 1.0], dtype=tg.float64)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="sum")
    np.testing.assert_allclose(loss.item(), 3 * math.log(2.0))
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.0, -0.5])


def test_bce_at_probabilities_0_and_1_is_finite_and_matches_torch(torch):
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    ours = tg.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy(ours, tg.tensor(y), reduction="none")
    loss.sum().backward()
    t_x = torch.tensor(x, requires_grad=True)
    t_loss = torch.nn.functional.binary_cross_entropy(t_x, torch.tensor(y), reduction="none")
    t_loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), [0.0, 0.0, 100.0, 100.0, 50.0])
    np.testing.assert_allclose(loss.detach().numpy(), t_loss.detach().numpy())
    assert np.isfinite(ours.grad.numpy()).all()
    np.testing.assert_allclose(ours.grad.numpy(), t_x.grad.numpy(), rtol=1e-8)


def test_bce_target_gradient_is_that_of_the_clamped_loss():
    # torch returns +-inf here (its target gradient ignores the clamp); ours stays finite
    y = tg.tensor([0.5, 0.5], dtype=tg.float64, requires_grad=True)
    F.binary_cross_entropy(tg.tensor([0.0, 1.0], dtype=tg.float64), y, reduction="sum").backward()
    np.testing.assert_array_equal(y.grad.numpy(), [100.0, -100.0])


# --- the loss layers ---------------------------------------------------------------------------

LAYERS = [
    ("CrossEntropyLoss", {}, (LOGITS, TARGETS)),
    ("CrossEntropyLoss", {"weight": CLASS_WEIGHT, "label_smoothing": 0.1}, (LOGITS, TARGETS)),
    ("CrossEntropyLoss", {"ignore_index": 0, "reduction": "sum"}, (LOGITS, np.array([0, 1, 2, 3]))),
    ("CrossEntropyLoss", {"reduction": "none"}, (LOGITS, PROBS)),
    ("NLLLoss", {"weight": CLASS_WEIGHT}, (-PROBS, TARGETS)),
    ("MSELoss", {"reduction": "sum"}, (LOGITS, Y)),
    ("L1Loss", {}, (LOGITS, Y)),
    ("SmoothL1Loss", {"beta": 0.5}, (LOGITS, Y)),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, (LOGITS, Y)),
    ("BCELoss", {"weight": CLASS_WEIGHT}, (P, Y)),
    ("BCEWithLogitsLoss", {"pos_weight": CLASS_WEIGHT, "weight": CLASS_WEIGHT}, (LOGITS, Y)),
    ("KLDivLoss", {"reduction": "batchmean"}, (np.log(PROBS), PROBS[::-1].copy())),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, (np.log(PROBS), np.log(PROBS))),
]


@pytest.mark.parametrize(("name", "kwargs", "arrays"), LAYERS, ids=[l[0] for l in LAYERS])
def test_loss_layer_matches_torch_layer(torch, name, kwargs, arrays):
    def build(lib, nn):
        options = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(nn, name)(**options)

    layer, t_layer = build(tg, tg.nn), build(torch, torch.nn)
    assert repr(layer) == repr(t_layer)
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    grad_args = [0] if arrays[1].dtype.kind == "i" else [0, 1]
    _compare(torch, lambda f, lib, x, t: (layer if lib is tg else t_layer)(x, t), arrays, grad_args)


def test_loss_layer_weight_is_a_buffer_that_follows_to():
    loss = tg.nn.CrossEntropyLoss(weight=tg.tensor([1.0, 2.0]))
    assert [name for name, _ in loss.named_buffers()] == ["weight"]
    assert list(loss.parameters()) == []
    loss.double()
    assert loss.weight.dtype == tg.float64
    assert list(tg.nn.BCEWithLogitsLoss(pos_weight=tg.ones(2)).state_dict()) == ["pos_weight"]


def test_loss_layers_keep_torchs_attributes():
    loss = tg.nn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.2, reduction="sum")
    assert (loss.ignore_index, loss.label_smoothing, loss.reduction, loss.weight) == (
        3,
        0.2,
        "sum",
        None,
    )
    assert tg.nn.SmoothL1Loss(beta=0.5).beta == 0.5
    assert tg.nn.HuberLoss(delta=2.0).delta == 2.0
    assert tg.nn.KLDivLoss(log_target=True).log_target is True


def test_legacy_size_average_and_reduce_warn_and_map_to_a_reduction():
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        layer = tg.nn.MSELoss(size_average=False)
    assert layer.reduction == "sum"
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([0.0, 0.0])
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        out = F.l1_loss(x, y, reduce=False)
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])


# --- errors ------------------------------------------------------------------------------------


def test_batch_size_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"Expected input batch_size \(4\) to match target batch_size \(3\): "
        r"input shape \(4, 5\), target shape \(3,\)",
    ):
        F.cross_entropy(tg.randn(4, 5), tg.tensor([0, 1, 2]))


def test_spatial_target_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 3\], got \[2, 4\]"):
        F.nll_loss(tg.randn(2, 5, 3), tg.zeros(2, 4, dtype=tg.int64))


def test_class_out_of_range_names_the_class_and_where_it_is():
    with pytest.raises(
        IndexError, match=r"Target 7 is out of bounds: .*\(5 classes\), bad target at index \(2,\)"
    ):
        F.cross_entropy(tg.randn(4, 5), tg.tensor([0, 1, 7, -100]))
    with pytest.raises(IndexError, match=r"Target -3 is out of bounds.*index \(1, 0\)"):
        F.nll_loss(tg.randn(2, 5, 2), tg.tensor([[0, 1], [-3, 2]]))


def test_float_class_indices_are_rejected():
    with pytest.raises(TypeError, match=r"integer dtype as target, got dtype float32"):
        F.cross_entropy(tg.randn(3, 5), tg.tensor([1.0, 2.0, 3.0]))


def test_cross_entropy_option_errors_match_torch():
    x = tg.randn(3, 5)
    with pytest.raises(
        RuntimeError, match=r"label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5"
    ):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), weight=tg.ones(4))
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class"):
        F.cross_entropy(x, tg.zeros(3, 5, dtype=tg.int64))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point"):
        F.cross_entropy(x, tg.rand(3, 5), ignore_index=1)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), reduction="avg")


def test_binary_losses_size_and_range_errors_match_torch():
    with pytest.raises(ValueError, match=r"Using a target size \(tg.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy(tg.rand(3), tg.rand(3, 1))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"Target size \(tg.Size\(\[3, 1\]\)\) must be the same"):
        F.binary_cross_entropy_with_logits(tg.rand(3), tg.rand(3, 1))


def test_regression_option_errors_and_warnings_match_torch():
    with pytest.raises(RuntimeError, match="does not support negative values for beta"):
        F.smooth_l1_loss(tg.randn(3), tg.randn(3), beta=-1.0)
    with pytest.raises(RuntimeError, match="does not support non-positive values for delta"):
        F.huber_loss(tg.randn(3), tg.randn(3), delta=0.0)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(tg.randn(3), tg.randn(3), weight=tg.ones(2))
    with pytest.warns(UserWarning, match="likely lead to incorrect results due to broadcasting"):
        out = F.mse_loss(tg.zeros(3), tg.ones(2, 3))
    assert out.item() == 1.0


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_losses_name_themselves_for_shapes_that_cannot_broadcast(name):
    with (
        pytest.warns(UserWarning),
        pytest.raises(ValueError, match=rf"^{name}: .*\(2, 3\).*\(4,\)"),
    ):
        getattr(F, name)(tg.ones(2, 3), tg.ones(4))
