"""The thread-local grad-mode switch: no_grad, enable_grad, set_grad_enabled, is_grad_enabled.

This per-thread state is the only global autograd state; the graph itself lives in the tensors.
"""

from __future__ import annotations

import functools
import threading


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


class _GradState(threading.local):
    """Per-thread autograd state: grad mode, the running nn modules, and active tracers."""

    enabled = True

    def __init__(self):
        self.module_stack: tuple = ()  # a ModuleScope while a module's forward is running
        self.tracers: list = []  # tape observers (tg.viz.trace); empty means no cost


STATE = _GradState()


def is_grad_enabled() -> bool:
    """Return whether operations are being recorded. Same as ``torch.is_grad_enabled``."""
    return STATE.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager that also decorates functions."""

    _mode: bool

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __exit__(self, *exc):
        STATE.enabled = self._prev

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
        self._prev = STATE.enabled
        self._mode = bool(mode)
        STATE.enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        STATE.enabled = self._prev
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
