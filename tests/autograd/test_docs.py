"""The examples in docs/autograd.md and examples/ run as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "autograd.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(index, capsys):
    code = compile(BLOCKS[index], f"{DOC.name}[{index}]", "exec")
    exec(code, {"__name__": "__main__"})
    assert capsys.readouterr().out  # each example prints what it shows


@pytest.mark.parametrize("script", ["custom_function.py", "hessian.py"])
def test_example_script_runs(script, capsys):
    runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
    assert capsys.readouterr().out
