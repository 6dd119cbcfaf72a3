"""Per-op overhead on small tensors: tapegrad vs PyTorch vs hand-written numpy.

Each workload is a chain of ``DEPTH`` ops of one kind on a small float32 tensor, reduced by a
final ``sum()``, then differentiated. One forward+backward is timed and divided by the number
of ops in the forward, giving microseconds per op (forward and backward together). On tensors
this small the arithmetic is nearly free, so the numbers measure each library's per-op cost:
argument handling, graph recording, the backward walk.

The numpy column is the floor: the same forward, plus a backward derived by hand that does
each op's gradient step in plain numpy, with no graph at all.

Run from the repository root: ``python -m benchmarks.bench_ops``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import tapegrad as tg
from benchmarks._timing import CLOCKS, environment, measure, set_threads, table
from benchmarks.libraries import load

DEPTH = 16  # ops in each chain before the final sum
SHAPES = [(8,), (32, 32)]
SCALE = 0.01  # the constant in the sum workload; keeps values near their start
torch = load("torch")  # optional: without it the torch columns say "not installed"


@dataclass(frozen=True)
class Workload:
    """A chain of ops written once for tapegrad and torch, and by hand in numpy.

    ``forward(ops, x, *params)`` returns the scalar loss, spelled with ``ops.<name>`` and
    operators so both libraries run the same code. ``by_hand(x, *params)`` returns the loss and
    the gradients of x and every param. ``params(rng, shape)`` draws the parameters.
    """

    name: str
    ops_per_block: int
    forward: object
    by_hand: object
    params: object


# --- the workloads: forward in library ops, and by hand in numpy -----------------------------


def _bias(rng, shape):
    return [rng.uniform(-0.1, 0.1, size=shape[-1:])]


def _scale(rng, shape):
    return [rng.uniform(0.9, 1.1, size=shape[-1:])]


def _weight(rng, shape):
    n = shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))  # orthogonal: the chain keeps its norm
    return [q]


def _weight_bias(rng, shape):
    return _weight(rng, shape) + _bias(rng, shape)


def add_forward(ops, x, b):
    y = x
    for _ in range(DEPTH):
        y = y + b
    return y.sum()


def add_by_hand(x, b):
    y = x
    for _ in range(DEPTH):
        y = y + b
    g = np.ones_like(y)
    gb = np.zeros_like(b)
    for _ in range(DEPTH):
        gb += _sum_to(g, b.shape)
    return y.sum(), g, gb


def mul_forward(ops, x, s):
    y = x
    for _ in range(DEPTH):
        y = y * s
    return y.sum()


def mul_by_hand(x, s):
    ys = [x]
    for _ in range(DEPTH):
        ys.append(ys[-1] * s)
    g = np.ones_like(x)
    gs = np.zeros_like(s)
    for y in reversed(ys[:-1]):
        gs += _sum_to(g * y, s.shape)  # d(y*s)/ds = y
        g = g * s  # d(y*s)/dy = s
    return ys[-1].sum(), g, gs


_UNARY = ("tanh", "sigmoid", "exp", "relu")  # bounded in a cycle: sigmoid keeps exp small


def unary_forward(ops, x):
    y = x
    for i in range(DEPTH):
        y = getattr(ops, _UNARY[i % len(_UNARY)])(y)
    return y.sum()


def unary_by_hand(x):
    ys = [x]
    for i in range(DEPTH):
        y = ys[-1]
        name = _UNARY[i % len(_UNARY)]
        if name == "tanh":
            ys.append(np.tanh(y))
        elif name == "sigmoid":
            ys.append(1 / (1 + np.exp(-y)))
        elif name == "exp":
            ys.append(np.exp(y))
        else:
            ys.append(np.maximum(y, 0))
    g = np.ones_like(x)
    for i in reversed(range(DEPTH)):
        name, inp, out = _UNARY[i % len(_UNARY)], ys[i], ys[i + 1]
        if name == "tanh":
            g = g * (1 - out * out)
        elif name == "sigmoid":
            g = g * out * (1 - out)
        elif name == "exp":
            g = g * out
        else:
            g = g * (inp > 0)
    return ys[-1].sum(), g


def matmul_forward(ops, x, w):
    y = x
    for _ in range(DEPTH):
        y = ops.matmul(y, w)
    return y.sum()


def matmul_by_hand(x, w):
    ys = [x]
    for _ in range(DEPTH):
        ys.append(ys[-1] @ w)
    g = np.ones_like(ys[-1])
    gw = np.zeros_like(w)
    for y in reversed(ys[:-1]):
        gw += np.outer(y, g) if y.ndim == 1 else y.T @ g
        g = g @ w.T
    return ys[-1].sum(), g, gw


def sum_forward(ops, x):
    """Centre-like steps y - c * sum(y, -1): 3 ops (sum, mul, sub) per block."""
    y = x
    for _ in range(DEPTH // 3):
        y = y - y.sum(-1, keepdim=True) * SCALE
    return y.sum()


def sum_by_hand(x):
    y = x
    for _ in range(DEPTH // 3):
        y = y - y.sum(-1, keepdims=True) * SCALE
    g = np.ones_like(x)
    for _ in range(DEPTH // 3):
        g = g - (g * SCALE).sum(-1, keepdims=True)  # d/dy = I - c * ones (per row)
    return y.sum(), g


def layer_forward(ops, x, w, b):
    """tanh(y @ w + b): 3 ops per block, a small dense layer."""
    y = x
    for _ in range(DEPTH // 3):
        y = ops.tanh(ops.matmul(y, w) + b)
    return y.sum()


def layer_by_hand(x, w, b):
    ys = [x]
    for _ in range(DEPTH // 3):
        ys.append(np.tanh(ys[-1] @ w + b))
    g = np.ones_like(x)
    gw, gb = np.zeros_like(w), np.zeros_like(b)
    for y, out in zip(reversed(ys[:-1]), reversed(ys[1:])):
        ga = g * (1 - out * out)
        gb += _sum_to(ga, b.shape)
        gw += np.outer(y, ga) if y.ndim == 1 else y.T @ ga
        g = ga @ w.T
    return ys[-1].sum(), g, gw, gb


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting of a trailing-dims parameter."""
    return g.reshape(-1, *shape).sum(0) if g.shape != shape else g


WORKLOADS = [
    Workload("add (+ bias)", 1, add_forward, add_by_hand, _bias),
    Workload("mul (* scale)", 1, mul_forward, mul_by_hand, _scale),
    Workload("tanh,sigmoid,exp,relu", 4, unary_forward, unary_by_hand, lambda rng, s: []),
    Workload("matmul", 1, matmul_forward, matmul_by_hand, _weight),
    Workload("sum(-1),mul,sub", 3, sum_forward, sum_by_hand, lambda rng, s: []),
    Workload("matmul,add,tanh", 3, layer_forward, layer_by_hand, _weight_bias),
]


# --- running one workload in each library ----------------------------------------------------


def n_ops(work: Workload) -> int:
    """Public op calls in the forward: whole blocks of the chain, plus the final sum."""
    blocks = DEPTH // work.ops_per_block
    return blocks * work.ops_per_block + 1


def count_nodes(loss: tg.Tensor) -> int:
    """Recorded nodes behind ``loss``, walked through the public ``next_functions``."""
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node.name() == "AccumulateGrad" or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(fn for fn, _ in node.next_functions)
    return len(seen)


def make_step(forward, ops, leaves):
    def step():
        for t in leaves:
            t.grad = None
        forward(ops, *leaves).backward()

    return step


def run(work: Workload, shape: tuple, repeat: int, clock: str) -> list:
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, size=shape), *work.params(rng, shape)]
    arrays = [a.astype(np.float32) for a in arrays]
    libs = {"tapegrad": tg} | ({"torch": torch} if torch else {})
    leaves = {
        name: [lib.from_numpy(a.copy()).requires_grad_() for a in arrays]
        for name, lib in libs.items()
    }
    steps = [make_step(work.forward, libs[name], leaves[name]) for name in libs]

    def numpy_step():
        return work.by_hand(*arrays)

    nodes = _check_agreement(work, libs, leaves, numpy_step())
    count = n_ops(work)
    timings = measure([*steps, numpy_step], repeat, clock=clock)
    times = dict(zip([*libs, "numpy"], (t.best / count * 1e6 for t in timings)))
    label = "x".join(map(str, shape))
    tg_time, torch_time, np_time = times["tapegrad"], times.get("torch"), times["numpy"]
    versus_torch = [torch_time, tg_time / torch_time] if torch_time else ["not installed", "-"]
    row = [work.name, f"({label})", count, nodes, tg_time, np_time, *versus_torch]
    return [*row, tg_time / np_time]


def _check_agreement(work, libs: dict, leaves: dict, by_hand) -> int:
    """Check every library's loss and gradients against numpy's; return tapegrad's node count."""
    np_loss, *np_grads = by_hand
    nodes = 0
    for name, lib in libs.items():
        loss = work.forward(lib, *leaves[name])
        nodes = count_nodes(loss) if name == "tapegrad" else nodes
        loss.backward()
        where = f"{work.name}, {name}"
        np.testing.assert_allclose(loss.item(), float(np_loss), rtol=1e-4, err_msg=where)
        for i, (leaf, ref) in enumerate(zip(leaves[name], np_grads)):
            grad = leaf.grad.numpy()
            np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-5, err_msg=f"{where} {i}")
    return nodes


def profile(steps: int = 200, top: int = 15) -> None:
    """cProfile tapegrad alone over every workload and shape; print the top functions."""
    import cProfile
    import pstats

    runs = []
    for shape in SHAPES:
        for work in WORKLOADS:
            rng = np.random.default_rng(0)
            arrays = [rng.uniform(-1, 1, size=shape), *work.params(rng, shape)]
            leaves = [tg.from_numpy(a.astype(np.float32)).requires_grad_() for a in arrays]
            runs.append(make_step(work.forward, tg, leaves))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        for step in runs:
            step()
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timing loops per measurement")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and BLAS")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="what to time")
    parser.add_argument("--profile", action="store_true", help="cProfile tapegrad instead")
    args = parser.parse_args()
    threads = set_threads(args.threads, torch)
    if args.profile:
        profile()
        return

    print(environment(torch))
    print(threads)
    print(f"float32, chains of {DEPTH} ops + sum, forward+backward")
    print(f"{args.clock} time, best of {args.repeat} loops")
    print()
    rows = [run(work, shape, args.repeat, args.clock) for shape in SHAPES for work in WORKLOADS]
    headers = ["workload", "shape", "ops", "nodes", "tapegrad us/op", "numpy us/op"]
    print(table([*headers, "torch us/op", "tg/torch", "tg/numpy"], rows))


if __name__ == "__main__":
    main()
