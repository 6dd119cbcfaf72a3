"""The main job (examples/xor.py): a 2-2-1 network learns XOR and its pictures are written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "xor.py"


def _load():
    spec = importlib.util.spec_from_file_location("xor_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_hidden_units_learn_xor():
    model, history, (x, y, _, _) = _load().train(steps=400)
    predictions = (model(x).reshape(-1) > 0).long().tolist()
    assert predictions == y.tolist()
    assert history.steps["loss"][-1] < 0.01


def test_main_job_writes_graph_and_training_pictures(tmp_path, capsys):
    pytest.importorskip("graphviz")
    pytest.importorskip("matplotlib")
    final = _load().main(str(tmp_path), steps=400)
    assert final < 0.01
    for name in ("xor_graph.png", "xor_training.png", "xor_boundary.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {tmp_path / 'xor_graph.png'}" in capsys.readouterr().out
