"""tg.viz: the tape, drawn. Graph images, traces, backward explained, training plots.

graphviz and matplotlib are imported only when a graph is built or a plot drawn.
"""

from tapegrad.viz.explain import explain
from tapegrad.viz.graph import draw, save
from tapegrad.viz.plots import plot_decision_boundary, plot_grad_flow, plot_history
from tapegrad.viz.render import EngineNotFound, find_engine
from tapegrad.viz.trace import Tape, TapeNode, trace

__all__ = [
    "EngineNotFound",
    "Tape",
    "TapeNode",
    "draw",
    "explain",
    "find_engine",
    "plot_decision_boundary",
    "plot_grad_flow",
    "plot_history",
    "save",
    "trace",
]
