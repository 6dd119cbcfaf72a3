"""Run one generated call on tapegrad and on a reference, and hold tapegrad to the contract.

The contract, for every generated call:

- both succeed: same shapes, dtypes and values (NaN where the reference has NaN), the same
  ``requires_grad``, and, for one random cotangent shared by both, the same gradients;
- both raise: tapegrad's error is its own (a builtin exception raised from tapegrad code,
  not a numpy exception or warning) and its message names the op, a shape or a dtype;
- only one raises: a failure, unless the call is a documented extension (tapegrad accepts
  what torch refuses; its values are then checked against numpy) or restriction.

The reference is PyTorch when it is installed; without it, numpy references from the op
table (``tests/opdb``) check the values, and gradients are left to the registry test.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import tapegrad as tg

try:
    import torch
except ImportError:  # the numpy references take over
    torch = None
if os.environ.get("TAPEGRAD_REFERENCE") == "numpy":  # run the fallback even with torch around
    torch = None

TAPEGRAD_DIR = os.path.dirname(tg.__file__)
ERROR_TYPES = (ValueError, TypeError, RuntimeError, IndexError, NotImplementedError)
# numpy's own wording: a message containing one of these leaked out of numpy unchanged
NUMPY_PHRASES = ("operands could not be broadcast", "ufunc", "numpy", "axis ", "np.")

TOLERANCES = {
    np.dtype(np.float16): {"rtol": 1e-2, "atol": 1e-3},
    np.dtype(np.float32): {"rtol": 2e-5, "atol": 1e-5},
    np.dtype(np.float64): {"rtol": 1e-9, "atol": 1e-12},
}


@dataclass
class Call:
    """One generated call, described once and run on every library.

    ``args`` holds numpy arrays (each becomes a tensor, requiring grad if it is a float one)
    and plain Python values passed unchanged. ``tg_fn`` and ``torch_fn`` take the converted
    arguments; ``numpy_fn`` the arrays themselves.
    """

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tg_fn: Callable | None = None
    torch_fn: Callable | None = None
    numpy_fn: Callable | None = None
    form: str = "function"  # how it is called, for messages: "function", "operator", ...

    def describe(self) -> str:
        parts = [_describe(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)}) [{self.form}]"

    def input_names(self) -> list[str]:
        """How an error message may name the inputs: shapes as tuples and lists, dtype names."""
        names = []
        for a in _flat_arrays(self.args):
            shape = tuple(a.shape)
            names += [str(shape), str(list(shape)), str(a.dtype)]
        return names


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)}:{value.dtype}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    return repr(value)


def _flat_arrays(values) -> list[np.ndarray]:
    arrays = []
    for v in values:
        if isinstance(v, np.ndarray):
            arrays.append(v)
        elif isinstance(v, (list, tuple)):
            arrays += _flat_arrays(v)
    return arrays


# --- running a call ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one library did with a call: its outputs and inputs, or the error it raised."""

    outputs: list | None = None
    inputs: list = field(default_factory=list)
    error: BaseException | None = None


def _convert(value, make, inputs: list):
    if isinstance(value, np.ndarray):
        t = make(value.copy())
        if value.dtype.kind == "f":
            t.requires_grad_(True)
        inputs.append(t)
        return t
    if isinstance(value, list):
        return [_convert(v, make, inputs) for v in value]
    if isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
        return tuple(_convert(v, make, inputs) for v in value)
    return value


def run_tapegrad(call: Call) -> Outcome:
    """Call tapegrad; numpy warnings are errors here (a leaked RuntimeWarning is a bug)."""
    inputs: list = []
    args = [_convert(a, tg.from_numpy, inputs) for a in call.args]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", UserWarning)  # torch warns too (e.g. var of one item)
        try:
            out = call.tg_fn(*args, **call.kwargs)
        except ERROR_TYPES + (ArithmeticError, AttributeError, KeyError, Warning) as error:
            return Outcome(error=error, inputs=inputs)
    return Outcome(outputs=_as_list(out), inputs=inputs)


def run_torch(call: Call) -> Outcome:
    inputs: list = []
    args = [_convert(a, torch.from_numpy, inputs) for a in call.args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call.torch_fn(*args, **call.kwargs)
        except Exception as error:  # torch's errors come in many types
            return Outcome(error=error, inputs=inputs)
    return Outcome(outputs=_as_list(out), inputs=inputs)


def _as_list(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


# --- the contract ------------------------------------------------------------------------------


def check(
    call: Call,
    *,
    extension: str | None = None,
    restriction: str | None = None,
    grad_where: Callable | None = None,
) -> None:
    """Hold tapegrad to the contract for ``call`` (see the module docstring).

    Args:
        extension: why tapegrad may accept this call although torch refuses it.
        restriction: why tapegrad may refuse this call (with a clear error) although torch
            accepts it.
        grad_where: a predicate on the call's arguments; gradients are compared only where it
            holds (for documented gaps, e.g. a derivative torch special-cases at infinity).
    """
    ours = run_tapegrad(call)
    if torch is None or call.torch_fn is None:
        _check_against_numpy(call, ours)
        return
    theirs = run_torch(call)
    if ours.error is not None:
        assert_clear_error(ours.error, call)
        if theirs.error is None:
            assert restriction, (
                f"{call.describe()}: tapegrad raised {ours.error!r} but torch returns "
                f"{_summary(theirs.outputs)}"
            )
        return
    if theirs.error is not None:
        assert extension, (
            f"{call.describe()}: torch raises {theirs.error!r} but tapegrad returns "
            f"{_summary(ours.outputs)}"
        )
        _check_against_numpy(call, ours)
        return
    compare_outputs(call, ours.outputs, [_torch_to_numpy(o) for o in theirs.outputs])
    if grad_where is None or grad_where(*call.args, **call.kwargs):
        compare_gradients(call, ours, theirs)


def assert_clear_error(error: BaseException, call: Call) -> None:
    """tapegrad's own error: a builtin type raised in tapegrad, naming the op/shapes/dtypes."""
    where = f"{call.describe()} raised {type(error).__name__}: {error}"
    assert isinstance(error, ERROR_TYPES), where
    assert type(error).__module__ == "builtins", f"{where} (a {type(error).__module__} error)"
    assert _raised_in_tapegrad(error), f"{where} (raised outside tapegrad: {_origin(error)})"
    message = str(error)
    assert not any(p in message for p in NUMPY_PHRASES), f"{where} (numpy's message)"
    assert _names_the_call(message, call), (
        f"{where} (the message names neither the op, the shapes nor the dtypes)"
    )


def _names_the_call(message: str, call: Call) -> bool:
    """The op as a word ("pow:", not "powers"), an input's shape or dtype, or a dim."""
    if re.search(rf"\b{re.escape(call.name)}\b", message):
        return True
    return any(n in message for n in call.input_names()) or "dim" in message.lower()


def _raised_in_tapegrad(error: BaseException) -> bool:
    return _origin(error).startswith(TAPEGRAD_DIR)


def _origin(error: BaseException) -> str:
    """The file of the innermost frame of the traceback: where the error was raised."""
    tb = error.__traceback__
    filename = "<unknown>"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return filename


def _summary(outputs) -> str:
    return ", ".join(
        f"shape {tuple(o.shape)} {o.dtype}" if hasattr(o, "shape") else repr(o) for o in outputs
    )


def _to_numpy(value):
    if isinstance(value, tg.Tensor):
        return value.detach().numpy()
    return value


def _torch_to_numpy(value):
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return value


def compare_outputs(call: Call, got: list, want: list, exact_dtype: bool = True) -> None:
    where = call.describe()
    assert len(got) == len(want), f"{where}: {len(got)} outputs, the reference gives {len(want)}"
    for nr, (g, w) in enumerate(zip(got, want)):
        g = _to_numpy(g)
        if not isinstance(w, np.ndarray):
            assert not isinstance(g, np.ndarray), f"{where}: output {nr} is an array, not {w!r}"
            assert g == w or (_is_nan(g) and _is_nan(w)), f"{where}: output {nr} {g!r} != {w!r}"
            continue
        assert isinstance(g, np.ndarray), f"{where}: output {nr} holds {g!r}, not an array"
        label = f"{where}: output {nr}"
        assert g.shape == w.shape, f"{label} has shape {g.shape}, the reference {w.shape}"
        if exact_dtype:
            assert g.dtype == w.dtype, f"{label} has dtype {g.dtype}, the reference {w.dtype}"
        else:
            assert g.dtype.kind == w.dtype.kind or (
                w.dtype.kind in "iu" and g.dtype.kind in "iu"
            ), f"{label} has dtype {g.dtype}, the reference {w.dtype}"
        assert_values(g, w, label)


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def assert_values(got: np.ndarray, want: np.ndarray, label: str, precision=None) -> None:
    """Equal values, NaN where NaN; floats to the tolerance of the working ``precision``
    (by default the coarser of the two dtypes; integers and bools exactly)."""
    floats = [d for d in (got.dtype, want.dtype, precision) if d is not None and d.kind == "f"]
    tol = {"rtol": 0, "atol": 0}
    if floats:
        tol = TOLERANCES[min(floats, key=lambda d: d.itemsize)]
    np.testing.assert_allclose(got, want, equal_nan=True, err_msg=label, **tol)


def compare_gradients(call: Call, ours: Outcome, theirs: Outcome) -> None:
    """Backpropagate one random cotangent through both and compare the inputs' gradients."""
    where = call.describe()
    roots, torch_roots, cotangents = [], [], []
    rng = np.random.default_rng(len(where))
    for nr, (a, b) in enumerate(zip(ours.outputs, theirs.outputs)):
        a_grad = isinstance(a, tg.Tensor) and a.requires_grad
        b_grad = isinstance(b, torch.Tensor) and b.requires_grad
        if b_grad and "NotImplemented" in type(b.grad_fn).__name__:
            b_grad = False  # torch records ops it cannot differentiate (floor_divide)
        assert a_grad == b_grad, f"{where}: output {nr} requires_grad {a_grad}, torch {b_grad}"
        if a_grad:
            roots.append(a)
            torch_roots.append(b)
            cotangents.append(rng.standard_normal(tuple(a.shape)).astype(a.dtype))
    if not roots:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.autograd.backward(torch_roots, [torch.from_numpy(c.copy()) for c in cotangents])
        except RuntimeError:
            return  # torch cannot differentiate it either (e.g. remainder by a scalar)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.autograd.backward(roots, [tg.from_numpy(c.copy()) for c in cotangents])
    # a float64 input of a float32 result gets a gradient computed in float32
    precision = min(
        (t.dtype for t in ours.inputs + roots if t.dtype.kind == "f"), key=lambda d: d.itemsize
    )
    for i, (a, b) in enumerate(zip(ours.inputs, theirs.inputs)):
        if not a.requires_grad:
            continue
        got = np.zeros(a.shape, a.dtype) if a.grad is None else a.grad.numpy()
        want = np.zeros(a.shape, a.dtype) if b.grad is None else b.grad.numpy()
        label = f"{where}: gradient of input {i}"
        assert got.shape == want.shape, f"{label} has shape {got.shape}, torch {want.shape}"
        assert got.dtype == want.dtype, f"{label} has dtype {got.dtype}, torch {want.dtype}"
        assert_values(got, want, label, precision)


def _numpy_agrees_with_torch(args) -> bool:
    """Where numpy's rules are torch's: finite floats of one dtype. Integers (1 / int,
    int ** -1), NaN (sign, max) and mixed precision (torch compares float64 with float32 in
    float32) all differ."""
    arrays = _flat_arrays(args)
    dtypes = {a.dtype for a in arrays}
    return (
        len(dtypes) == 1 and dtypes.pop().kind == "f" and all(np.isfinite(a).all() for a in arrays)
    )


def _check_against_numpy(call: Call, ours: Outcome) -> None:
    """Without torch: tapegrad's error must be clear, its values those of the numpy reference."""
    if ours.error is not None:
        assert_clear_error(ours.error, call)
        return
    if call.numpy_fn is None or not _numpy_agrees_with_torch(call.args):
        return
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            want = _as_list(call.numpy_fn(*call.args, **call.kwargs))
        except (ValueError, TypeError, IndexError, ZeroDivisionError):
            return  # numpy refuses what torch (and tapegrad) define: nothing to compare
    # a Python answer (allclose, equal) stays one; numpy scalars (float64 is a float) become
    # 0-d arrays like tapegrad's 0-d tensors
    want = [w if type(w) in (bool, int, float) else np.asarray(w) for w in want]
    compare_outputs(call, ours.outputs, want, exact_dtype=False)
