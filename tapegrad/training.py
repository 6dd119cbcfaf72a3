"""An optional helper for the common training loop: epochs over a DataLoader, a progress bar,
and a History of losses and metrics that ``tg.viz.plot_history`` draws.

The hand-written loop stays the first-class way; ``fit`` is that loop, written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.tensor import Tensor


class History:
    """Losses and metrics of a run: ``steps[name]`` per optimizer step, ``epochs[name]`` per epoch.

    Example:
        >>> h = History()
        >>> h.log_step(loss=0.5); h.log_step(loss=0.25); h.end_epoch()
        >>> h.epochs["loss"]
        [0.375]
    """

    def __init__(self):
        self.steps: dict[str, list[float]] = {}
        self.epochs: dict[str, list[float]] = {}
        self._epoch_start: dict[str, int] = {}

    def log_step(self, **values: float) -> None:
        for name, value in values.items():
            self.steps.setdefault(name, []).append(float(value))

    def log_epoch(self, **values: float) -> None:
        for name, value in values.items():
            self.epochs.setdefault(name, []).append(float(value))

    def end_epoch(self) -> dict[str, float]:
        """Average each per-step series over the epoch just finished into ``epochs``."""
        means = {}
        for name, series in self.steps.items():
            start = self._epoch_start.get(name, 0)
            chunk = series[start:]
            if chunk:
                means[name] = sum(chunk) / len(chunk)
            self._epoch_start[name] = len(series)
        self.log_epoch(**means)
        return means

    def plot(self, path=None, log: bool = False):
        """Draw the curves (matplotlib); returns the Figure and writes ``path`` if given."""
        from tapegrad.viz.plots import plot_history

        return plot_history(self.steps, path, log=log, epochs=self.epochs)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 6) for k, v in self.epochs.items() if v}
        return f"History(epochs={len(next(iter(self.epochs.values()), []))}, last={last})"


def accuracy(output: Tensor, target: Tensor) -> float:
    """Fraction of rows whose arg-max (or, for one output column, sign) equals the target."""
    if output.ndim == 1 or output.shape[-1] == 1:
        predicted = (output.reshape(-1) > 0).long()
    else:
        predicted = output.argmax(-1)
    return float((predicted == target.reshape(predicted.shape).long()).float().mean().item())


def fit(
    model,
    loader: Iterable,
    loss_fn: Callable,
    optimizer,
    epochs: int = 1,
    *,
    metrics: dict[str, Callable] | None = None,
    val_loader: Iterable | None = None,
    scheduler=None,
    clip_grad_norm: float | None = None,
    progress: bool = True,
    history: History | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader`` of ``(input, target)`` batches.

    Each step: ``optimizer.zero_grad()``, ``loss_fn(model(x), y).backward()``, optional
    gradient clipping, ``optimizer.step()``. ``scheduler.step()`` runs once per epoch
    (``ReduceLROnPlateau`` gets the validation loss, or the training loss). Metrics are
    functions ``(output, target) -> float``, logged per step and, on ``val_loader``, per epoch
    as ``val_<name>``. A tqdm progress bar shows the running loss when tqdm is installed.

    Returns:
        The History (the one passed in, extended, or a new one).
    """
    metrics = metrics or {}
    history = history or History()
    for epoch in range(epochs):
        model.train()
        bar = _progress(loader, f"epoch {epoch + 1}/{epochs}", progress)
        for inputs, targets in bar:
            optimizer.zero_grad()
            output = model(inputs)
            loss = loss_fn(output, targets)
            loss.backward()
            if clip_grad_norm is not None:
                from tapegrad.nn.utils import clip_grad_norm_

                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            values = {"loss": loss.item()}
            with no_grad():
                values.update({name: fn(output, targets) for name, fn in metrics.items()})
            history.log_step(**values)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()})
        means = history.end_epoch()
        if val_loader is not None:
            history.log_epoch(
                **{f"val_{k}": v for k, v in evaluate(model, val_loader, loss_fn, metrics).items()}
            )
        if scheduler is not None:
            _step_scheduler(scheduler, history, means)
        if progress:
            _print_epoch(epoch, epochs, history)
    return history


def evaluate(model, loader: Iterable, loss_fn: Callable, metrics=None) -> dict[str, float]:
    """Mean loss and metrics over ``loader`` in eval mode, without recording."""
    metrics = metrics or {}
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    with no_grad():
        for inputs, targets in loader:
            output = model(inputs)
            n = len(targets)
            values = {"loss": loss_fn(output, targets).item()}
            values.update({name: fn(output, targets) for name, fn in metrics.items()})
            for name, value in values.items():
                totals[name] = totals.get(name, 0.0) + value * n
            count += n
    model.train()
    return {name: total / max(count, 1) for name, total in totals.items()}


def _step_scheduler(scheduler, history: History, means: dict) -> None:
    from tapegrad.optim.lr_scheduler import ReduceLROnPlateau

    if isinstance(scheduler, ReduceLROnPlateau):
        watched = history.epochs.get("val_loss") or [means.get("loss", math.nan)]
        scheduler.step(watched[-1])
    else:
        scheduler.step()


def _progress(loader: Iterable, description: str, enabled: bool):
    if not enabled:
        return loader
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc=description, leave=False)


def _print_epoch(epoch: int, epochs: int, history: History) -> None:
    shown = "  ".join(f"{k} {v[-1]:.4g}" for k, v in history.epochs.items() if v)
    print(f"epoch {epoch + 1}/{epochs}  {shown}")
