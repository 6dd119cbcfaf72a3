"""The docs: every runnable ```python block in docs/*.md runs, the tutorial's pictures can be
redrawn, and the site builds strictly.

A block runs unless the line before its fence is ``<!-- norun -->`` (fragments that assume a
model or data from elsewhere). The blocks of one page share a namespace, top to bottom, and
run in a temporary directory so the files they write land there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NORUN = "<!-- norun -->"
FENCE = re.compile(r"^```python\s*$")


def runnable_blocks(text: str) -> list[tuple[int, str]]:
    """The (line number, source) of each ```python block not marked ``<!-- norun -->``."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start = i + 1
            end = start
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            previous = lines[i - 1].strip() if i > 0 else ""
            if previous != NORUN:
                blocks.append((start + 1, "\n".join(lines[start:end])))
            i = end
        i += 1
    return blocks


PAGES = sorted(DOCS.glob("*.md"))


def test_runnable_blocks_skips_marked_fences():
    text = "```python\na = 1\n```\n<!-- norun -->\n```python\nmodel(x)\n```\n"
    assert runnable_blocks(text) == [(2, "a = 1")]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for line, source in runnable_blocks(page.read_text()):
        code = compile(source, f"{page.name}:{line}", "exec")
        exec(code, namespace)


def test_make_images_writes_the_tutorial_pictures(tmp_path):
    pytest.importorskip("graphviz")
    spec = importlib.util.spec_from_file_location("make_images", DOCS / "make_images.py")
    make_images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_images)
    written = make_images.build(tmp_path)
    names = sorted(Path(path).name for path in written)
    assert names == sorted(path.name for path in DOCS.glob("images/tape_*.svg"))
    assert all(Path(path).stat().st_size > 1000 for path in written)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_mkdocs_build_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tape" / "index.html").exists()
