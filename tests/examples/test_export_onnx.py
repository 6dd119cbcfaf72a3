"""examples/export_onnx.py: train a digits classifier, export it, predict with ONNX Runtime."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "export_onnx.py"


def test_exported_digits_classifier_predicts_in_onnx_runtime(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    spec = importlib.util.spec_from_file_location("export_onnx_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(str(tmp_path), epochs=2)
    assert accuracy > 0.9
    assert (tmp_path / "digits.onnx").stat().st_size > 0
    assert "ONNX Runtime accuracy" in capsys.readouterr().out
