"""Rules for shape ops: reshape, permute, expand, cat, split, repeat, flip, roll.

Sizes written into the graph follow the dynamic axes: a reshape target copies a dim that
stays (0), lets one changed dim be inferred (-1) and computes the others from the inputs'
shapes; expand writes 1 where a dim is kept.
"""

from __future__ import annotations

from tapegrad.onnx.dynamic import Dim, Unfitted
from tapegrad.onnx.graph import INT64_MAX
from tapegrad.onnx.ops.registry import rule
from tapegrad.ops import shape as sh


def _without_ones(shape) -> list:
    return [n for n in shape if n != 1]


def cannot_compute(call, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"tg.onnx.export: op {call.name} ({call.where()}) needs {what} that changes with the "
        "dynamic axes in a way the graph cannot compute"
    )


@rule(sh.Reshape, sized=(1,))
def _reshape(g, call):
    x = call.x(0)
    old, new = call.sym_shape(0), tuple(call.sym(1))
    if old == new:
        return g.identity(x)
    if _without_ones(old) == _without_ones(new):
        # squeeze/unsqueeze: axes only, so every other dim (a dynamic one too) carries over
        ones = [i for i, n in enumerate(old) if n == 1]
        if ones:
            x = g.op1("Squeeze", [x, g.ints(ones)])
        added = [i for i, n in enumerate(new) if n == 1]
        return g.op1("Unsqueeze", [x, g.ints(added)]) if added else g.identity(x)
    target = []
    for i, n in enumerate(new):
        if not isinstance(n, int) and i < len(old) and old[i] == n:
            target.append(0)  # ONNX copies the input's dim
        elif isinstance(n, Unfitted):
            target.append(None)
        else:
            target.append(n)
    free = [i for i, n in enumerate(target) if n is None]
    if len(free) > 1:
        raise cannot_compute(call, f"a shape {new}")
    computed = [i for i, n in enumerate(target) if isinstance(n, Dim)]
    if not free and len(computed) == 1:
        target[computed[0]] = None  # Reshape infers it: no need to compute it
    return g.op1("Reshape", [x, call.dims(target)])


@rule(sh.Permute)
def _permute(g, call):
    return g.op1("Transpose", [call.x(0)], perm=[int(a) for a in call.args[1]])


@rule(sh.Expand, sized=(1,))
def _expand(g, call):
    old, new = call.sym_shape(0), tuple(call.sym(1))
    # a kept dim is written as 1 (Expand broadcasts both ways), so it may be dynamic
    aligned = (None,) * (len(new) - len(old)) + tuple(old)
    target = [1 if a == n else n for a, n in zip(aligned, new)]
    if any(isinstance(n, Unfitted) for n in target):
        raise cannot_compute(call, f"a shape {new}")
    return g.op1("Expand", [call.x(0), call.dims(target)])


@rule(sh.Cat)
def _cat(g, call):
    inputs = [call.x(i) for i in range(len(call.args))]
    return g.op1("Concat", inputs, axis=int(call.kwargs["dim"]))


@rule(sh.Split, sized=(1,))
def _split(g, call):
    sizes, dim = call.sym(1), call.args[2]
    if any(isinstance(n, Unfitted) for n in sizes):
        raise cannot_compute(call, f"split sizes {sizes}")
    return g.op("Split", [call.x(0), call.dims(sizes)], len(sizes), axis=int(dim))


@rule(sh.Repeat)
def _repeat(g, call):
    repeats = [int(r) for r in call.args[1]]
    x = call.x(0)
    extra = len(repeats) - len(call.shape(0))
    if extra:
        x = g.op1("Unsqueeze", [x, g.ints(range(extra))])
    return g.op1("Tile", [x, g.ints(repeats)])


@rule(sh.Flip)
def _flip(g, call):
    x = call.x(0)
    dims = list(call.args[1])
    n = len(dims)
    starts, ends, steps = g.ints([-1] * n), g.ints([-INT64_MAX] * n), g.ints([-1] * n)
    return g.op1("Slice", [x, starts, ends, g.ints(dims), steps])


@rule(sh.Roll)
def _roll(g, call):
    _, shifts, dims = call.args
    x = call.x(0)
    shape = call.sym_shape(0)
    if dims is None:  # over the flattened input, then back to its shape
        flat = g.op1("Reshape", [x, g.ints([-1])])
        rolled = _rolled(g, call, flat, shifts[0], 0, _numel(shape))
        return g.op1("Reshape", [rolled, g.op1("Shape", [x])])
    for shift, dim in zip(shifts, dims):
        x = _rolled(g, call, x, shift, dim, shape[dim])
    return x


def _numel(shape) -> int | None:
    total = 1
    for n in shape:
        if not isinstance(n, int):
            return None
        total *= n
    return total


def _rolled(g, call, x: str, shift: int, dim: int, size) -> str:
    """The last ``shift`` elements along ``dim`` moved to the front (a fixed size only)."""
    if not isinstance(size, int):
        raise cannot_compute(call, f"the size of dim {dim}")
    shift = shift % size if size else 0
    if not shift:
        return g.identity(x)
    axis = g.ints([dim])
    tail = g.op1("Slice", [x, g.ints([size - shift]), g.ints([INT64_MAX]), axis])
    head = g.op1("Slice", [x, g.ints([0]), g.ints([size - shift]), axis])
    return g.op1("Concat", [tail, head], axis=dim)
