"""Real renders with both engines (system dot, pip graphviz-pure), .dot export, clear errors."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import tapegrad as tg
from tapegrad.viz import render
from tests.viz.models import mlp_loss

pytest.importorskip("graphviz")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def engine_or_skip(name: str) -> str:
    try:
        render.find_engine(name)
    except render.EngineNotFound as e:
        pytest.skip(str(e))
    return name


@pytest.fixture(params=["dot", "graphviz-pure"])
def engine(request):
    return engine_or_skip(request.param)


@pytest.fixture
def graph():
    tg.manual_seed(0)
    _, loss = mlp_loss(hidden=1)
    return tg.viz.draw(loss)


def svg_texts(path) -> list:
    root = ET.parse(path).getroot()  # parses: a well-formed SVG document
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_png_render_is_a_real_image(engine, graph, tmp_path):
    path = tg.viz.save(graph, tmp_path / "graph.png", engine=engine)
    data = Path(path).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_svg_render_holds_the_labels(engine, graph, tmp_path):
    texts = svg_texts(tg.viz.save(graph, tmp_path / "graph.svg", engine=engine))
    for label in ("Mul", "Tanh", "(8, 2, 4) float32", "encoder.0.weight", "encoder.0 (Lin)"):
        assert label in texts


def test_save_draws_tensors_directly(engine, tmp_path):
    x = tg.ones(2, requires_grad=True)
    path = tg.viz.save((x * 2).sum(), tmp_path / "t.svg", engine=engine, show_shapes=False)
    assert "Mul" in svg_texts(path)


def test_pdf_needs_the_system_engine(graph, tmp_path):
    engine_or_skip("dot")
    path = tg.viz.save(graph, tmp_path / "graph.pdf", engine="dot")
    assert Path(path).read_bytes()[:5] == b"%PDF-"


def test_graphviz_pure_says_it_cannot_write_pdf(graph, tmp_path):
    engine_or_skip("graphviz-pure")
    with pytest.raises(ValueError, match=r"graphviz-pure engine cannot write 'pdf' \(install"):
        tg.viz.save(graph, tmp_path / "graph.pdf", engine="graphviz-pure")


def test_dot_export_needs_no_engine_and_rendering_says_what_to_install(
    graph, tmp_path, monkeypatch
):
    monkeypatch.setattr(render, "_executable", lambda name: None)
    path = tg.viz.save(graph, tmp_path / "graph.dot")
    assert Path(path).read_text(encoding="utf-8") == graph.source
    with pytest.raises(
        render.EngineNotFound, match=r"apt-get install graphviz.*pip install graphviz-pure"
    ):
        tg.viz.save(graph, tmp_path / "graph.png")
    with pytest.raises(render.EngineNotFound, match=r"pip install graphviz-pure"):
        tg.viz.save(graph, tmp_path / "graph.png", engine="graphviz-pure")
    with pytest.raises(
        render.EngineNotFound, match=r"`dot` is not on PATH: apt-get install graphviz"
    ):
        tg.viz.save(graph, tmp_path / "graph.png", engine="dot")
    with pytest.raises(render.EngineNotFound, match="needs a Graphviz engine and none was found"):
        graph.pipe(format="svg")


def test_bad_file_names_and_engines_are_refused(graph, tmp_path):
    with pytest.raises(ValueError, match=r"use a \.png, \.svg, \.pdf, \.jpg or \.dot file name"):
        tg.viz.save(graph, tmp_path / "graph.bmp")
    with pytest.raises(ValueError, match="unknown Graphviz engine 'neato'"):
        tg.viz.save(graph, tmp_path / "graph.png", engine="neato")


@pytest.mark.parametrize("only", ["dot", "graphviz-pure"])
def test_digraph_render_pipe_and_jupyter_display_use_the_engine_found(
    only, graph, tmp_path, monkeypatch
):
    engine_or_skip(only)
    monkeypatch.setattr(render, "ENGINES", (only,))
    rendered = graph.render(outfile=tmp_path / "out.svg")
    assert rendered == str(tmp_path / "out.svg") and (tmp_path / "out.gv").exists()
    assert "Mul" in svg_texts(rendered)
    assert graph.pipe(format="png").startswith(PNG_MAGIC)
    assert "<svg" in graph._repr_svg_()
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]
    source_path = graph.render(filename="g", directory=tmp_path, format="png", cleanup=True)
    assert source_path == str(tmp_path / "g.png") and not (tmp_path / "g").exists()


def test_import_tapegrad_loads_neither_graphviz_nor_matplotlib():
    code = "import sys, tapegrad; print('graphviz' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
