"""RNN, LSTM, GRU and their cells: against torch with the same state_dict (outputs, final states,
gradients for inputs, initial states and every parameter), gradchecks, the unrolled graph,
initialisation, errors, and a save/load round trip of a whole model."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg

LAYERS = ["RNN", "LSTM", "GRU"]
CONFIGS = [
    {},
    {"num_layers": 2},
    {"num_layers": 2, "batch_first": True},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False, "num_layers": 2},
]
INPUT, HIDDEN, SEQ, BATCH = 3, 4, 5, 2


def _pair(torch, name: str, *args, dtype="float64", **kwargs):
    """A torch module and a tapegrad one carrying the same state_dict."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    ours = getattr(tg.nn, name)(*args, **kwargs).to(getattr(tg, dtype))
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _both(torch, array: np.ndarray):
    return tg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _compare_call(torch, ours, theirs, inputs: list, rtol=1e-9, atol=1e-12):
    """Call both modules on the same arrays; compare every output and every gradient."""
    pairs = [_both(torch, a) for a in inputs]
    pack = _pack_states if len(inputs) > 1 else lambda xs: xs
    out = ours(*pack([p[0] for p in pairs]))
    t_out = theirs(*pack([p[1] for p in pairs]))
    outs, t_outs = _flatten(out), _flatten(t_out)
    assert len(outs) == len(t_outs)
    rng = np.random.default_rng(0)
    cotangents = [rng.standard_normal(tuple(t.shape)) for t in t_outs]
    for o, t in zip(outs, t_outs):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    tg.autograd.backward(outs, [tg.tensor(c) for c in cotangents])
    torch.autograd.backward(t_outs, [torch.tensor(c) for c in cotangents])
    for o, t in pairs:
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    named, t_named = list(ours.named_parameters()), list(theirs.named_parameters())
    assert [n for n, _ in named] == [n for n, _ in t_named]
    for (name, p), (_, t_p) in zip(named, t_named):
        np.testing.assert_allclose(
            p.grad.numpy(), t_p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name
        )


def _pack_states(tensors: list) -> list:
    """[x, h0] stays as is; [x, h0, c0] becomes [x, (h0, c0)] for the LSTM call."""
    if len(tensors) == 3:
        return [tensors[0], (tensors[1], tensors[2])]
    return tensors


def _state_arrays(name: str, module, batch: int | None, rng) -> list[np.ndarray]:
    stacks = module.num_layers * (2 if module.bidirectional else 1)
    lead = (stacks,) if batch is None else (stacks, batch)
    h_size = getattr(module, "proj_size", 0) or module.hidden_size
    states = [rng.standard_normal((*lead, h_size))]
    if name == "LSTM":
        states.append(rng.standard_normal((*lead, module.hidden_size)))
    return states


# --- layers against torch ------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_layer_matches_torch(torch, name, config, with_state):
    ours, theirs = _pair(torch, name, INPUT, HIDDEN, **config)
    rng = np.random.default_rng(1)
    shape = (BATCH, SEQ, INPUT) if config.get("batch_first") else (SEQ, BATCH, INPUT)
    inputs = [rng.standard_normal(shape)]
    if with_state:
        inputs += _state_arrays(name, ours, BATCH, rng)
    _compare_call(torch, ours, theirs, inputs)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_unbatched_input_matches_torch(torch, name, batch_first, with_state):
    ours, theirs = _pair(torch, name, INPUT, HIDDEN, num_layers=2, batch_first=batch_first)
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((SEQ, INPUT))]
    if with_state:
        inputs += _state_arrays(name, ours, None, rng)
    _compare_call(torch, ours, theirs, inputs)


def test_rnn_relu_matches_torch(torch):
    ours, theirs = _pair(torch, "RNN", INPUT, HIDDEN, 2, "relu", bidirectional=True)
    assert ours.nonlinearity == "relu"
    _compare_call(torch, ours, theirs, [np.random.default_rng(3).standard_normal((SEQ, 2, 3))])


def test_lstm_with_projection_matches_torch(torch):
    ours, theirs = _pair(torch, "LSTM", INPUT, HIDDEN, 2, proj_size=2, bidirectional=True)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal((SEQ, BATCH, INPUT)), *_state_arrays("LSTM", ours, BATCH, rng)]
    _compare_call(torch, ours, theirs, inputs)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_float32_matches_torch(torch, name):
    ours, theirs = _pair(torch, name, INPUT, HIDDEN, 2, dtype="float32", bidirectional=True)
    x = np.random.default_rng(5).standard_normal((SEQ, BATCH, INPUT)).astype(np.float32)
    out, _ = ours(tg.tensor(x))
    t_out, _ = theirs(torch.tensor(x))
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_eval_ignores_inter_layer_dropout_as_torch(torch, name):
    ours, theirs = _pair(torch, name, INPUT, HIDDEN, 3, dropout=0.5)
    ours.eval()
    theirs.eval()
    _compare_call(torch, ours, theirs, [np.random.default_rng(6).standard_normal((SEQ, 2, 3))])


def test_layer_dropout_between_layers_in_training():
    lstm = tg.nn.LSTM(INPUT, HIDDEN, 2, dropout=0.5)
    x = tg.randn(SEQ, BATCH, INPUT)
    tg.manual_seed(3)
    first, _ = lstm(x)
    tg.manual_seed(3)
    again, _ = lstm(x)
    np.testing.assert_array_equal(first.detach().numpy(), again.detach().numpy())
    lstm.eval()
    clean, _ = lstm(x)
    assert not np.allclose(first.detach().numpy(), clean.detach().numpy())


def test_single_layer_dropout_warns_as_torch():
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than 1"):
        tg.nn.GRU(3, 4, dropout=0.2)


# --- cells against torch -------------------------------------------------------------------

CELLS = ["RNNCell", "LSTMCell", "GRUCell"]


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(torch, name, batched, with_state, bias):
    ours, theirs = _pair(torch, name, INPUT, HIDDEN, bias=bias)
    rng = np.random.default_rng(7)
    lead = (BATCH,) if batched else ()
    inputs = [rng.standard_normal((*lead, INPUT))]
    if with_state:
        inputs += [
            rng.standard_normal((*lead, HIDDEN)) for _ in range(2 if name == "LSTMCell" else 1)
        ]
    _compare_call(torch, ours, theirs, inputs)


def test_rnn_cell_relu_matches_torch(torch):
    ours, theirs = _pair(torch, "RNNCell", INPUT, HIDDEN, nonlinearity="relu")
    _compare_call(torch, ours, theirs, [np.random.default_rng(8).standard_normal((BATCH, 3))])


def test_cells_unrolled_by_hand_equal_the_layer():
    lstm = tg.nn.LSTM(INPUT, HIDDEN).double()
    cell = tg.nn.LSTMCell(INPUT, HIDDEN).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = tg.randn(SEQ, BATCH, INPUT, dtype=tg.float64)
    output, (_, c_n) = lstm(x)
    state = None
    for t in range(SEQ):
        state = cell(x[t], state)
        np.testing.assert_allclose(state[0].detach().numpy(), output[t].detach().numpy())
    np.testing.assert_allclose(state[1].detach().numpy(), c_n[0].detach().numpy())


# --- hand-derived values and gradient checks -----------------------------------------------


def test_rnn_by_hand():
    rnn = tg.nn.RNN(1, 1, bias=False).double()
    rnn.load_state_dict({"weight_ih_l0": [[0.5]], "weight_hh_l0": [[2.0]]})
    output, h_n = rnn(tg.tensor([[[1.0]], [[0.0]]], dtype=tg.float64))
    h1 = math.tanh(0.5)
    h2 = math.tanh(2.0 * h1)
    np.testing.assert_allclose(output.detach().numpy().ravel(), [h1, h2])
    np.testing.assert_allclose(h_n.detach().numpy().ravel(), [h2])


def test_gru_by_hand_follows_torchs_n_gate():
    gru = tg.nn.GRUCell(1, 1).double()
    w_ih, w_hh = [0.1, 0.2, 0.3], [0.4, 0.5, 0.6]
    b_ih, b_hh = [0.01, 0.02, 0.03], [0.04, 0.05, 0.06]
    gru.load_state_dict(
        {
            "weight_ih": np.array(w_ih)[:, None],
            "weight_hh": np.array(w_hh)[:, None],
            "bias_ih": b_ih,
            "bias_hh": b_hh,
        }
    )
    x, h = 1.5, -0.7

    def sigmoid(v):
        return 1 / (1 + math.exp(-v))

    r = sigmoid(w_ih[0] * x + b_ih[0] + w_hh[0] * h + b_hh[0])
    z = sigmoid(w_ih[1] * x + b_ih[1] + w_hh[1] * h + b_hh[1])
    n = math.tanh(w_ih[2] * x + b_ih[2] + r * (w_hh[2] * h + b_hh[2]))
    out = gru(tg.from_numpy(np.array([[x]])), tg.from_numpy(np.array([[h]])))
    np.testing.assert_allclose(out.detach().numpy(), [[(1 - z) * n + z * h]], rtol=1e-12)


def _with_parameters(module, names: list[str]):
    """A function of (input, h0, c0, *parameters) that runs ``module`` with those parameters."""

    def fn(x, h0, c0, *params):
        saved = dict(module._parameters)
        try:
            module._parameters.update(zip(names, params))
            output, (h_n, c_n) = module(x, (h0, c0))
        finally:
            module._parameters.update(saved)
        return output, h_n, c_n

    return fn


def test_tiny_lstm_gradcheck_and_gradgradcheck_float64():
    lstm = tg.nn.LSTM(2, 2, num_layers=2, bidirectional=True).double()
    names = [n for n, _ in lstm.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in lstm.parameters()]
    x = tg.randn(3, 2, 2, dtype=tg.float64, requires_grad=True)
    h0 = tg.randn(4, 2, 2, dtype=tg.float64, requires_grad=True)
    c0 = tg.randn(4, 2, 2, dtype=tg.float64, requires_grad=True)
    fn = _with_parameters(lstm, names)
    assert tg.autograd.gradcheck(fn, (x, h0, c0, *params))
    small = tg.nn.LSTM(2, 2).double()
    small_params = [p.detach().clone().requires_grad_() for p in small.parameters()]
    small_fn = _with_parameters(small, [n for n, _ in small.named_parameters()])
    assert tg.autograd.gradgradcheck(small_fn, (x[:2], h0[:1], c0[:1], *small_params))


@pytest.mark.parametrize("name", ["GRUCell", "RNNCell"])
def test_cell_gradcheck_float64(name):
    cell = getattr(tg.nn, name)(2, 3).double()
    x = tg.randn(2, 2, dtype=tg.float64, requires_grad=True)
    h = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradcheck(cell, (x, h))
    assert tg.autograd.gradgradcheck(cell, (x, h))


# --- structure: parameters, init, graph, repr ----------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_parameter_names_shapes_and_order_match_torch(torch, name):
    kwargs = {"num_layers": 3, "bidirectional": True}
    ours, theirs = getattr(tg.nn, name)(5, 7, **kwargs), getattr(torch.nn, name)(5, 7, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in theirs.all_weights
    ]


@pytest.mark.parametrize("name", [*LAYERS, *CELLS])
def test_init_is_uniform_within_one_over_sqrt_hidden(name):
    module = getattr(tg.nn, name)(30, 64)
    bound = 1 / math.sqrt(64)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.05  # U(-b, b) has std b/sqrt(3)


def test_graph_shows_the_unrolled_time_steps():
    rnn = tg.nn.RNN(2, 3)
    output, _ = rnn(tg.randn(6, 1, 2))
    seen, stack, names = set(), [output.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(node.name())
        stack.extend(fn for fn, _ in node.next_functions)
    assert sum("Tanh" in n for n in names) == 6  # one cell step per time step


def test_reprs_match_torch(torch):
    pairs = [
        ("RNN", (3, 4, 2, "relu"), {"bias": False, "batch_first": True, "dropout": 0.1}),
        ("LSTM", (3, 4), {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
        ("GRU", (3, 4), {}),
        ("RNNCell", (3, 4), {"nonlinearity": "relu"}),
        ("LSTMCell", (3, 4), {"bias": False}),
        ("GRUCell", (3, 4), {}),
    ]
    for name, args, kwargs in pairs:
        assert repr(getattr(tg.nn, name)(*args, **kwargs)) == repr(
            getattr(torch.nn, name)(*args, **kwargs)
        )


# --- errors --------------------------------------------------------------------------------


def test_layer_input_errors():
    lstm = tg.nn.LSTM(3, 4)
    with pytest.raises(
        RuntimeError, match=r"input.size\(-1\) must be equal to input_size. Expected 3, got 5"
    ):
        lstm(tg.randn(2, 1, 5))
    with pytest.raises(ValueError, match=r"LSTM: Expected input to be 2D or 3D, got 4D tensor"):
        lstm(tg.randn(2, 1, 1, 3))
    with pytest.raises(
        RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 4\), got \[1, 3, 4\]"
    ):
        lstm(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.zeros(1, 3, 4)))
    with pytest.raises(RuntimeError, match=r"hx and cx should also be 3-D but got \(2-D, 3-D\)"):
        lstm(tg.randn(5, 2, 3), (tg.zeros(2, 4), tg.zeros(1, 2, 4)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 2, 4\), got \[1, 2, 4\]"):
        tg.nn.GRU(3, 4, 2)(tg.randn(5, 2, 3), tg.zeros(1, 2, 4))
    with pytest.raises(
        ValueError, match=r"input dtype \(float64\) does not match weight dtype \(float32\)"
    ):
        tg.nn.RNN(3, 4)(tg.randn(5, 2, 3, dtype=tg.float64))


def test_layer_construction_errors():
    with pytest.raises(
        ValueError, match=r"Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'."
    ):
        tg.nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"proj_size has to be smaller than hidden_size"):
        tg.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        tg.nn.LSTM(3, 4, 2, dropout=1.5)
    with pytest.raises(ValueError, match=r"hidden_size must be greater than zero"):
        tg.nn.GRU(3, 0)
    with pytest.raises(TypeError, match=r"batch_first should be of type bool, got: int"):
        tg.nn.GRU(3, 4, batch_first=1)


def test_cell_input_errors():
    cell = tg.nn.RNNCell(3, 4)
    with pytest.raises(ValueError, match=r"RNNCell: Expected input to be 1D or 2D, got 3D instead"):
        cell(tg.randn(5, 2, 3))
    with pytest.raises(
        RuntimeError, match=r"Input batch size 5 doesn't match hidden0 batch size 4"
    ):
        cell(tg.randn(5, 3), tg.randn(4, 4))
    with pytest.raises(RuntimeError, match=r"input has inconsistent input_size: got 4 expected 3"):
        cell(tg.randn(5, 4))
    with pytest.raises(
        RuntimeError, match=r"hidden1 has inconsistent hidden_size: got 2, expected 4"
    ):
        tg.nn.LSTMCell(3, 4)(tg.randn(5, 3), (tg.zeros(5, 4), tg.zeros(5, 2)))


# --- a whole model: torch state_dict in, tg.save/load round trip ----------------------------


class _Tagger(tg.nn.Module):
    """Embedding -> bidirectional LSTM -> LayerNorm -> BatchNorm1d over the features."""

    def __init__(self):
        super().__init__()
        self.embed = tg.nn.Embedding(12, 6, padding_idx=0)
        self.lstm = tg.nn.LSTM(6, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.norm = tg.nn.LayerNorm(10)
        self.bn = tg.nn.BatchNorm1d(10)
        self.drop = tg.nn.Dropout(0.3)

    def forward(self, tokens):
        output, _ = self.lstm(self.embed(tokens))
        return self.bn(self.drop(self.norm(output)).transpose(1, 2))


def test_model_state_dict_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = _Tagger()
    tokens = tg.randint(0, 12, (4, 7))
    model(tokens)  # one training step moves the batch-norm statistics
    model.eval()
    expected = model(tokens).detach().numpy()
    path = tmp_path / "tagger.tg"
    tg.save(model.state_dict(), path)
    restored = _Tagger()
    restored.load_state_dict(tg.load(path))
    restored.eval()
    np.testing.assert_array_equal(restored(tokens).detach().numpy(), expected)
    assert int(restored.bn.num_batches_tracked) == 1
    assert list(restored.state_dict()) == list(model.state_dict())
