"""The rule table: ``@rule(FunctionClass)`` (or a plain op's registry name) on a translator.

A rule gets the GraphBuilder and the recorded Call and returns the value names of the op's
outputs (None for an output ONNX has no counterpart for). ``translate`` checks the call
against its runs at other sizes first (``Context.prepare``), then runs the rule.
"""

from __future__ import annotations

import inspect

RULES: dict = {}  # Function class or plain op name -> (translator, sized argument positions)


def rule(*keys, sized: tuple = ()):
    """Register the decorated function as the rule for each Function class or op name.

    ``sized`` lists the positional arguments holding sizes (reshape's shape, a slice's
    bounds) that the rule reads through ``call.sym`` so that they may follow dynamic axes.
    """

    def decorate(fn):
        for key in keys:
            if key in RULES:
                raise ValueError(f"tg.onnx: two rules for {key!r}")
            RULES[key] = (fn, tuple(sized))
        return fn

    return decorate


def translate(ctx, call) -> None:
    """Write ``call``'s nodes and bind its outputs' value names."""
    entry = RULES.get(call.fn)
    if entry is None:
        raise NotImplementedError(
            f"tg.onnx.export: no ONNX mapping for op {call.name} ({call.where()})"
        )
    fn, sized = entry
    names = ctx.names
    reason = names.missing_among((*call.args, *call.kwargs.values()))
    if reason is not None:  # computed from a value the graph lacks: lacking too
        for out in call.outputs:
            names.missing(out, reason)
        return
    ctx.prepare(call, sized)
    result = fn(ctx.graph, call)
    values = [result] if isinstance(result, str) else list(result)
    for k, (out, value) in enumerate(zip(call.outputs, values)):
        if value is None:
            names.missing(out, f"output {k} of {call.name} ({call.where()})")
        else:
            names.bind(out, value)


def arguments(call) -> dict:
    """A plain op's arguments by parameter name, defaults filled in (as its signature)."""
    from tapegrad.ops.registry import REGISTRY

    signature = inspect.signature(REGISTRY[call.fn].public_fn)
    bound = signature.bind(*call.args, **call.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)
