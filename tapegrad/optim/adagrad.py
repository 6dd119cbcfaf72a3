"""Adagrad, as torch.optim.Adagrad."""

from __future__ import annotations

import numpy as np

from tapegrad.optim.optimizer import Optimizer
from tapegrad.tensor import _make


class Adagrad(Optimizer):
    """Scale steps by the root of summed squared gradients. Same as torch.optim.Adagrad."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        for name, value in (
            ("learning rate", lr),
            ("lr_decay value", lr_decay),
            ("weight_decay value", weight_decay),
            ("epsilon value", eps),
            ("initial_accumulator_value", initial_accumulator_value),
        ):
            if value < 0:
                raise ValueError(f"Invalid {name}: {value}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch creates Adagrad's state eagerly
            for p in group["params"]:
                self.state[p]["step"] = _make(np.zeros((), dtype=np.float32))
                self.state[p]["sum"] = _make(
                    np.full_like(p._data, group["initial_accumulator_value"])
                )

    def _update(self, param, grad, state, group) -> None:
        p = param._data
        if group["maximize"]:
            grad = -grad
        state["step"]._data += 1
        step = float(state["step"]._data)
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"]._data
        total += grad * grad
        p -= clr * grad / (np.sqrt(total) + group["eps"])
