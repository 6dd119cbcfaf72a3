"""save/load: round trips, no code execution, clear errors on foreign or damaged files."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.serialization import SerializationError


def test_save_load_round_trip_keeps_structure_dtypes_and_flags(tmp_path):
    state = OrderedDict(
        weight=tg.nn.Parameter(tg.randn(3, 2)),
        running=tg.arange(4),
        step=7,
        lr=1e-3,
        betas=(0.9, 0.999),
        groups=[{"params": [0, 1], "nesterov": False, "name": None}],
        per_param={0: {"momentum": tg.ones(2, dtype=tg.float64)}},
        inf=float("inf"),
    )
    path = tmp_path / "state.tg"
    tg.save(state, path)
    loaded = tg.load(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(state)
    assert isinstance(loaded["weight"], tg.nn.Parameter) and loaded["weight"].requires_grad
    np.testing.assert_array_equal(
        loaded["weight"].detach().numpy(), state["weight"].detach().numpy()
    )
    assert loaded["running"].dtype == tg.int64
    assert loaded["per_param"][0]["momentum"].dtype == tg.float64
    assert loaded["betas"] == (0.9, 0.999) and loaded["step"] == 7 and loaded["inf"] == float("inf")
    assert loaded["groups"] == state["groups"]


def test_save_shared_tensor_is_stored_once_and_loaded_shared(tmp_path):
    t = tg.ones(3)
    tg.save({"a": t, "b": t}, tmp_path / "s.tg")
    loaded = tg.load(tmp_path / "s.tg")
    assert loaded["a"]._data is loaded["b"]._data


def test_load_pickle_file_raises_without_running_it(tmp_path):
    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("pickle payload was executed",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(SerializationError, match="not a tapegrad save file"):
        tg.load(path)


def test_load_truncated_file_raises(tmp_path):
    path = tmp_path / "t.tg"
    tg.save({"w": tg.randn(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError):
        tg.load(path)


def test_save_rejects_objects_that_are_not_data(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type function"):
        tg.save({"f": lambda: 0}, tmp_path / "f.tg")


def test_save_is_atomic_when_encoding_fails(tmp_path):
    path = tmp_path / "keep.tg"
    tg.save({"w": tg.ones(2)}, path)
    with pytest.raises(TypeError):
        tg.save({"w": object()}, path)
    assert tg.load(path)["w"].tolist() == [1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tg"]


def test_save_load_keeps_zero_dim_tensors_zero_dim(tmp_path):
    tg.save({"step": tg.tensor(3.0)}, tmp_path / "s.tg")
    assert tg.load(tmp_path / "s.tg")["step"].shape == ()


def test_save_writes_through_a_symlink(tmp_path):
    """As open() and torch.save: the link stays a link, its target gets the checkpoint."""
    target = tmp_path / "real.tg"
    link = tmp_path / "link.tg"
    tg.save({"a": tg.tensor([1.0])}, target)
    link.symlink_to(target)
    tg.save({"a": tg.tensor([2.0])}, link)
    assert link.is_symlink()
    assert tg.load(target)["a"].tolist() == [2.0]
