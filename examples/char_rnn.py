"""A character-level LSTM reads a short text and then writes in its style, one letter at a time.

    python examples/char_rnn.py [OUT_DIR] [--text FILE]      (default: out/, examples/data/tiny.txt)

Training feeds random slices of the text and predicts each next character. Sampling is plain
Python: feed one character, keep the LSTM state, draw the next from the softmax at a
temperature, stop at the end of a sentence. The tape only records what ran, so a loop like
this needs nothing special.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn

TEXT = Path(__file__).resolve().parent / "data" / "tiny.txt"


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear: next-character logits at every position."""

    def __init__(self, vocab_size: int, embedding_dim: int = 16, hidden_size: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, state=None):
        output, state = self.lstm(self.embed(tokens), state)
        return self.head(output), state


def sample(model, chars: list[str], start: str, temperature: float = 0.8, max_len: int = 200):
    """Continue ``start`` until a full stop (or ``max_len`` characters), at ``temperature``."""
    index = {c: i for i, c in enumerate(chars)}
    generator = np.random.default_rng(0)
    model.eval()
    text, state = start, None
    with tg.no_grad():
        logits, state = model(tg.tensor([[index[c] for c in start]]), state)
        while len(text) < len(start) + max_len:
            probs = (logits[0, -1] / temperature).softmax(-1).numpy().astype(np.float64)
            char = chars[generator.choice(len(chars), p=probs / probs.sum())]
            text += char
            if char == ".":
                break
            logits, state = model(tg.tensor([[index[char]]]), state)
    model.train()
    return text


def main(out: str = "out", quick: bool = False, text_path: str | Path = TEXT) -> list[float]:
    """Train, print samples at two temperatures, plot the loss; return the per-step losses."""
    tg.manual_seed(0)
    text = Path(text_path).read_text(encoding="utf-8")
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text])
    print(f"{len(text)} characters, {len(chars)} distinct, from {text_path}")
    model = CharLSTM(len(chars))
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    batch, length = 16, 32
    generator = np.random.default_rng(0)
    history = tg.training.History()
    for step in range(40 if quick else 300):
        starts = generator.integers(0, len(data) - length - 1, size=batch)
        windows = np.stack([data[s : s + length + 1] for s in starts])
        inputs, targets = tg.tensor(windows[:, :-1]), tg.tensor(windows[:, 1:])
        optimizer.zero_grad()
        logits, _ = model(inputs)
        loss = loss_fn(logits.reshape(-1, len(chars)), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # LSTMs can have exploding steps
        optimizer.step()
        history.log_step(loss=loss.item())
        if (step + 1) % 20 == 0:
            history.end_epoch()
    print(f"loss {history.steps['loss'][0]:.3f} -> {history.epochs['loss'][-1]:.3f}")
    for temperature in (0.5, 1.0):
        print(f"temperature {temperature}: {sample(model, chars, 'The ', temperature)!r}")
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / "char_rnn_training.png"
    history.plot(path)
    print(f"wrote {path}")
    return history.steps["loss"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="out")
    parser.add_argument("--text", default=str(TEXT), help="a UTF-8 text file to learn from")
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    args = parser.parse_args()
    main(args.out, args.quick, args.text)
