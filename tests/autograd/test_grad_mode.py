"""Grad mode: no_grad, enable_grad, set_grad_enabled as contexts and decorators, per thread."""

from __future__ import annotations

import threading

import pytest

import tapegrad as tg


@pytest.fixture
def x():
    return tg.ones(2, requires_grad=True)


def test_no_grad_context_records_nothing(x):
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad
    assert y.grad_fn is None


def test_no_grad_decorator(x):
    @tg.no_grad()
    def double(a):
        """Doc kept."""
        return a * 2

    assert not double(x).requires_grad
    assert tg.is_grad_enabled()
    assert double.__name__ == "double"
    assert double.__doc__ == "Doc kept."


def test_no_grad_decorator_without_parentheses(x):
    @tg.no_grad
    def double(a):
        return a * 2

    assert not double(x).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_restores_mode_after_exception(x):
    with pytest.raises(ValueError, match=r"boom"), tg.no_grad():
        raise ValueError("boom")
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad(x):
    with tg.no_grad():
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad(x):
    @tg.enable_grad()
    def double(a):
        return a * 2

    @tg.enable_grad
    def triple(a):
        return a * 3

    with tg.no_grad():
        assert double(x).requires_grad
        assert triple(x).requires_grad
        assert not tg.is_grad_enabled()


def test_no_grad_nested_restores_each_level(x):
    with tg.no_grad():
        with tg.no_grad():
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
        with tg.enable_grad(), tg.no_grad():
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_context(x, mode):
    with tg.no_grad():
        with tg.set_grad_enabled(mode):
            assert tg.is_grad_enabled() is mode
            assert (x * 2).requires_grad is mode
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_function(x):
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_set_grad_enabled_decorator(x):
    @tg.set_grad_enabled(False)
    def double(a):
        return a * 2

    assert tg.is_grad_enabled()  # decorating does not switch the mode
    assert not double(x).requires_grad
    assert tg.is_grad_enabled()


def test_grad_mode_is_thread_local(x):
    entered = threading.Event()
    release = threading.Event()
    seen = {}

    def worker():
        with tg.no_grad():
            seen["worker"] = tg.is_grad_enabled()
            entered.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        # the worker is inside no_grad right now; this thread still records
        assert tg.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        release.set()
        thread.join()
    assert seen["worker"] is False


def test_grad_mode_new_thread_starts_enabled():
    seen = {}

    def worker():
        seen["worker"] = tg.is_grad_enabled()

    with tg.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen["worker"] is True
