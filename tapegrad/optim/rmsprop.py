"""RMSprop (optionally centered, with momentum), as torch.optim.RMSprop."""

from __future__ import annotations

import numpy as np

from tapegrad.optim.optimizer import Optimizer
from tapegrad.tensor import _make


class RMSprop(Optimizer):
    """Divide the gradient by a running RMS of its magnitude. Same as torch.optim.RMSprop."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        for name, value in (
            ("learning rate", lr),
            ("epsilon value", eps),
            ("momentum value", momentum),
            ("weight_decay value", weight_decay),
            ("alpha value", alpha),
        ):
            if value < 0:
                raise ValueError(f"Invalid {name}: {value}")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        p = param._data
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = _make(np.zeros((), dtype=np.float32))
            state["square_avg"] = _make(np.zeros_like(p))
            if group["momentum"] > 0:
                state["momentum_buffer"] = _make(np.zeros_like(p))
            if group["centered"]:
                state["grad_avg"] = _make(np.zeros_like(p))
        state["step"]._data += 1
        alpha = group["alpha"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            grad_avg += (grad - grad_avg) * (1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._data
            buf *= group["momentum"]
            buf += grad / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * grad / avg
