"""Adam and AdamW (decoupled weight decay), with AMSGrad, as torch.optim.Adam/AdamW."""

from __future__ import annotations

import math

import numpy as np

from tapegrad.optim.optimizer import Optimizer
from tapegrad.tensor import _make


class Adam(Optimizer):
    """Adam: moments of the gradient with bias correction. Same as ``torch.optim.Adam``."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        _check(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        p = param._data
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = _make(np.zeros((), dtype=np.float32))
            state["exp_avg"] = _make(np.zeros_like(p))
            state["exp_avg_sq"] = _make(np.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _make(np.zeros_like(p))
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        state["step"]._data += 1
        step = float(state["step"]._data)
        if wd:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                grad = grad + wd * p
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        exp_avg += (grad - exp_avg) * (1 - beta1)  # torch's lerp: the same rounding
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        second = exp_avg_sq
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"]._data, exp_avg_sq, out=state["max_exp_avg_sq"]._data)
            second = state["max_exp_avg_sq"]._data
        denom = np.sqrt(second) / bias_correction2_sqrt + group["eps"]
        p -= (lr / bias_correction1) * exp_avg / denom


class AdamW(Adam):
    """Adam with decoupled weight decay. Same as ``torch.optim.AdamW``."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )


def _check(lr: float, betas, eps: float, weight_decay: float) -> None:
    if lr < 0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay < 0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
