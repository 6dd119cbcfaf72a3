"""Draw the pictures of docs/tape.md into docs/images/ (run: python docs/make_images.py).

The graph is the one the tutorial builds: loss = (tanh(x . w + b) - 1)^2. Each picture is small
SVG text, committed next to the page, so the docs build needs no Graphviz.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tapegrad as tg

IMAGES = Path(__file__).resolve().parent / "images"


def build(out_dir: Path) -> list[str]:
    """Record the tutorial graph step by step, replay it, and save one picture per stage."""
    out_dir.mkdir(parents=True, exist_ok=True)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([0.5, -1.0], requires_grad=True)
    b = tg.tensor(0.1, requires_grad=True)
    names = {"x": x, "w": w, "b": b}
    written = []
    with tg.viz.trace(params=names):
        z = (x * w).sum() + b
        written.append(tg.viz.save(z, out_dir / "tape_1_linear.svg", params=names))
        y = z.tanh()
        written.append(tg.viz.save(y, out_dir / "tape_2_tanh.svg", params=names))
        loss = (y - 1.0) ** 2
        written.append(tg.viz.save(loss, out_dir / "tape_3_loss.svg", params=names))
        explanation = tg.viz.explain(loss, params=names)
        written.append(tg.viz.save(explanation.draw(), out_dir / "tape_4_explain.svg"))
        loss.backward()
    graph = tg.viz.draw(loss, params=names, show_grads=True, show_order=True)
    written.append(tg.viz.save(graph, out_dir / "tape_5_grads.svg"))
    return [str(path) for path in written]


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(path)
