"""A custom op, checked three ways: gradcheck, gradgradcheck, and check_graph inside a model."""

from __future__ import annotations

import numpy as np

import tapegrad as tg


class Softplus(tg.autograd.Function):
    """log(1 + e^x), computed without overflow for large x."""

    @staticmethod
    def forward(ctx, x):
        data = x.detach().numpy()
        ctx.save_for_backward(x)
        # max(x, 0) + log1p(e^-|x|): the exp never sees a large positive argument
        return np.maximum(data, 0) + np.log1p(np.exp(-np.abs(data)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()  # d/dx softplus(x) = sigmoid(x), in tapegrad ops


def main() -> None:
    x = tg.tensor(np.linspace(-3, 3, 7), dtype=tg.float64, requires_grad=True)
    print("graph name:", Softplus.apply(x).grad_fn.name())
    print("gradcheck:", tg.autograd.gradcheck(Softplus.apply, (x,)))
    print("gradgradcheck:", tg.autograd.gradgradcheck(Softplus.apply, (x,)))

    tg.manual_seed(0)
    w = tg.randn(4, 7, dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():  # keeps each op's inputs and call site
        h = Softplus.apply((w * x).sum(-1))
        loss = (h * h).mean()
    print("check_graph:", tg.autograd.check_graph(loss))


if __name__ == "__main__":
    main()
