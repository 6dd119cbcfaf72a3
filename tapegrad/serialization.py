"""save/load: tensors, state dicts and optimizer state in a format that runs no code on load.

A file is a zip (numpy's ``.npz``) of plain arrays plus one JSON document describing how they
fit together (dicts, lists, tuples, numbers, strings, tensors). Loading uses
``allow_pickle=False``, so a file can never execute anything.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import zipfile
from collections import OrderedDict

import numpy as np

from tapegrad.tensor import Tensor, _make

FORMAT = "tapegrad.save"
VERSION = 1
_META = "__tapegrad__.json"  # the archive member holding the structure
_MAX_DEPTH = 100
# The description holds structure only (arrays are separate members), a few dozen bytes per
# entry: 4 MiB is far beyond any real state dict, and reading stops there, so a compressed
# "zip bomb" description cannot make load allocate gigabytes.
_MAX_META_BYTES = 4 * 2**20
# What zipfile and numpy's .npy reader raise on damaged bytes: a bad CRC or header, a
# "compression method" or "zip version" that a flipped byte invented (NotImplementedError),
# an "encrypted" flag (RuntimeError), a size past the end of the file, a bad .npy header.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    RuntimeError,
    OSError,
    EOFError,
    ValueError,
)


class SerializationError(RuntimeError):
    """A file that is not a tapegrad save, is damaged, or describes something impossible."""


def save(obj, f) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, None, and dicts/lists/tuples of them).

    Same as ``torch.save``. Writing to a path is atomic: the data goes to a temporary file
    beside the target, which then replaces it, so a crash never leaves a half-written file.
    """
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(obj, arrays, {}, 0)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "root": structure})
    if isinstance(f, (str, os.PathLike)):
        _save_atomic(os.fspath(f), arrays, meta)
    else:
        _write_archive(f, arrays, meta)


def _save_atomic(path: str, arrays: dict, meta: str) -> None:
    path = os.path.realpath(path)  # a symlink is written through, as open() does
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".tapegrad-{secrets.token_hex(8)}.tmp")
    # created as open() creates files (0o666 less the umask; mkstemp's 0o600 would hide the
    # checkpoint from the user's group), and O_EXCL: never someone else's file
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        handle = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.remove(tmp)
        raise
    try:
        with handle:
            if os.path.exists(path):  # overwriting keeps the target's permissions, as open()
                shutil.copymode(path, tmp)
            _write_archive(handle, arrays, meta)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_archive(handle, arrays: dict, meta: str) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
            archive.writestr(f"{key}.npy", buffer.getvalue())
        archive.writestr(_META, meta)


def _encode(obj, arrays: dict, memo: dict, depth: int):
    """Turn ``obj`` into JSON-able data; arrays go to ``arrays`` under generated keys."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"save: structure nested deeper than {_MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(obj, Tensor):
        return _encode_array(obj, obj._data, arrays, memo, _tensor_kind(obj), obj.requires_grad)
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, obj, arrays, memo, "ndarray", False)
    if isinstance(obj, dict):
        items = [
            [_encode(k, arrays, memo, depth + 1), _encode(v, arrays, memo, depth + 1)]
            for k, v in obj.items()
        ]
        return {"__dict__": items, "ordered": isinstance(obj, OrderedDict)}
    if isinstance(obj, (list, tuple)):
        values = [_encode(v, arrays, memo, depth + 1) for v in obj]
        return values if isinstance(obj, list) else {"__tuple__": values}
    raise TypeError(
        f"save: cannot store an object of type {type(obj).__name__}; tapegrad saves tensors, "
        "arrays, numbers, strings, None and dicts/lists/tuples of them (no code)"
    )


def _tensor_kind(t: Tensor) -> str:
    from tapegrad.nn.parameter import Parameter

    return "parameter" if isinstance(t, Parameter) else "tensor"


def _encode_array(obj, array: np.ndarray, arrays: dict, memo: dict, kind: str, grad: bool):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"save: arrays of dtype {array.dtype} are not supported")
    key = memo.get(id(obj))
    if key is None:
        key = memo[id(obj)] = f"a{len(arrays)}"
        arrays[key] = array
    return {"__array__": key, "kind": kind, "requires_grad": grad}


def load(f, map_location=None, weights_only: bool = True, mmap=None):
    """Read what ``save`` wrote. Same as ``torch.load``; it never runs code from the file.

    Raises:
        SerializationError: for a file that is not a tapegrad save, is truncated or damaged,
            or whose description does not match its arrays.
    """
    if map_location is not None and str(map_location) != "cpu":
        from tapegrad.tensor import device

        device(map_location)
    if isinstance(f, (str, os.PathLike)):
        # a missing or unreadable path raises as open() does (FileNotFoundError ...), as torch
        with open(f, "rb") as handle:
            return _load(handle, os.fspath(f))
    return _load(f, getattr(f, "name", "<stream>"))


def _load(handle, name: str):
    try:
        archive = zipfile.ZipFile(handle)
    except _ZIP_ERRORS as error:
        raise SerializationError(
            f"load: {name} is not a tapegrad save file (not a zip archive: {error})"
        ) from None
    with archive:
        meta = _read_meta(archive, name)
        loaded: dict[str, object] = {}
        return _decode(meta["root"], archive, loaded, name, 0)


def _read_meta(archive: zipfile.ZipFile, name: str) -> dict:
    # Bounded by the file's size too, as arrays are: tapegrad stores members uncompressed, so
    # a description that inflates past the file (3 MiB of "[]," deflate to 3 kB and parse
    # into ~130 MB of lists) is forged.
    limit = min(_MAX_META_BYTES, _archive_size(archive))
    try:
        with archive.open(_META) as member:
            raw = member.read(limit + 1)
    except KeyError:
        raise SerializationError(
            f"load: {name} has no {_META}; it was not written by tapegrad.save"
        ) from None
    except _ZIP_ERRORS as error:
        raise SerializationError(f"load: {name} is damaged: {error}") from None
    if len(raw) > limit:
        raise SerializationError(
            f"load: {name} has a description over {limit} bytes (more than the file's size or "
            f"{_MAX_META_BYTES} bytes); it is forged"
        )
    try:
        meta = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise SerializationError(f"load: {name} nests deeper than {_MAX_DEPTH} levels") from None
    except ValueError as error:  # JSON syntax, bad UTF-8, an integer with 100,000 digits
        raise SerializationError(f"load: {name} has an unreadable description: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "root" not in meta:
        raise SerializationError(f"load: {name} is not a tapegrad save file")
    if meta.get("version") != VERSION:
        raise SerializationError(
            f"load: {name} has format version {meta.get('version')!r}; this tapegrad reads "
            f"version {VERSION}"
        )
    return meta


def _no_constant(text: str):
    """JSON's non-standard NaN/Infinity: save writes them as {"__float__": ...} instead."""
    raise ValueError(f"non-standard constant {text}")


def _decode(node, archive, loaded: dict, name: str, depth: int):
    if depth > _MAX_DEPTH:
        raise SerializationError(f"load: {name} nests deeper than {_MAX_DEPTH} levels")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, archive, loaded, name, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise SerializationError(f"load: {name} has an unknown entry {node!r:.80}")
    if "__float__" in node:
        return _special_float(node["__float__"], name)
    if "__tuple__" in node:
        values = node["__tuple__"]
        if not isinstance(values, list):
            raise SerializationError(f"load: {name} has a malformed tuple {values!r:.80}")
        return tuple(_decode(v, archive, loaded, name, depth + 1) for v in values)
    if "__dict__" in node:
        pairs = [
            (
                _hashable(_decode(k, archive, loaded, name, depth + 1), name),
                _decode(v, archive, loaded, name, depth + 1),
            )
            for k, v in _pairs(node["__dict__"], name)
        ]
        return OrderedDict(pairs) if node.get("ordered") else dict(pairs)
    if "__array__" in node:
        return _decode_array(node, archive, loaded, name)
    raise SerializationError(f"load: {name} has an unknown entry {node!r:.80}")


def _pairs(items, name: str) -> list:
    if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise SerializationError(f"load: {name} has a malformed mapping")
    return items


def _hashable(key, name: str):
    try:
        hash(key)
    except TypeError:
        raise SerializationError(
            f"load: {name} has a mapping key that is not hashable ({type(key).__name__})"
        ) from None
    return key


def _special_float(text, name: str) -> float:
    if text not in ("nan", "inf", "-inf"):
        raise SerializationError(f"load: {name} has an invalid float {text!r:.40}")
    return float(text)


def _decode_array(node: dict, archive, loaded: dict, name: str):
    key, kind = node["__array__"], node.get("kind")
    if not isinstance(key, str) or kind not in ("tensor", "parameter", "ndarray"):
        raise SerializationError(f"load: {name} has a malformed array entry")
    if key not in loaded:
        loaded[key] = _read_array(archive, key, name)
    array = loaded[key]
    if kind == "ndarray":
        return array
    requires_grad = node.get("requires_grad", False)
    if not isinstance(requires_grad, bool) or (requires_grad and array.dtype.kind != "f"):
        raise SerializationError(
            f"load: {name}: array {key} of dtype {array.dtype} has requires_grad "
            f"{requires_grad!r}; only float tensors can require grad"
        )
    if kind == "parameter":
        from tapegrad.nn.parameter import Parameter

        return Parameter(_make(array), requires_grad=requires_grad)
    return _make(array).requires_grad_(requires_grad)


def _read_array(archive: zipfile.ZipFile, key: str, name: str) -> np.ndarray:
    member = f"{key}.npy"
    try:
        info = archive.getinfo(member)
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            if dtype.hasobject or dtype.kind not in "biuf":
                raise SerializationError(f"load: {name}: array {key} has dtype {dtype}")
            declared = dtype.itemsize
            for s in shape:
                declared *= s
            # bound what numpy will allocate by what the file can possibly hold
            available = min(info.file_size, _archive_size(archive))
            if declared > available:
                raise SerializationError(
                    f"load: {name}: array {key} declares shape {shape} ({declared} bytes) but "
                    f"the file holds at most {available} bytes: it is truncated or forged"
                )
        with archive.open(info) as handle:
            array = np.lib.format.read_array(handle, allow_pickle=False)
    except SerializationError:
        raise
    except KeyError:
        raise SerializationError(f"load: {name} is missing array {key}") from None
    except _ZIP_ERRORS as error:
        raise SerializationError(f"load: {name}: array {key} is damaged: {error}") from None
    # tapegrad dtypes are native (a big-endian float64 is not tg.float64): convert foreign ones
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def _archive_size(archive: zipfile.ZipFile) -> int:
    handle = archive.fp
    position = handle.tell()
    size = handle.seek(0, os.SEEK_END)
    handle.seek(position)
    return size
