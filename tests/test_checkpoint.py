"""Checkpoints never lose data: tg.save is atomic, and training resumes bit-identically.

- A save that fails midway (the writer raising after partial writes, an interrupt, a process
  killed during the write) leaves the previous checkpoint intact; a failure Python sees also
  leaves no temporary file behind.
- A run that checkpoints (model, optimizer, scheduler, RNG state) every N steps and resumes
  from a checkpoint in a fresh process state reaches exactly the parameters, optimizer state
  and learning rate of the uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.optim import lr_scheduler

# --- atomic save ---------------------------------------------------------------------------


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def previous(tmp_path) -> Path:
    path = tmp_path / "model.tg"
    tg.save({"version": 1, "w": tg.ones(1000)}, path)
    return path


def _assert_previous_intact(path: Path) -> None:
    loaded = tg.load(path)
    assert loaded["version"] == 1
    assert loaded["w"].tolist() == [1.0] * 1000


@pytest.mark.parametrize(
    "error", [OSError("No space left on device"), KeyboardInterrupt()], ids=["disk full", "^C"]
)
def test_a_writer_failing_after_partial_writes_keeps_the_previous_checkpoint(
    previous, monkeypatch, error
):
    real_writestr = zipfile.ZipFile.writestr
    calls = []

    def failing_writestr(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:  # two arrays are already in the temporary file
            raise error
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    new = {"version": 2, "a": tg.zeros(1000), "b": tg.zeros(10), "c": tg.zeros(10)}
    with pytest.raises(type(error)):
        tg.save(new, previous)
    assert len(calls) == 3
    monkeypatch.undo()
    _assert_previous_intact(previous)
    assert _files(previous.parent) == ["model.tg"]  # no temporary file left behind


def test_save_writes_a_complete_file_beside_the_target_then_renames_it(tmp_path, monkeypatch):
    """The order that makes the save atomic: the whole archive goes to a temporary file in
    the target's folder (a rename across file systems would copy), is fsynced, and only then
    replaces the target."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def spying_fsync(fd):
        events.append("fsync")
        return real_fsync(fd)

    def spying_replace(src, dst):
        events.append(("replace", Path(src), Path(dst), zipfile.is_zipfile(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spying_fsync)
    monkeypatch.setattr(os, "replace", spying_replace)
    path = tmp_path / "model.tg"
    tg.save({"w": tg.ones(3)}, path)
    assert len(events) == 2 and events[0] == "fsync"
    _, src, dst, complete = events[1]
    assert dst == path and src.parent == path.parent and src.name.startswith(".tapegrad-")
    assert complete, "the target was replaced by an unfinished archive"
    assert _files(tmp_path) == ["model.tg"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file permissions")
def test_save_leaves_the_permissions_open_would(tmp_path):
    """A new checkpoint gets the umask's permissions (not a temporary file's 0o600), and an
    overwritten one keeps its own, as with torch.save."""
    path = tmp_path / "model.tg"
    tg.save({"version": 1}, path)
    (tmp_path / "plain").write_bytes(b"")
    assert _mode(path) == _mode(tmp_path / "plain")
    os.chmod(path, 0o640)
    tg.save({"version": 2}, path)
    assert _mode(path) == 0o640
    assert tg.load(path) == {"version": 2}


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_a_failing_rename_keeps_the_previous_checkpoint(previous, monkeypatch):
    def failing_replace(src, dst):
        raise PermissionError("target is locked")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        tg.save({"version": 2}, previous)
    monkeypatch.undo()
    _assert_previous_intact(previous)
    assert _files(previous.parent) == ["model.tg"]


_SAVER = textwrap.dedent(
    """
    import sys
    import tapegrad as tg

    path = sys.argv[1]
    version = 0
    while True:
        version += 1
        # every element equals the version: a mix of two saves would show
        tg.save({"version": version, "w": tg.full((1_000_000,), float(version))}, path)
        print(version, flush=True)
    """
)


def _saver(path: Path) -> subprocess.Popen:
    """A process saving new versions of ``path`` as fast as it can, once it has saved two
    (a context manager: leaving it waits for the process and closes its pipe)."""
    env = {**os.environ, "PYTHONPATH": str(Path(tg.__file__).parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    for _ in range(2):
        assert process.stdout.readline(), "the saving process died"
    return process


def _assert_one_complete_version(path: Path) -> None:
    loaded = tg.load(path)
    w = loaded["w"].numpy()
    assert w.shape == (1_000_000,)
    assert (w == loaded["version"]).all(), "the checkpoint mixes two saves"


def test_killing_the_process_mid_save_keeps_a_complete_checkpoint(tmp_path):
    """SIGKILL at varied moments until one lands inside a save (its temporary file is left
    behind: nothing runs after SIGKILL); after every kill the checkpoint is one whole save."""
    mid_save = 0
    for attempt in range(10):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        path = folder / "model.tg"
        with _saver(path) as process:
            time.sleep(0.007 * (attempt % 5))
            process.kill()
        _assert_one_complete_version(path)
        leftovers = [n for n in _files(folder) if n != "model.tg"]
        assert all(n.startswith(".tapegrad-") for n in leftovers), leftovers
        mid_save += bool(leftovers)
        if mid_save and attempt >= 2:
            break
    assert mid_save, "no kill landed inside a save"  # ~70% of kills do: this never happens


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_interrupting_the_process_mid_save_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "model.tg"
    with _saver(path) as process:
        time.sleep(0.02)
        process.send_signal(signal.SIGINT)  # KeyboardInterrupt, wherever the save is
        process.wait(timeout=30)
    _assert_one_complete_version(path)
    assert _files(tmp_path) == ["model.tg"]


# --- resuming a training run ------------------------------------------------------------------


class MLP(tg.nn.Module):
    """A small classifier written with Parameters and matmul; dropout draws from the RNG."""

    def __init__(self):
        super().__init__()
        self.w1 = tg.nn.Parameter(tg.randn(4, 16) * 0.5)
        self.b1 = tg.nn.Parameter(tg.zeros(16))
        self.w2 = tg.nn.Parameter(tg.randn(16, 3) * 0.5)
        self.b2 = tg.nn.Parameter(tg.zeros(3))

    def forward(self, x):
        hidden = F.dropout((x @ self.w1 + self.b1).tanh(), p=0.2, training=True)
        return hidden @ self.w2 + self.b2


def _cross_entropy(logits, onehot):
    log_probs = logits - logits.logsumexp(1, keepdim=True)
    return -(log_probs * onehot).sum(1).mean()


def _data():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return tg.from_numpy(x), tg.from_numpy(np.eye(3, dtype=np.float32)[labels])


def _fresh(seed: int):
    """Model, optimizer and scheduler as a new process would build them (before loading)."""
    tg.manual_seed(seed)
    model = MLP()
    optimizer = tg.optim.Adam(model.parameters(), lr=0.05)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.5)
    return model, optimizer, scheduler


def _train(run, start: int, stop: int, checkpoints: Path | None = None, every: int = 0):
    """Steps ``start`` to ``stop``: a shuffled minibatch (RNG), dropout (RNG), Adam, StepLR."""
    model, optimizer, scheduler = run
    x, onehot = _data()
    for step in range(start, stop):
        batch = tg.randperm(60)[:16]
        loss = _cross_entropy(model(x[batch]), onehot[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if checkpoints is not None and (step + 1) % every == 0:
            state = {
                "step": step + 1,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": tg.get_rng_state(),
            }
            tg.save(state, checkpoints / f"step{step + 1}.tg")


def _resume(path: Path):
    """What a restarted process does: build everything afresh, then load the checkpoint."""
    run = _fresh(seed=999)  # another seed: nothing may depend on the new process's draws
    model, optimizer, scheduler = run
    state = tg.load(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    tg.set_rng_state(state["rng"])
    return run, state["step"]


def _snapshot(run) -> dict:
    model, optimizer, scheduler = run
    params = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    moments = {
        f"{i}.{k}": v.numpy().copy()
        for i, s in optimizer.state_dict()["state"].items()
        for k, v in s.items()
    }
    return {**params, **moments, "lr": np.array(scheduler.get_last_lr())}


def _assert_bit_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key, strict=True)


TOTAL = 30


@pytest.fixture(scope="module")
def uninterrupted() -> dict:
    run = _fresh(seed=0)
    _train(run, 0, TOTAL)
    return _snapshot(run)


@pytest.mark.parametrize("resume_at", [10, 20])
def test_resuming_from_a_checkpoint_is_bit_identical(tmp_path, uninterrupted, resume_at):
    crashed = _fresh(seed=0)
    _train(crashed, 0, resume_at + 3, checkpoints=tmp_path, every=10)  # dies 3 steps later
    del crashed
    run, step = _resume(tmp_path / f"step{resume_at}.tg")
    assert step == resume_at
    _train(run, step, TOTAL)
    _assert_bit_identical(_snapshot(run), uninterrupted)


def test_resuming_twice_in_a_row_is_bit_identical(tmp_path, uninterrupted):
    first = _fresh(seed=0)
    _train(first, 0, 10, checkpoints=tmp_path, every=10)
    second, step = _resume(tmp_path / "step10.tg")
    _train(second, step, 20, checkpoints=tmp_path, every=10)
    third, step = _resume(tmp_path / "step20.tg")
    _train(third, step, TOTAL)
    _assert_bit_identical(_snapshot(third), uninterrupted)


def test_without_the_rng_state_the_resumed_run_differs(tmp_path, uninterrupted):
    """The RNG state is what makes the difference: dropout and shuffling draw from it."""
    _train(_fresh(seed=0), 0, 10, checkpoints=tmp_path, every=10)
    run, step = _resume(tmp_path / "step10.tg")
    tg.manual_seed(12345)  # as if the checkpoint had no RNG state
    _train(run, step, TOTAL)
    assert not np.array_equal(_snapshot(run)["w1"], uninterrupted["w1"])


def _train_epochs(run, start: int, stop: int, checkpoints: Path | None = None):
    """Epochs over a shuffling DataLoader (its order is drawn from the RNG at each epoch's
    start), checkpointing after every second epoch."""
    model, optimizer, scheduler = run
    loader = tg.utils.data.DataLoader(
        tg.utils.data.TensorDataset(*_data()), batch_size=16, shuffle=True
    )
    for epoch in range(start, stop):
        for x, onehot in loader:
            loss = _cross_entropy(model(x), onehot)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        if checkpoints is not None and (epoch + 1) % 2 == 0:
            state = {
                "step": epoch + 1,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": tg.get_rng_state(),
            }
            tg.save(state, checkpoints / f"epoch{epoch + 1}.tg")


def test_resuming_a_shuffling_dataloader_at_an_epoch_boundary_is_bit_identical(tmp_path):
    """A DataLoader draws each epoch's order when the epoch starts, so checkpoints taken
    between epochs resume exactly."""
    whole = _fresh(seed=0)
    _train_epochs(whole, 0, 9)
    _train_epochs(_fresh(seed=0), 0, 5, checkpoints=tmp_path)  # crashes during epoch 6
    run, epoch = _resume(tmp_path / "epoch4.tg")
    assert epoch == 4
    _train_epochs(run, epoch, 9)
    _assert_bit_identical(_snapshot(run), _snapshot(whole))


SCHEDULERS = {
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.3),
    "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
    "LambdaLR": lambda opt: lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + epoch)),
    "OneCycleLR": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=12),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_scheduler_state_survives_save_and_load(tmp_path, name):
    def build():
        w = tg.nn.Parameter(tg.ones(2))
        optimizer = tg.optim.Adam([w], lr=0.1)
        return optimizer, SCHEDULERS[name](optimizer)

    optimizer, scheduler = build()
    lrs = []
    for step in range(11):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        if step == 4:
            tg.save(
                {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                tmp_path / "s.tg",
            )
    optimizer, scheduler = build()
    state = tg.load(tmp_path / "s.tg")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    resumed = []
    for _ in range(5, 11):
        optimizer.step()
        scheduler.step()
        resumed.append(scheduler.get_last_lr())
    assert resumed == lrs[5:]


def test_reduce_lr_on_plateau_state_survives_save_and_load(tmp_path):
    def build():
        optimizer = tg.optim.SGD([tg.nn.Parameter(tg.ones(2))], lr=1.0)
        return optimizer, lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, factor=0.5)

    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7, 0.8]
    optimizer, scheduler = build()
    for metric in metrics[:4]:
        scheduler.step(metric)
    tg.save({"o": optimizer.state_dict(), "s": scheduler.state_dict()}, tmp_path / "p.tg")
    reference = []
    for metric in metrics[4:]:
        scheduler.step(metric)
        reference.append(scheduler.get_last_lr())
    optimizer, scheduler = build()
    state = tg.load(tmp_path / "p.tg")
    optimizer.load_state_dict(state["o"])
    scheduler.load_state_dict(state["s"])
    resumed = []
    for metric in metrics[4:]:
        scheduler.step(metric)
        resumed.append(scheduler.get_last_lr())
    assert resumed == reference


def test_rng_state_round_trips_through_save(tmp_path):
    tg.manual_seed(7)
    tg.rand(3)
    tg.save({"rng": tg.get_rng_state()}, tmp_path / "r.tg")
    expected = tg.randn(5).tolist() + tg.rand(3, dtype=tg.float32).tolist()
    tg.manual_seed(0)
    tg.set_rng_state(tg.load(tmp_path / "r.tg")["rng"])
    assert tg.randn(5).tolist() + tg.rand(3, dtype=tg.float32).tolist() == expected


def test_set_rng_state_rejects_what_get_rng_state_did_not_return():
    with pytest.raises(TypeError, match="uint8 Tensor"):
        tg.set_rng_state([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"shape \(38,\)"):
        tg.set_rng_state(tg.zeros(38))
    with pytest.raises(RuntimeError, match="not a state"):
        tg.set_rng_state(tg.zeros(38, dtype=tg.uint8))
