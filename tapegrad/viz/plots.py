"""Training plots with matplotlib: history curves, a 2-D decision boundary, gradient flow.

Each function builds a ``matplotlib.figure.Figure`` directly (no pyplot, so no GUI window and
no change to the user's backend), saves it when given a path, and returns it.
"""

from __future__ import annotations

import math
import os

import numpy as np

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.tensor import Tensor

_SMOOTH_ABOVE = 50  # per-step curves longer than this also get a moving average


def _figure(width: float, height: float, ncols: int = 1):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "tg.viz plots need matplotlib: pip install 'tapegrad[viz]' (or pip install matplotlib)"
        ) from None
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _finish(fig, path):
    if path is not None:
        fig.savefig(os.fspath(path), dpi=120)
    return fig


def _series(name: str, values) -> np.ndarray:
    array = np.asarray([float(v) for v in values], dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"history[{name!r}] must be a non-empty list of numbers")
    return array


def plot_history(history: dict, path=None, log: bool = False, epochs: dict | None = None):
    """Plot training curves: ``history`` maps a name to one value per step.

    ``epochs`` (optional) maps names to one value per epoch, drawn as markers at the end of
    each epoch. Losses (names containing "loss") share the left panel, other metrics
    (accuracy, ...) the right one. ``log=True`` puts losses on a log scale. Long per-step
    curves are drawn faintly with their moving average on top.

    Returns:
        The matplotlib Figure (also written to ``path`` if given).
    """
    steps = {name: _series(name, v) for name, v in (history or {}).items()}
    per_epoch = {name: _series(name, v) for name, v in (epochs or {}).items()}
    if not steps and not per_epoch:
        raise ValueError("plot_history needs at least one series, e.g. {'loss': [...]}")
    names = list(dict.fromkeys([*steps, *per_epoch]))
    panels = [
        [n for n in names if "loss" in n.lower()],
        [n for n in names if "loss" not in n.lower()],
    ]
    panels = [p for p in panels if p]
    fig, axes = _figure(6.0 * len(panels), 4.0, len(panels))
    n_steps = max((len(v) for v in steps.values()), default=0)
    for ax, panel in zip(axes, panels):
        for name in panel:
            color = f"C{names.index(name) % 10}"
            if name in steps:
                _plot_steps(ax, name, steps[name], color)
            if name in per_epoch:
                values = per_epoch[name]
                if n_steps:
                    x = np.arange(1, len(values) + 1) * (n_steps / len(values))
                else:
                    x = np.arange(1, len(values) + 1)
                label = f"{name} (per epoch)" if name in steps else name
                ax.plot(x, values, "o-", color=color, label=label, markersize=4, lw=1.5)
        is_loss = "loss" in panel[0].lower()
        if log and is_loss:
            _log_scale(
                ax, [v for n in panel for v in (steps.get(n), per_epoch.get(n)) if v is not None]
            )
        ax.set_xlabel("step" if n_steps else "epoch")
        ax.set_ylabel("loss" if is_loss else "metric")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    return _finish(fig, path)


def _plot_steps(ax, name: str, values: np.ndarray, color: str) -> None:
    x = np.arange(1, len(values) + 1)
    if len(values) <= _SMOOTH_ABOVE:
        ax.plot(x, values, color=color, label=name, lw=1.5)
        return
    window = max(len(values) // 25, 2)
    kernel = np.ones(window) / window
    smooth = np.convolve(values, kernel, mode="valid")
    ax.plot(x, values, color=color, alpha=0.25, lw=1)
    start = window // 2  # a centred window, so the average does not lag the raw curve
    centred = x[start : start + len(smooth)]
    ax.plot(centred, smooth, color=color, label=f"{name} (mean of {window})", lw=1.8)


def _log_scale(ax, series: list) -> None:
    values = np.concatenate(series)
    finite = values[np.isfinite(values)]
    if finite.size and (finite <= 0).any():
        raise ValueError("plot_history(log=True) needs positive losses; some are <= 0")
    ax.set_yscale("log")


def plot_decision_boundary(model, X, y, path=None, resolution: int = 200):
    """Colour the plane by what a 2-D classifier predicts, with the data points on top.

    ``model`` maps an ``(n, 2)`` tensor to one score per point (``(n,)`` or ``(n, 1)``:
    probabilities, or logits thresholded at 0) or to ``(n, classes)`` logits. Modules run in
    eval mode and under ``no_grad``.

    Returns:
        The matplotlib Figure (also written to ``path`` if given).
    """
    points = np.asarray(X._data if isinstance(X, Tensor) else X)
    labels = np.asarray(y._data if isinstance(y, Tensor) else y).reshape(-1)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs X of shape (n, 2), got {points.shape}")
    if labels.shape[0] != points.shape[0]:
        raise ValueError(f"X has {points.shape[0]} points but y has {labels.shape[0]} labels")
    (x0, x1), (y0, y1) = (_padded_range(points[:, i]) for i in (0, 1))
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    scores = _predict(model, grid, points.dtype)
    fig, (ax,) = _figure(5.5, 4.8)
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = scores.argmax(axis=1).reshape(gx.shape)
        n = scores.shape[1]
        ax.contourf(
            gx,
            gy,
            classes,
            levels=np.arange(n + 1) - 0.5,
            cmap="tab10",
            vmin=-0.5,
            vmax=9.5,
            alpha=0.3,
        )
        cmap, vmin, vmax = "tab10", -0.5, 9.5
    else:
        prob = scores.reshape(gx.shape)
        if prob.min() < 0 or prob.max() > 1:  # logits: the sigmoid, computed without overflow
            prob = np.exp(-np.logaddexp(0.0, -prob))
        filled = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(filled, ax=ax, label="P(class 1)")
        cmap, vmin, vmax = "RdBu_r", labels.min(), labels.max()
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=labels,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        edgecolors="k",
        linewidths=0.6,
        s=22,
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x[0]")
    ax.set_ylabel("x[1]")
    ax.set_title("decision boundary")
    return _finish(fig, path)


def _padded_range(values: np.ndarray) -> tuple:
    lo, hi = float(values.min()), float(values.max())
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _predict(model, grid: np.ndarray, dtype) -> np.ndarray:
    from tapegrad import dtypes
    from tapegrad.creation import tensor

    float_dtype = dtype if np.dtype(dtype).kind == "f" else dtypes.get_default_dtype()
    inputs = tensor(grid.astype(float_dtype))
    was_training = getattr(model, "training", None)
    if was_training:
        model.eval()
    try:
        with no_grad():
            out = model(inputs)
    finally:
        if was_training:
            model.train()
    scores = np.asarray(out._data if isinstance(out, Tensor) else out, dtype=np.float64)
    if scores.shape[0] != grid.shape[0]:
        raise ValueError(f"the model returned shape {scores.shape} for {grid.shape[0]} points")
    return scores


def plot_grad_flow(model_or_named_parameters, path=None):
    """Bar chart of each parameter's gradient: mean and max of |grad|, log scale.

    Accepts a Module, a ``{name: parameter}`` dict or ``(name, parameter)`` pairs. Parameters
    whose gradient is None or all zero are marked in red: learning has stopped there.

    Returns:
        The matplotlib Figure (also written to ``path`` if given).
    """
    pairs = _named_parameters(model_or_named_parameters)
    if not pairs:
        raise ValueError("plot_grad_flow found no parameters")
    names, means, maxes, dead = [], [], [], []
    for name, param in pairs:
        grad = None if param.grad is None else np.abs(np.asarray(param.grad._data, np.float64))
        names.append(name)
        means.append(float(grad.mean()) if grad is not None and grad.size else 0.0)
        maxes.append(float(grad.max()) if grad is not None and grad.size else 0.0)
        dead.append(grad is None or not maxes[-1] > 0)
    fig, (ax,) = _figure(max(5.0, 0.45 * len(names) + 2), 4.2)
    x = np.arange(len(names))
    positive = [v for v in means + maxes if v > 0 and math.isfinite(v)]
    floor = min(positive) / 10 if positive else 1e-12
    ax.bar(x, [max(v, floor) for v in maxes], width=0.8, color="#9ecae1", label="max |grad|")
    ax.bar(x, [max(v, floor) for v in means], width=0.45, color="#08519c", label="mean |grad|")
    if any(dead):
        ax.scatter(
            x[dead],
            [floor] * sum(dead),
            marker="x",
            color="#e03131",
            s=60,
            zorder=3,
            label="no / zero gradient",
        )
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)  # bars start a decade below the smallest gradient, not at 0
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    for label, is_dead in zip(ax.get_xticklabels(), dead):
        if is_dead:
            label.set_color("#e03131")
    ax.set_ylabel("|grad| (log scale)")
    ax.set_title("gradient flow per parameter")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _finish(fig, path)


def _named_parameters(source) -> list:
    if hasattr(source, "named_parameters"):
        return list(source.named_parameters())
    if isinstance(source, dict):
        return list(source.items())
    return list(source)
