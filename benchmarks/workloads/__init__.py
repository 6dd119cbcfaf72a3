"""The suite's six workloads, keyed by their ``--only`` name, in the issue's order."""

from __future__ import annotations

from benchmarks.workloads import cnn, elementwise, mlp, rnn, tiny_mlp

WORKLOADS = {
    work.name: work
    for work in (elementwise.OPS, mlp.MLP, cnn.CNN, rnn.RNN, elementwise.CHAIN, tiny_mlp.TINY_MLP)
}
