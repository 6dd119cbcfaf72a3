"""tg.load on truncated, corrupted, foreign and hostile files: always a SerializationError
with a clear message, never code run from the file, never an absurd allocation.

The fuzzing is seeded (numpy's generator), so every run tries the same damaged files.
"""

from __future__ import annotations

import io
import json
import pickle
import tracemalloc
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.serialization import SerializationError

# what load may allocate for any file here: the small real checkpoint below needs ~100 kB
MEMORY_LIMIT = 16 * 2**20


class Payload:
    """A pickle whose unpickling would run code: it creates the file ``target``."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def _checkpoint() -> dict:
    """A small but complete checkpoint: model, optimizer state, scheduler, RNG, metadata."""
    tg.manual_seed(0)
    w = tg.nn.Parameter(tg.randn(4, 3))
    b = tg.nn.Parameter(tg.zeros(3))
    opt = tg.optim.Adam([w, b], lr=0.01)
    (tg.randn(2, 4) @ w + b).sum().backward()
    opt.step()
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2)
    return {
        "model": OrderedDict(w=w, b=b),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "rng": tg.get_rng_state(),
        "epoch": 3,
        "history": [1.5, float("nan"), float("inf")],
        "note": "checkpoint",
    }


@pytest.fixture(scope="module")
def saved() -> bytes:
    buffer = io.BytesIO()
    tg.save(_checkpoint(), buffer)
    return buffer.getvalue()


def _load(data: bytes, sentinel: Path | None = None):
    """Load ``data``; return the object or the SerializationError, checking the contract."""
    tracemalloc.start()
    try:
        result = tg.load(io.BytesIO(data))
    except SerializationError as error:
        result = error
        assert str(error).startswith("load: "), str(error)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"load allocated {peak} bytes for a {len(data)}-byte file"
    if sentinel is not None:
        assert not sentinel.exists(), "load ran code from the file"
    return result


def _zip(members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def _meta(root) -> str:
    return json.dumps({"format": "tapegrad.save", "version": 1, "root": root})


def _meta_text(root: str) -> str:
    """A description whose root is the JSON text ``root``, which may be too big for json."""
    return '{"format": "tapegrad.save", "version": 1, "root": ' + root + "}"


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _forged_npy(shape: tuple, descr: str = "<f8", fortran: bool = False) -> bytes:
    """An .npy header declaring ``shape`` followed by a few bytes: a lie about its size."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    buffer.write(b"\0" * 64)
    return buffer.getvalue()


def _with_array(npy: bytes, **entry) -> bytes:
    return _zip({"__tapegrad__.json": _meta({"__array__": "a0", **entry}), "a0.npy": npy})


# --- a real file, damaged ------------------------------------------------------------------


def test_the_checkpoint_round_trips(saved):
    loaded = _load(saved)
    assert not isinstance(loaded, SerializationError)
    assert list(loaded) == list(_checkpoint())


def test_every_truncation_raises(saved):
    for length in range(0, len(saved), max(1, len(saved) // 300)):
        result = _load(saved[:length])
        assert isinstance(result, SerializationError), f"truncated to {length} bytes: {result!r}"


def test_random_byte_flips_raise_or_change_nothing(saved):
    rng = np.random.default_rng(8)
    original = _load(saved)
    for trial in range(300):
        data = bytearray(saved)
        for position in rng.integers(0, len(data), size=rng.integers(1, 4)):
            data[position] ^= int(rng.integers(1, 256))
        result = _load(bytes(data))
        if not isinstance(result, SerializationError):
            # a flip in bytes load never reads (zip comments, padding): the same content
            assert _same(result, original), f"flip trial {trial} loaded different data"


def _same(a, b) -> bool:
    if isinstance(a, tg.Tensor):
        return isinstance(b, tg.Tensor) and np.array_equal(
            a.detach().numpy(), b.detach().numpy(), equal_nan=True
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return a == b


def test_mutated_descriptions_raise_clearly_or_load(saved):
    """Random edits of the JSON description (each node replaced by a value of another type)
    either load or raise a SerializationError; never another exception."""
    with zipfile.ZipFile(io.BytesIO(saved)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(members["__tapegrad__.json"])
    rng = np.random.default_rng(3)
    for _ in range(300):
        mutated = json.loads(json.dumps(meta))
        _replace_random_node(mutated, rng, REPLACEMENTS)
        data = _zip({**members, "__tapegrad__.json": json.dumps(mutated)})
        _load(data)  # the contract is checked inside: SerializationError or a result


# what a mutation puts in place of a node: every JSON type and each entry kind, broken
REPLACEMENTS = [
    None,
    True,
    7,
    -1,
    2.5,
    10**30,
    "a0",
    "",
    [],
    {},
    [1, [2]],
    {"__array__": "a0"},
    {"__array__": "a0", "kind": "ndarray"},
    {"__array__": "a0", "kind": "parameter", "requires_grad": True},
    {"__array__": "a0", "kind": "tensor", "requires_grad": None},
    {"__array__": "missing", "kind": "tensor"},
    {"__dict__": [[1]]},
    {"__dict__": [[[], 1]]},
    {"__dict__": [], "ordered": 5},
    {"__tuple__": "abc"},
    {"__float__": "nan"},
    {"__float__": 5},
]


def _replace_random_node(tree, rng, replacements) -> None:
    """Replace one value somewhere inside ``tree`` (a dict or list) in place."""
    node = tree
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = keys[int(rng.integers(len(keys)))]
        child = node[key]
        if isinstance(child, (dict, list)) and child and rng.random() < 0.7:
            node = child
            continue
        node[key] = replacements[int(rng.integers(len(replacements)))]
        return


# --- foreign files ---------------------------------------------------------------------------


def test_a_zip_without_our_description(tmp_path):
    result = _load(_zip({"weights.npy": _npy(np.ones(3))}))
    assert "not written by tapegrad.save" in str(result)


def test_a_numpy_npz(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, w=np.ones(3))
    assert "not written by tapegrad.save" in str(_load(path.read_bytes()))


def test_a_numpy_npz_with_a_pickled_object_array_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(sentinel)
    path = tmp_path / "evil.npz"
    np.savez(path, w=evil)  # numpy pickles object arrays
    assert isinstance(_load(path.read_bytes(), sentinel), SerializationError)
    # and with our description naming the pickled array: refused by dtype, not unpickled
    forged = _with_array(_npy(evil, allow_pickle=True), kind="tensor")
    assert "dtype object" in str(_load(forged, sentinel))


def test_numpy_never_unpickles_even_if_the_dtype_check_were_fooled(tmp_path, monkeypatch):
    """Two locks on pickles: load refuses object dtypes from the header, and reads arrays with
    allow_pickle=False. Make the first lie (the header reader reports float64), and the
    second must still refuse the object array without running it."""
    sentinel = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = Payload(sentinel)
    real_header = np.lib.format.read_array_header_1_0

    def lying_header(fp, *args, **kwargs):
        shape, fortran, dtype = real_header(fp, *args, **kwargs)
        return shape, fortran, (np.dtype(np.float64) if dtype.hasobject else dtype)

    monkeypatch.setattr(np.lib.format, "read_array_header_1_0", lying_header)
    forged = _with_array(_npy(evil, allow_pickle=True), kind="tensor")
    assert "Object arrays cannot be loaded" in str(_load(forged, sentinel))


def test_a_pickle_payload_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    data = pickle.dumps({"state": Payload(sentinel)})
    assert "not a tapegrad save file" in str(_load(data, sentinel))
    # also as the description inside an otherwise valid archive
    assert isinstance(_load(_zip({"__tapegrad__.json": data}), sentinel), SerializationError)


def test_a_torch_checkpoint(tmp_path, torch):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, path)
    assert "not written by tapegrad.save" in str(_load(path.read_bytes()))


def test_a_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nowhere.tg")


def test_files_that_are_not_archives(tmp_path):
    for data in [b"", b"PK", b"PK\x03\x04" + b"\0" * 100, b"\x93NUMPY", b"{}", b"\x80\x04."]:
        assert isinstance(_load(data), SerializationError), data


# --- hostile files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [(10**12,), (10**6, 10**6), (2**62, 2**62), (0, 2**63 - 1), (-5,), (3, -1)],
    ids=["10^12", "10^6 x 10^6", "overflowing product", "0 x huge", "negative", "-1"],
)
def test_a_forged_huge_shape_allocates_nothing(shape):
    result = _load(_with_array(_forged_npy(shape), kind="tensor"))
    assert isinstance(result, SerializationError)
    assert "a0" in str(result)


@pytest.mark.parametrize(
    "descr",
    ["|O", "<U10", "|V8", "<M8[s]", "<c16", "[('a', '<f8')]"],
    ids=["object", "unicode", "void", "datetime", "complex", "structured"],
)
def test_array_dtypes_tapegrad_does_not_store_are_refused(descr):
    header = io.BytesIO()
    descr_value = [("a", "<f8")] if descr.startswith("[") else descr
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr_value, "fortran_order": False, "shape": (1,)}
    )
    header.write(b"\0" * 16)
    result = _load(_with_array(header.getvalue(), kind="tensor"))
    assert isinstance(result, SerializationError) and "dtype" in str(result)


def test_a_malformed_npy_header_raises():
    for npy in [b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8'}    \n", b"\x93NUMPY\x09\x00", b"nope"]:
        assert isinstance(_load(_with_array(npy, kind="tensor")), SerializationError)


def test_an_array_with_less_data_than_its_header_declares():
    npy = _npy(np.arange(10.0))
    assert isinstance(_load(_with_array(npy[:-16], kind="tensor")), SerializationError)


def test_a_big_endian_array_loads_as_native():
    loaded = _load(_with_array(_npy(np.arange(3, dtype=">f8")), kind="tensor"))
    assert loaded.dtype == tg.float64
    assert (loaded + 1).tolist() == [1.0, 2.0, 3.0]


def test_a_compressed_description_bomb_is_refused_early():
    padding = " " * (16 * 2**20)  # 16 MiB of spaces, about 16 kB compressed
    bomb = '{"format": "tapegrad.save", "version": 1, "root": 1' + padding + "}"
    data = _zip({"__tapegrad__.json": bomb}, compression=zipfile.ZIP_DEFLATED)
    assert len(data) < 2**20
    assert "forged" in str(_load(data))


def test_a_compressed_description_under_the_size_limit_is_refused():
    """3 MiB of "[]," (under the 4 MiB limit) deflate to 3 kB and would parse into ~130 MB
    of lists: a description may not be larger than the whole file."""
    containers = "[" + "[]," * 2**20 + "[]]"
    bomb = _zip({"__tapegrad__.json": _meta_text(containers)}, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 2**14
    assert "forged" in str(_load(bomb))


def test_a_stored_description_over_the_limit_is_refused():
    padding = " " * (4 * 2**20)  # a real 4 MiB file: the file's size does not bound it
    assert "forged" in str(_load(_zip({"__tapegrad__.json": _meta_text("1" + padding)})))


def test_a_stored_description_costs_memory_in_proportion_to_the_file():
    """The worst a description can do is many tiny containers: each byte of the file parses
    into at most a few dozen bytes of Python objects."""
    data = _zip({"__tapegrad__.json": _meta_text("[" + "[]," * 2**15 + "[]]")})
    tracemalloc.start()
    try:
        assert isinstance(tg.load(io.BytesIO(data)), list)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * len(data), f"{peak} bytes to load a {len(data)}-byte description"


def test_a_compressed_array_bomb_is_refused_early():
    zeros = np.zeros(50 * 2**20 // 8)  # 50 MiB of zeros, about 50 kB compressed
    data = _zip(
        {"__tapegrad__.json": _meta({"__array__": "a0", "kind": "tensor"}), "a0.npy": _npy(zeros)},
        compression=zipfile.ZIP_DEFLATED,
    )
    assert "truncated or forged" in str(_load(data))


def _nested(depth: int):
    root: list = []
    node = root
    for _ in range(depth):
        child: list = []
        node.append(child)
        node = child
    return root


@pytest.mark.parametrize(
    "description",
    [
        '{"format": "tapegrad.save", "version": 1, "root": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"format": "tapegrad.save", "version": 1, "root": ' + "9" * 100_000 + "}",
        '{"format": "tapegrad.save", "version": 1, "root": NaN}',
        '{"format": "tapegrad.save", "version": 2, "root": 1}',
        '{"format": "torch", "version": 1, "root": 1}',
        '{"version": 1, "root": 1}',
        '{"format": "tapegrad.save", "version": 1}',
        "[1, 2, 3]",
        "not json",
        b"\xff\xfe\x00",
        _meta({"__tuple__": "abc"}),
        _meta({"__dict__": 5}),
        _meta({"__dict__": [[[1], 2]]}),
        _meta({"__float__": "1e999"}),
        _meta({"__array__": 5, "kind": "tensor"}),
        _meta({"__array__": "a0", "kind": "module"}),
        _meta({"__array__": "a0", "kind": "tensor"}),
        _meta({"__unknown__": 1}),
        _meta(_nested(150)),
    ],
    ids=[
        "deep JSON",
        "huge integer",
        "NaN literal",
        "future version",
        "other format",
        "no format",
        "no root",
        "a list",
        "not JSON",
        "not UTF-8",
        "tuple of a string",
        "mapping not a list",
        "unhashable key",
        "float text",
        "array key not a string",
        "unknown kind",
        "missing array",
        "unknown entry",
        "nested 150 deep",
    ],
)
def test_hostile_descriptions_raise_clearly(description):
    assert isinstance(_load(_zip({"__tapegrad__.json": description})), SerializationError)


def test_metadata_that_contradicts_the_array_raises():
    ints = _npy(np.arange(3))
    for entry in [
        {"kind": "tensor", "requires_grad": True},  # an int tensor cannot require grad
        {"kind": "parameter", "requires_grad": True},
        {"kind": "tensor", "requires_grad": "yes"},  # not a bool
    ]:
        result = _load(_with_array(ints, **entry))
        assert isinstance(result, SerializationError) and "requires_grad" in str(result)
