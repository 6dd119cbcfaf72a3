"""Train a 2-2-1 network on XOR with plain tapegrad tensors and Python control flow."""

from __future__ import annotations

import tapegrad as tg


def main(steps: int = 2000, lr: float = 0.5) -> float:
    tg.manual_seed(0)
    x = tg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = tg.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (tg.randn(2, 2) * 1.0).requires_grad_()
    b1 = tg.zeros(2, requires_grad=True)
    w2 = (tg.randn(2, 1) * 1.0).requires_grad_()
    b2 = tg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(steps):
        hidden = (x @ w1 + b1).tanh()
        prob = (hidden @ w2 + b2).sigmoid()
        loss = -(y * prob.clamp(1e-7, 1).log() + (1 - y) * (1 - prob).clamp(1e-7, 1).log()).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.6f}")
    print("predictions:", [round(v, 3) for v in prob.detach().flatten().tolist()])
    return loss.item()


if __name__ == "__main__":
    main()
