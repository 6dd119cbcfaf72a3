"""examples/char_rnn.py: an LSTM over the shipped text lowers its loss and samples text."""

from __future__ import annotations

import pytest

from tests.examples._load import load_example


def test_char_lstm_loss_decreases_and_it_samples(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    losses = load_example("char_rnn").main(str(tmp_path), quick=True)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.8  # from ~ln(48) = 3.9 (uniform guesses) towards letter frequencies
    assert "temperature 0.5: 'The " in capsys.readouterr().out
    assert (tmp_path / "char_rnn_training.png").read_bytes()[:4] == b"\x89PNG"
