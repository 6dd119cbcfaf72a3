"""The look of tg.viz graphs: node styles, the log-scale gradient colours and their legend.

Gradient norms use viridis (readable in greyscale and by colour-blind readers), so red stays
free to mean NaN/inf and grey to mean a vanishing gradient.
"""

from __future__ import annotations

import math

FONT = "Helvetica"
GRAPH = {"fontname": FONT, "fontsize": "11", "nodesep": "0.3", "ranksep": "0.35"}
NODE = {"fontname": FONT, "fontsize": "11", "margin": "0.12,0.05", "height": "0.3"}
EDGE = {"color": "#5a5a5a", "arrowsize": "0.7", "fontname": FONT, "fontsize": "9"}
CLUSTER = {"style": "rounded,filled", "color": "#8c96a3", "fontcolor": "#33404d", "labeljust": "l"}
CLUSTER_FILLS = ("#f2f4f7", "#e3e8ef")  # alternate by nesting level, so nested modules stand out
NODE_STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "param": {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe8cf"},
    "leaf": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff1c2"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#dcd3f0"},
}
NAN_FILL = "#e03131"
VANISHING_FILL = "#c4c4c4"
NO_GRAD_FILL = "#ffffff"
ORIGIN = {"penwidth": "4", "color": "#7a0000"}
NONFINITE_EDGE = {"color": NAN_FILL, "penwidth": "2"}
GRAD_LABEL = {"fontcolor": "#b03a2e"}  # gradients on edges travel against the arrows

# matplotlib's viridis at nine evenly spaced points, interpolated linearly between them
_VIRIDIS = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)


def _rgb(hex_color: str) -> tuple:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


def viridis(t: float) -> str:
    """The viridis colour at ``t`` in [0, 1], as ``#rrggbb``."""
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    a, b = _rgb(_VIRIDIS[i]), _rgb(_VIRIDIS[i + 1])
    mixed = (round(x + (y - x) * (t - i)) for x, y in zip(a, b))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def text_color(fill: str) -> str:
    """Black or white, whichever reads better on ``fill``."""
    r, g, b = _rgb(fill)
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#ffffff"


class LogScale:
    """Maps gradient norms to [0, 1] on a log scale spanning whole decades of the finite,
    non-vanishing norms given."""

    def __init__(self, norms: list, vanishing: float):
        logs = [
            math.log10(n) for n in norms if n is not None and math.isfinite(n) and n >= vanishing
        ]
        self.empty = not logs
        self.lo = math.floor(min(logs, default=0.0))
        self.hi = max(math.ceil(max(logs, default=0.0)), self.lo + 1)

    def __call__(self, norm: float) -> float:
        return (math.log10(norm) - self.lo) / (self.hi - self.lo)


def grad_fill(norm, scale: LogScale, vanishing: float) -> dict:
    """Fill and font colour for a node whose incoming gradient has norm ``norm``."""
    if norm is None:
        return {"fillcolor": NO_GRAD_FILL, "fontcolor": "#6c757d"}
    if not math.isfinite(norm):
        return {"fillcolor": NAN_FILL, "fontcolor": "#ffffff"}
    if norm < vanishing:
        return {"fillcolor": VANISHING_FILL, "fontcolor": "#000000", "style_extra": "dashed"}
    fill = viridis(scale(norm))
    return {"fillcolor": fill, "fontcolor": text_color(fill)}


def norm_text(norm, vanishing: float) -> str:
    if norm is None:
        return "no gradient"
    if math.isnan(norm):
        return "grad NaN"
    if math.isinf(norm):
        return "grad inf"
    text = f"|grad| {norm:.2e}"
    return text + " vanishing" if norm < vanishing else text


def legend(scale: LogScale, vanishing: float) -> dict:
    """Attributes of a node holding the legend: an HTML-like table of swatches."""
    cells = []
    if not scale.empty:
        for exponent in range(scale.lo, scale.hi + 1):
            fill = viridis(scale(10.0**exponent))
            cells.append(_swatch(fill, f"1e{exponent:+03d}"))
    rows = [
        '<TR><TD COLSPAN="{n}"><B>|grad| (log scale)</B></TD></TR>',
        "<TR>" + "".join(cells) + "</TR>" if cells else "",
        '<TR><TD COLSPAN="{n}" BGCOLOR="' + NAN_FILL + '"><FONT COLOR="#ffffff">NaN / inf'
        "</FONT></TD></TR>",
        '<TR><TD COLSPAN="{n}" BGCOLOR="' + VANISHING_FILL + '">vanishing: below '
        f"{vanishing:.0e}</TD></TR>",
        '<TR><TD COLSPAN="{n}" BGCOLOR="' + NO_GRAD_FILL + '">no gradient reached it</TD></TR>',
        '<TR><TD COLSPAN="{n}">thick dark-red border: NaN/inf starts there</TD></TR>',
    ]
    span = str(max(len(cells), 1))
    table = "".join(rows).replace("{n}", span)
    table = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">{table}</TABLE>'
    return {"shape": "plaintext", "label": f"<{table}>"}


def _swatch(fill: str, text: str) -> str:
    return f'<TD BGCOLOR="{fill}"><FONT COLOR="{text_color(fill)}">{text}</FONT></TD>'
