"""Dynamic axes: exported graphs that follow the batch (and sequence) size of their inputs.

Recurrent layers build a zero initial state and reshape time-major sequences from the
batch size; export learns those sizes by running the model at more than one size.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.onnx.dynamic import Dim, Sizes, Unfitted

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _export(model, example: tuple, names: list, dynamic: dict) -> bytes:
    buffer = io.BytesIO()
    tg.onnx.export(model, example, buffer, input_names=names, dynamic_axes=dynamic)
    return buffer.getvalue()


def _check(model, example: tuple, others: list, dynamic: dict) -> onnx.ModelProto:
    """Export on ``example``; ONNX Runtime matches tapegrad on it and on ``others``."""
    names = [f"in{i}" for i in range(len(example))]
    data = _export(model, example, names, dynamic)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for inputs in (example, *others):
        with tg.no_grad():
            expected = model(*inputs).numpy()
        (got,) = session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return onnx.load_from_string(data)


class Classifier(nn.Module):
    """Token ids or feature vectors -> recurrent layer -> its last step -> Linear."""

    def __init__(self, layer, batch_first: bool, vocab: int | None = None):
        super().__init__()
        self.embed = nn.Embedding(vocab, 3) if vocab else None
        self.rnn = layer
        self.batch_first = batch_first
        directions = 2 if layer.bidirectional else 1
        self.fc = nn.Linear(layer.hidden_size * directions, 4)

    def forward(self, x):
        if self.embed is not None:
            x = self.embed(x)
        out, _ = self.rnn(x)
        return self.fc(out[:, -1] if self.batch_first else out[-1])


def _sequences(batch: int, batch_first: bool, vocab: int | None = None) -> tg.Tensor:
    shape = (batch, 5) if batch_first else (5, batch)
    if vocab:
        return tg.randint(0, vocab, shape)
    return tg.randn(*shape, 3)


LAYERS = {
    "lstm": lambda bf: nn.LSTM(3, 6, batch_first=bf),
    "lstm_2_layers_bidirectional": lambda bf: nn.LSTM(3, 4, 2, batch_first=bf, bidirectional=True),
    "gru": lambda bf: nn.GRU(3, 6, batch_first=bf),
    "rnn_relu_2_layers": lambda bf: nn.RNN(3, 5, 2, nonlinearity="relu", batch_first=bf),
}


@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "time_major"])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_recurrent_classifier_follows_the_batch_size(layer, batch_first):
    model = Classifier(LAYERS[layer](batch_first), batch_first).eval()
    axis = 0 if batch_first else 1
    others = [(_sequences(n, batch_first),) for n in (7, 1)]
    proto = _check(
        model, (_sequences(2, batch_first),), others, {"in0": {axis: "batch"}, "output_0": [0]}
    )
    assert "ConstantOfShape" not in [n.op_type for n in proto.graph.node]  # zeros: Expand


def test_lstm_over_token_ids_follows_the_batch_size():
    model = Classifier(nn.LSTM(3, 6, batch_first=True), True, vocab=11).eval()
    others = [(_sequences(n, True, 11),) for n in (6, 1)]
    proto = _check(model, (_sequences(3, True, 11),), others, {"in0": {0: "batch"}})
    (output,) = proto.graph.output
    assert output.type.tensor_type.shape.dim[0].dim_param == "batch"  # labelled without asking


def test_lstm_exported_from_a_batch_of_one_follows_the_batch_size():
    model = Classifier(nn.LSTM(3, 6, batch_first=True), True).eval()
    _check(model, (_sequences(1, True),), [(_sequences(4, True),)], {"in0": {0: "batch"}})


def test_lstm_layer_exports_its_output_and_final_states_for_any_batch():
    lstm = nn.LSTM(3, 4, 2)
    data = _export(lstm, (tg.randn(5, 2, 3),), ["x"], {"x": {1: "batch"}})
    proto = onnx.load_from_string(data)
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]
    x = tg.randn(5, 6, 3)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x.numpy()})
    with tg.no_grad():
        out, (h, c) = lstm(x)
    for a, b in zip(got, (out, h, c), strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-5)


def test_rnn_with_a_dynamic_sequence_length_raises_naming_the_unrolled_loop(tmp_path):
    model = Classifier(nn.GRU(3, 6, batch_first=True), True).eval()
    with pytest.raises(NotImplementedError, match=r"different ops when .*_2=6.*in module GRU"):
        tg.onnx.export(
            model, (_sequences(2, True),), tmp_path / "m.onnx", dynamic_axes={"input_0": [0, 1]}
        )
    with pytest.raises(NotImplementedError, match=r"different ops when .* seq=6"):
        tg.onnx.export(
            model,
            (_sequences(2, True),),
            tmp_path / "m.onnx",
            dynamic_axes={"input_0": {0: "batch", 1: "seq"}},
        )


class Attention(nn.Module):
    """Positions from arange(seq), a padding mask from the ids, heads by reshape."""

    def __init__(self, vocab: int = 20, d: int = 8, heads: int = 2):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d, padding_idx=0), nn.Embedding(32, d)
        self.qkv = nn.Linear(d, 3 * d)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)
        self.heads = heads

    def forward(self, tokens):
        batch, seq = tokens.shape
        x = self.norm(self.embed(tokens) + self.pos(tg.arange(seq)))
        q, k, v = self.qkv(x).reshape(batch, seq, 3 * self.heads, -1).transpose(1, 2).chunk(3, 1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill((tokens == 0)[:, None, None, :], -1e9)
        x = x + (F.softmax(scores, -1) @ v).transpose(1, 2).reshape(batch, seq, -1)
        return self.head(x.sum(1) / seq)


def test_attention_follows_batch_and_sequence_length():
    model = Attention().eval()
    tokens = tg.tensor([[3, 5, 0, 7, 1], [2, 0, 0, 4, 9]])
    others = [(tg.randint(0, 20, (3, 9)),), (tg.randint(1, 20, (1, 1)),)]
    proto = _check(model, (tokens,), others, {"in0": {0: "batch", 1: "seq"}})
    ops = [n.op_type for n in proto.graph.node]
    assert "Range" in ops  # arange(seq)
    assert "Equal" in ops  # the mask, computed from the ids


def _buffer_filled_in_place(x):
    out = tg.zeros(x.shape[0], 3)
    out[:, 0] = x.sum(1)
    out[:, 1:] = tg.where(x[:, :2] > 0, x[:, :2].detach(), 0.0) * 2
    out += x.mean() / x.shape[0]
    return out


def test_in_place_writes_into_a_zero_buffer_follow_the_batch_size():
    _check(_buffer_filled_in_place, (tg.randn(2, 4),), [(tg.randn(5, 4),)], {"in0": [0]})


def test_numbers_computed_from_a_dynamic_size_follow_it():
    def model(x, t):
        return F.cross_entropy(x, t, label_smoothing=0.2) + x.sum() / (x.shape[0] - 1)

    others = [(tg.randn(6, 5), tg.randint(0, 5, (6,)))]
    dynamic = {"in0": {0: "batch"}, "in1": {0: "batch"}}
    _check(model, (tg.randn(3, 5), tg.randint(0, 5, (3,))), others, dynamic)


def test_noise_drawn_in_forward_raises_when_the_batch_is_dynamic(tmp_path):
    def model(x):
        return x + tg.randn(x.shape[0], 3)

    with pytest.raises(NotImplementedError, match=r"op Add .* changes with the dynamic axes"):
        tg.onnx.export(model, (tg.randn(2, 3),), tmp_path / "m.onnx", dynamic_axes={"input_0": [0]})


def test_a_size_no_dim_explains_raises_naming_the_op_and_its_line(tmp_path):
    def model(x):
        return x.reshape(x.shape[0] // 2, -1)

    with pytest.raises(NotImplementedError, match=r"op Reshape \(recorded at .*test_dynamic\.py"):
        tg.onnx.export(model, (tg.randn(2, 4),), tmp_path / "m.onnx", dynamic_axes={"input_0": [0]})


def test_inputs_with_one_label_must_share_a_size(tmp_path):
    with pytest.raises(ValueError, match=r"labels axes of sizes 2 and 3 both 'batch'"):
        tg.onnx.export(
            lambda a, b: a.sum() + b.sum(),
            (tg.randn(2, 3), tg.randn(3, 3)),
            tmp_path / "m.onnx",
            input_names=["a", "b"],
            dynamic_axes={"a": {0: "batch"}, "b": {0: "batch"}},
        )


def test_axes_that_must_grow_together_need_one_label(tmp_path):
    with pytest.raises(RuntimeError, match=r"fails when its dynamic axes grow to a_.*=3"):
        tg.onnx.export(
            lambda a, b: a + b,
            (tg.randn(2, 3), tg.randn(2, 3)),
            tmp_path / "m.onnx",
            input_names=["a", "b"],
            dynamic_axes={"a": [0], "b": [0]},
        )


# --- fitting sizes -------------------------------------------------------------------------


def _fit(sizes: Sizes, size_of) -> object:
    """Fit the size ``size_of(run sizes)`` takes in every run."""
    return sizes.fit([size_of(**run) for run in sizes.runs])


def test_sizes_fit_products_offsets_and_reject_what_no_dim_explains():
    sizes = Sizes({"batch": 2, "seq": 5})
    assert _fit(sizes, lambda batch, seq: 7) == 7
    assert _fit(sizes, lambda batch, seq: batch) == Dim(1, ("batch",))
    assert _fit(sizes, lambda batch, seq: 3 * batch * seq) == Dim(3, ("batch", "seq"))
    assert _fit(sizes, lambda batch, seq: seq - 1) == Dim(1, ("seq",), -1)
    assert str(_fit(sizes, lambda batch, seq: 2 * seq + 4)) == "2*seq+4"
    assert isinstance(_fit(sizes, lambda batch, seq: seq // 2), Unfitted)
    assert isinstance(_fit(sizes, lambda batch, seq: seq * seq), Unfitted)
