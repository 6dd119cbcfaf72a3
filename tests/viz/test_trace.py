"""trace(): the recorded entries, source sites, saved memory, the summary table, its cost."""

from __future__ import annotations

import inspect
import math

import numpy as np

import tapegrad as tg
from tapegrad.autograd.grad_mode import current
from tapegrad.viz.trace import RECORDS, NodeRecord
from tests.viz.models import MLP


def test_tape_nodes_hold_op_inputs_outputs_module_and_source_line():
    tg.manual_seed(0)
    model = MLP(hidden=1)
    x = tg.randn(8, 2)
    with tg.viz.trace() as tape:
        line = inspect.currentframe().f_lineno + 1
        loss = model(x).sum()
    ops = [(e.op, e.module) for e in tape.nodes]
    assert ops == [
        ("Mul", "encoder.0"),  # x needs no grad, so its unsqueeze is not recorded
        ("Sum", "encoder.0"),
        ("Add", "encoder.0"),
        ("Tanh", "encoder.1"),
        ("Reshape", "head"),
        ("Mul", "head"),
        ("Sum", "head"),
        ("Add", "head"),
        ("Sum", None),
    ]
    mul = tape.nodes[0]
    assert mul.module_type == "Lin" and mul.params == ("encoder.0.weight",)
    assert [(i.shape, i.producer, i.name) for i in mul.inputs] == [
        ((8, 2, 1), None, None),
        ((2, 4), None, "encoder.0.weight"),
    ]
    assert mul.outputs == (((8, 2, 4), np.dtype("float32")),)
    assert tape.nodes[1].inputs[0].producer == 0
    assert tape.nodes[-1].node is loss.grad_fn
    assert all(e.source.endswith("models.py:" + e.source.rsplit(":")[-1]) for e in tape.nodes[:-1])
    assert tape.nodes[-1].source == f"{__file__}:{line}"


def test_saved_memory_per_node_and_in_total_counts_shared_arrays_once():
    x = tg.ones(4, dtype=tg.float32, requires_grad=True)
    w = tg.ones(4, dtype=tg.float64, requires_grad=True)
    with tg.viz.trace() as tape:
        a = x * x  # saves x twice: 16 bytes each, one array
        b = w.log()  # saves w (32 B) and its output (32 B)
        d = w.exp()  # saves its output alone (32 B)
        c = (a.reshape(2, 2).sum() + b.sum() + d.sum()).sum()
    saved = {e.op: e.saved_bytes for e in tape.nodes}
    assert saved["Mul"] == 32 and saved["Log"] == 64 and saved["Exp"] == 32
    assert saved["Add"] == 0
    assert tape.saved_bytes == 16 + 64 + 32
    assert repr(tape) == f"<Tape: {len(tape)} ops, 112 B saved>"
    c.backward()


def test_summary_is_a_table_with_totals():
    tg.manual_seed(0)
    model = MLP(hidden=1)
    with tg.viz.trace() as tape:
        model(tg.randn(8, 2)).sum()
    lines = tape.summary().splitlines()
    assert lines[0].split() == [
        "#",
        "op",
        "output",
        "inputs",
        "params",
        "module",
        "saved",
        "source",
    ]
    assert set(lines[1]) == {"-", " "}
    first = lines[2]
    for cell in ("Mul", "(8, 2, 4)", "(8, 2, 1), encoder.0.weight", "encoder.0 (Lin)", "96 B"):
        assert cell in first
    assert "#0" in lines[3] and "Tanh" in lines[5] and "encoder.1 (Act)" in lines[5]
    assert lines[-1] == (
        # Mul 96 (x view 64 + weight 32), Tanh 128 (its output only), head's Mul 16 (its
        # input is a view of Tanh's output, already counted)
        f"total: {len(tape)} ops, 4 parameters read, 240 B saved for backward "
        "(shared arrays counted once)"
    )


def test_function_form_returns_the_result_and_the_tape():
    x = tg.ones(3, requires_grad=True)
    out, tape = tg.viz.trace(lambda t: (t * 2).sum(), x)
    assert out.item() == 6.0 and [e.op for e in tape.nodes] == ["Mul", "Sum"]
    assert current().tracers == []


def test_nothing_is_recorded_outside_a_trace():
    x = tg.ones(3, requires_grad=True)
    y = (x * 2).sum()
    assert current().tracers == [] and y.grad_fn not in RECORDS
    y.backward()
    assert y.grad_fn not in RECORDS


def test_backward_keeps_norms_not_gradient_arrays():
    x = tg.tensor([3.0, 4.0], dtype=tg.float32, requires_grad=True)
    with tg.viz.trace():
        y = x * 1.0
        loss = (y * y).sum()
        loss.backward()
    record = RECORDS[y.grad_fn]
    assert isinstance(record, NodeRecord) and not hasattr(record, "__dict__")
    assert math.isclose(record.grad_norm, 10.0)  # d/dy sum(y^2) = 2y = (6, 8)
    assert math.isclose(record.input_norms[0], 10.0) and record.input_norms[1] is None
    values = [getattr(record, s) for s in NodeRecord.__slots__]
    assert all(isinstance(v, (float, int, str, tuple, bool, type(None))) for v in values)
    assert record.step == 3 and not record.made_nonfinite  # after Sum and y * y


def test_records_die_with_their_graph():
    x = tg.ones(2, requires_grad=True)
    with tg.viz.trace() as tape:
        (x * 2).sum()
    assert len(RECORDS) >= 2
    before = len(RECORDS)
    del tape
    assert len(RECORDS) == before - 2
