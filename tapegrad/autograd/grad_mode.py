"""The thread-local grad-mode switch: no_grad, enable_grad, set_grad_enabled, is_grad_enabled.

This per-thread state is the only global autograd state; the graph itself lives in the tensors.
"""

from __future__ import annotations

import functools
import threading

from tapegrad.autograd.errstate import quiet_context


class ModuleScope(tuple):
    """The nn modules whose forward is running, outermost first; one object per module call.

    Every op recorded during one call shares that call's scope as ``node.modules``, so tg.viz
    can tell two calls of one module apart (an RNN cell unrolled 100 times) by identity;
    ``parent`` is the scope of the enclosing call.
    """

    def __new__(cls, parent: tuple, module):
        scope = super().__new__(cls, (*parent, module))
        scope.parent = parent
        return scope


class GradState:
    """One thread's autograd state: grad mode, the running nn modules, and active tracers."""

    __slots__ = ("enabled", "module_stack", "quiet", "tracers")

    def __init__(self):
        self.enabled = True
        self.module_stack: tuple = ()  # a ModuleScope while a module's forward is running
        self.tracers: list = []  # tape observers (tg.viz.trace); empty means no cost
        self.quiet = quiet_context()  # runs plain forwards with numpy's warnings off


class _PerThread(threading.local):
    """Holds each thread's GradState: one thread-local read per op, then plain attributes."""

    def __init__(self):
        self.state = GradState()


PER_THREAD = _PerThread()


def current() -> GradState:
    """This thread's autograd state. Hot paths read ``PER_THREAD.state`` once instead."""
    return PER_THREAD.state


def is_grad_enabled() -> bool:
    """Return whether operations are being recorded. Same as ``torch.is_grad_enabled``."""
    return PER_THREAD.state.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager that also decorates functions."""

    _mode: bool

    def __enter__(self):
        state = PER_THREAD.state
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        PER_THREAD.state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class _NoArgGradMode(_GradModeContext):
    """A switch that also decorates without parentheses (``@tg.no_grad``), as torch 2 allows."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoArgGradMode):
    """Do not record operations inside the block. Same as ``torch.no_grad``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.ones(2, requires_grad=True)
        >>> with tg.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _mode = False


class enable_grad(_NoArgGradMode):
    """Record operations inside the block, even within ``no_grad``. Same as torch."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Switch recording on or off; takes effect at once or as a context. Same as torch."""

    def __init__(self, mode: bool):
        state = PER_THREAD.state
        self._prev = state.enabled
        self._mode = bool(mode)
        state.enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        PER_THREAD.state.enabled = self._prev
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
