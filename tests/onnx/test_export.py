"""tg.onnx.export: onnx.checker accepts the file and ONNX Runtime matches tapegrad's forward."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(path, feeds: dict) -> list:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _check(model, inputs: tuple, tmp_path, more_inputs: tuple = (), **kwargs) -> list[str]:
    """Export on ``inputs``; ORT matches tapegrad on them and on ``more_inputs`` too.

    Returns the op types of the exported graph.
    """
    path = tmp_path / "model.onnx"
    names = [f"in{i}" for i in range(len(inputs))]
    tg.onnx.export(model, inputs, path, input_names=names, output_names=["out"], **kwargs)
    onnx.checker.check_model(onnx.load(str(path)))
    for batch in (inputs, *more_inputs):
        with tg.no_grad():
            expected = model(*batch).numpy()
        (got,) = _run(path, {n: t.numpy() for n, t in zip(names, batch)})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def test_export_mlp_matches_with_other_batch_size(tmp_path):
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    model.eval()
    dynamic = {"in0": {0: "batch"}, "out": {0: "batch"}}
    _check(model, (tg.randn(5, 4),), tmp_path, ((tg.randn(11, 4),),), dynamic_axes=dynamic)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=1, padding=2, dilation=2, groups=2)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2, stride=1)
        self.fc = nn.Linear(8 * 1 * 1, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.avg(x)
        return self.fc(x.flatten(1))


def test_export_cnn_matches_with_other_batch_size(tmp_path):
    model = SmallCNN().eval()
    dynamic = {"in0": [0], "out": [0]}
    _check(
        model, (tg.randn(2, 1, 8, 8),), tmp_path, ((tg.randn(5, 1, 8, 8),),), dynamic_axes=dynamic
    )


class Attention(nn.Module):
    def __init__(self, vocab: int = 20, d: int = 8):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.norm = nn.LayerNorm(d)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(d, 3)
        self.d = d

    def forward(self, tokens):
        x = self.norm(self.embed(tokens))
        q, k, v = self.q(x), self.k(x), self.v(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        x = x + self.drop(F.softmax(scores, dim=-1) @ v)
        return F.log_softmax(self.head(F.gelu(x[:, -1])), dim=-1)


def test_export_attention_block_matches_with_other_batch_size(tmp_path):
    model = Attention().eval()
    tokens = tg.randint(0, 20, (3, 6))
    dynamic = {"in0": {0: "batch"}, "out": {0: "batch"}}
    ops = _check(model, (tokens,), tmp_path, ((tg.randint(0, 20, (7, 6)),),), dynamic_axes=dynamic)
    assert "LayerNormalization" in ops
    assert "Gather" in ops


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, batch_first=True)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def test_export_lstm_classifier_matches_as_unrolled_steps(tmp_path):
    _check(LSTMClassifier().eval(), (tg.randn(2, 5, 3),), tmp_path)


def _ops_model(x):
    parts = [
        F.gelu(x, approximate="tanh"),
        F.silu(x),
        F.leaky_relu(x, 0.2),
        F.elu(x),
        F.selu(x),
        F.softplus(x, beta=2.0, threshold=1.0),
        F.hardtanh(x),
        F.logsigmoid(x),
        x.exp().log1p(),
        x.abs().sqrt() - x.sigmoid() ** 2,
        x.clamp(-0.5, 0.5) / 3,
        -x.amax(1, keepdim=True).expand(4, 6),
        x.var(1, keepdim=True) + x.std(0) + x.mean() + x.sum((0, 1)),
        tg.cat([x[:, ::2], x[:, 1::2].flip(1)], 1),
        x.unsqueeze(0).permute(2, 1, 0).squeeze(2).t(),
        x.index_select(1, tg.tensor([5, 0, 0, 3, 2, 1])),
        x[1:3].repeat(2, 1),
    ]
    return tg.stack(parts).sum(0)


def test_export_elementwise_shape_and_reduction_ops_match(tmp_path):
    _check(_ops_model, (tg.randn(4, 6),), tmp_path)


def test_export_batch_norm_in_eval_matches(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten())
    model(tg.randn(4, 2, 5, 5))  # running statistics that are not the initial ones
    model.eval()
    ops = _check(
        model,
        (tg.randn(2, 2, 5, 5),),
        tmp_path,
        ((tg.randn(3, 2, 5, 5),),),
        dynamic_axes={"in0": [0], "out": [0]},
    )
    assert ops.count("BatchNormalization") == 1
    assert "ReduceMean" not in ops


def test_export_layer_norm_without_affine_fuses_and_matches(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4, elementwise_affine=False))
    ops = _check(model, (tg.randn(2, 5, 3),), tmp_path)
    assert ops.count("LayerNormalization") == 1


def test_export_unmapped_op_raises_naming_it_and_its_site(tmp_path):
    def model(x):
        return x.masked_select(x > 0)

    with pytest.raises(
        NotImplementedError, match=r"no ONNX mapping for op MaskedSelect.*test_export\.py:\d+"
    ):
        tg.onnx.export(model, (tg.randn(3),), tmp_path / "m.onnx")


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.register_buffer("scale", tg.tensor([2.0, -1.0]))

    def forward(self, x):
        return self.linear(x) * self.scale


def test_export_names_initializers_after_parameters_and_buffers(tmp_path):
    proto = tg.onnx.export(Scaled(), tg.randn(3, 2), tmp_path / "m.onnx")
    names = {init.name for init in proto.graph.initializer}
    assert {"linear.weight", "linear.bias", "scale"} <= names


def test_export_runs_in_eval_mode_and_restores_each_modules_mode(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3))
    model(tg.randn(8, 3))  # running statistics that are not the initial ones
    model[0].eval()
    x = tg.randn(4, 3)
    tg.onnx.export(model, x, tmp_path / "m.onnx", dynamic_axes={"input_0": [0]})
    assert model.training and not model[0].training and model[2].training
    (got,) = _run(tmp_path / "m.onnx", {"input_0": x.numpy()})
    with tg.no_grad():
        np.testing.assert_allclose(got, model.eval()(x).numpy(), rtol=1e-5, atol=1e-6)


def test_export_leaves_the_random_stream_as_one_forward_pass_does(tmp_path):
    def noisy(x):
        tg.randn(3)  # a draw that does not reach the output
        return x * 2

    tg.manual_seed(1)
    noisy(tg.randn(2, 3))
    after_forward = tg.rand(1).item()
    tg.manual_seed(1)
    tg.onnx.export(noisy, tg.randn(2, 3), tmp_path / "m.onnx", dynamic_axes={"input_0": [0]})
    assert tg.rand(1).item() == after_forward


def test_export_rejects_inputs_that_are_not_tensors(tmp_path):
    with pytest.raises(TypeError, match="example inputs must be Tensors, got float"):
        tg.onnx.export(lambda x: x, (1.5,), tmp_path / "m.onnx")


def test_export_writes_to_a_file_object(tmp_path):
    model = nn.Linear(2, 2)
    with open(tmp_path / "m.onnx", "wb") as f:
        tg.onnx.export(model, tg.randn(1, 2), f)
    (got,) = _run(tmp_path / "m.onnx", {"input_0": np.ones((1, 2), np.float32)})
    np.testing.assert_allclose(got, model(tg.ones(1, 2)).detach().numpy(), rtol=1e-6)


def test_export_dynamic_axes_with_unknown_name_raises(tmp_path):
    with pytest.raises(ValueError, match=r"dynamic_axes names 'x', which is not an input"):
        tg.onnx.export(
            nn.Linear(2, 2), tg.randn(1, 2), tmp_path / "m.onnx", dynamic_axes={"x": [0]}
        )


def test_export_without_onnx_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install tapegrad\[onnx\]"):
        tg.onnx.export(nn.Linear(2, 2), tg.randn(1, 2), tmp_path / "m.onnx")


def _more_nn_ops(x):
    w = tg.ones(3, 2, 3) * 0.1
    seq = x.reshape(2, 2, 18)[:, :, :8]
    a = F.max_pool1d(F.conv1d(seq, w, stride=1, padding=1), 3, stride=2, ceil_mode=True)
    b = F.avg_pool2d(x, 2, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    c = F.group_norm(x, 1) + F.celu(x, 0.5) + F.mish(x) + F.hardsigmoid(x) + F.hardswish(x)
    first, second = c.chunk(2, dim=-1)
    return tg.cat([a.flatten(1), b.flatten(1), (first * second).flatten(1)], 1)


def test_export_conv1d_pooling_group_norm_and_more_activations_match(tmp_path):
    _check(_more_nn_ops, (tg.randn(2, 2, 3, 6),), tmp_path)


def test_import_tapegrad_does_not_import_onnx():
    code = "import sys, tapegrad; print('onnx' in sys.modules or 'onnxruntime' in sys.modules)"
    out = __import__("subprocess").run(
        [__import__("sys").executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=__import__("pathlib").Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"
