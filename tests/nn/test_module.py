"""Module machinery: registration, traversal order, buffers, state_dict round trips (with torch
too), modes, apply, casting, zero_grad, hooks and repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn


class Block(nn.Module):
    def __init__(self, lib_nn=nn):
        super().__init__()
        self.fc = lib_nn.Linear(3, 4)
        self.act = lib_nn.Tanh()
        self.register_buffer("scale", tg.ones(4))
        self.register_buffer("cache", tg.zeros(2), persistent=False)

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2)
        self.extra = nn.Parameter(tg.zeros(2))

    def forward(self, x):
        return self.head(self.block(x)) + self.extra


# --- registration and traversal ----------------------------------------------------------------


def test_assignment_registers_parameters_modules_and_buffers():
    net = Net()
    assert list(net._parameters) == ["extra"]
    assert list(net._modules) == ["block", "head"]
    assert list(net.block._buffers) == ["scale", "cache"]
    assert net.block.scale is net.block._buffers["scale"]


def test_named_parameters_order_is_registration_order_depth_first():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["extra", "block.fc.weight", "block.fc.bias", "head.weight", "head.bias"]


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2


def test_tied_weight_gets_both_gradients():
    encoder = nn.Linear(3, 2, bias=False)
    decoder = nn.Linear(2, 3, bias=False)
    decoder.weight = encoder.weight  # a Parameter of shape (2, 3) used transposed below
    x = tg.randn(4, 3)
    out = (x @ encoder.weight.T) @ decoder.weight
    out.sum().backward()
    model = nn.ModuleList([encoder, decoder])
    assert len(list(model.parameters())) == 1
    assert encoder.weight.grad is not None


def test_assigning_a_plain_tensor_over_a_parameter_raises():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        layer.weight = tg.zeros(2, 2)
    layer.bias = None
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]


def test_buffers_and_persistent_false():
    block = Block()
    assert [name for name, _ in block.named_buffers()] == ["scale", "cache"]
    assert list(block.state_dict()) == ["scale", "fc.weight", "fc.bias"]  # own state first
    assert not any(b.requires_grad for b in block.buffers())


def test_children_and_named_modules():
    net = Net()
    assert [name for name, _ in net.named_children()] == ["block", "head"]
    names = [name for name, _ in net.named_modules()]
    assert names == ["", "block", "block.fc", "block.act", "head"]


# --- state_dict and load_state_dict -------------------------------------------------------------


def test_state_dict_round_trip_between_two_models():
    source, target = Net(), Net()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    x = tg.randn(5, 3)
    np.testing.assert_array_equal(source(x).detach().numpy(), target(x).detach().numpy())


def test_load_state_dict_keeps_parameter_identity_and_leafness():
    net = Net()
    weight = net.head.weight
    net.load_state_dict({k: v.numpy() * 0 for k, v in Net().state_dict().items()})
    assert net.head.weight is weight and weight.is_leaf and weight.requires_grad
    assert not weight.detach().numpy().any()


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    state = Net().state_dict()
    del state["head.bias"]
    state["head.gamma"] = tg.zeros(2)
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict for Net") as info:
        Net().load_state_dict(state)
    assert "Unexpected key(s) in state_dict: 'head.gamma'" in str(info.value)
    assert "Missing key(s) in state_dict: 'head.bias'" in str(info.value)


def test_load_state_dict_non_strict_reports_keys_and_loads_the_rest():
    source, net = Net(), Net()
    state = source.state_dict()
    del state["head.bias"]
    state["unused"] = tg.zeros(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["unused"]
    np.testing.assert_array_equal(
        net.head.weight.detach().numpy(), source.head.weight.detach().numpy()
    )


def test_load_state_dict_size_mismatch_names_key_and_shapes():
    state = Net().state_dict()
    state["head.weight"] = tg.zeros(3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for head.weight: copying a param with shape \(3, 4\) from "
        r"checkpoint, the shape in current model is \(2, 4\)",
    ):
        Net().load_state_dict(state, strict=False)


def test_state_dict_values_share_memory_but_are_detached():
    layer = nn.Linear(2, 2)
    value = layer.state_dict()["weight"]
    assert not value.requires_grad
    with tg.no_grad():
        layer.weight.fill_(3.0)
    assert (value.numpy() == 3.0).all()


# --- torch interchange --------------------------------------------------------------------------


def _mlp(lib_nn):
    return lib_nn.Sequential(
        lib_nn.Linear(6, 8),
        lib_nn.ReLU(),
        lib_nn.Sequential(lib_nn.Linear(8, 8), lib_nn.GELU(), lib_nn.LayerNorm(8)),
        lib_nn.BatchNorm1d(8),
        lib_nn.PReLU(),
        lib_nn.Linear(8, 3),
        lib_nn.LogSoftmax(dim=1),
    )


def _as_numpy(state):
    return OrderedDict((k, v.detach().numpy().copy()) for k, v in state.items())


def test_repr_of_a_nested_model_equals_torchs(torch):
    assert repr(_mlp(nn)) == repr(_mlp(torch.nn))


def test_torch_state_dict_loads_and_gives_torchs_outputs_and_gradients(torch):
    torch.manual_seed(0)  # torch's initial weights: the same every run
    t_model = _mlp(torch.nn).double()
    model = _mlp(nn).double()
    model.load_state_dict(_as_numpy(t_model.state_dict()))  # buffers too (BatchNorm1d)
    data = np.random.default_rng(0).standard_normal((5, 6))
    targets = np.array([0, 2, 1, 1, 0])
    x = tg.tensor(data, requires_grad=True)
    t_x = torch.tensor(data, requires_grad=True)
    loss = nn.functional.nll_loss(model(x), tg.tensor(targets))
    t_loss = torch.nn.functional.nll_loss(t_model(t_x), torch.tensor(targets))
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-10, atol=1e-14)
    t_params = dict(t_model.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-10, atol=1e-15
        )


def test_tapegrad_state_dict_loads_into_torch_and_back(torch):
    model = _mlp(nn).eval()  # eval: the forward below must not move BatchNorm's statistics
    t_model = _mlp(torch.nn).eval()
    state = {k: torch.from_numpy(v) for k, v in _as_numpy(model.state_dict()).items()}
    t_model.load_state_dict(state)
    again = _mlp(nn)
    again.load_state_dict(_as_numpy(t_model.state_dict()))
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    data = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(
        model(tg.tensor(data)).detach().numpy(),
        t_model(torch.tensor(data)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_state_dict_keys_and_shapes_equal_torchs(torch):
    ours = {k: tuple(v.shape) for k, v in _mlp(nn).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in _mlp(torch.nn).state_dict().items()}
    assert list(ours.items()) == list(theirs.items())


# --- modes, apply, casting, zero_grad, hooks ----------------------------------------------------


def test_train_and_eval_reach_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.block.train()
    assert net.block.fc.training and not net.training and not net.head.training


def test_apply_visits_children_before_parents():
    visited = []
    Net().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Tanh", "Block", "Linear", "Net"]


def test_apply_can_reinitialise_weights():
    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)

    net = Net().apply(init_weights)
    assert (net.head.weight.detach().numpy() == 0.5).all()
    assert not net.block.fc.bias.detach().numpy().any()


def test_to_float64_casts_in_place_and_keeps_identity():
    net = Net()
    params = list(net.parameters())
    net(tg.randn(2, 3)).sum().backward()
    assert net.to(tg.float64) is net
    assert all(a is b for a, b in zip(params, net.parameters()))
    assert all(p.dtype == tg.float64 and p.grad.dtype == tg.float64 for p in params)
    assert net.block.scale.dtype == tg.float64
    assert net(tg.randn(2, 3, dtype=tg.float64)).dtype == tg.float64
    assert net.float().head.weight.dtype == tg.float32


def test_zero_grad_sets_to_none_or_zeros():
    net = Net()
    net(tg.randn(2, 3)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_gradients_accumulate_until_zeroed():
    layer = nn.Linear(2, 1)
    x = tg.ones(1, 2)
    layer(x).sum().backward()
    layer(x).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), [[2.0, 2.0]])


def test_forward_hooks_see_and_replace_values_until_removed():
    layer = nn.Linear(2, 2)
    seen = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out + 1)
    out = layer(tg.randn(3, 2))
    np.testing.assert_allclose(
        out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy() + 1, (3, 2))
    )
    assert seen == [(3, 2)]
    pre.remove()
    post.remove()
    x = tg.randn(3, 2)
    np.testing.assert_array_equal(
        layer(x).detach().numpy(),
        nn.functional.linear(x, layer.weight, layer.bias).detach().numpy(),
    )
    assert seen == [(3, 2)]


def test_repr_nests_children_with_their_extra_repr():
    assert repr(Net()) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (act): Tanh()\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )
