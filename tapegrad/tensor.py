"""Tensor: a numpy array plus what autograd needs (requires_grad, grad, grad_fn, version).

No math lives here: operators and methods such as ``+`` or ``.sum()`` are attached by the op
registry (``tapegrad/ops``), and in-place methods by ``tapegrad/ops/inplace.py``.
"""

from __future__ import annotations

import numbers

import numpy as np

from tapegrad import dtypes


class Size(tuple):
    """A tensor's shape: a tuple of ints. Same as ``torch.Size``."""

    __slots__ = ()

    def numel(self) -> int:
        """Return the number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"tg.Size({list(self)})"


class device:
    """Where a tensor lives; tapegrad only runs on the CPU. Same as ``torch.device``."""

    __slots__ = ("index", "type")

    def __init__(self, type: str | device = "cpu", index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        kind = str(type).split(":")[0]
        if kind != "cpu":
            raise RuntimeError(
                f"tapegrad runs on the CPU only; device {type!r} is not available "
                "(tg.cuda.is_available() is False)"
            )
        self.type, self.index = "cpu", index

    def __eq__(self, other) -> bool:
        return isinstance(other, (device, str)) and str(self) == str(device(other))

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return self.type

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"


CPU = device("cpu")


class _VersionCounter:
    """Counts in-place writes to an array; shared by a tensor and its ``detach()``."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional array that records the operations applied to it. Same as torch.Tensor.

    ``Tensor(data)`` and ``Tensor(*sizes)`` follow torch's legacy constructor: the first makes a
    float tensor from data, the second an uninitialised (here: zero) float tensor.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "_hooks",
        "_output_nr",
        "_rg",
        "_vc",
        "grad",
        "grad_fn",
    )
    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray * Tensor -> Tensor

    def __init__(self, *args):
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = np.asarray(args[0], dtype=dtypes.get_default_dtype())
        else:
            data = np.zeros(args or (0,), dtype=dtypes.get_default_dtype())
        _init(self, data)

    # --- attributes -------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def T(self) -> Tensor:
        """All dims reversed (a matrix transposed). Same as ``torch.Tensor.T``, without warning."""
        return self.permute(tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (batched matrix transpose). Same as ``torch.Tensor.mT``."""
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    @property
    def device(self) -> device:
        return CPU

    is_cuda = False

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc.value

    def _bump_version(self) -> None:
        if self._vc is None:
            self._vc = _VersionCounter()
        self._vc.value += 1

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside the graph; writes to it are not tracked."""
        return _make(self._data)

    @data.setter
    def data(self, other) -> None:
        self._data = other._data if isinstance(other, Tensor) else np.asarray(other)

    def size(self, dim: int | None = None):
        """Return the shape, or the length of one dimension. Same as ``torch.Tensor.size``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim_index(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return True

    # --- conversions --------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """Return the array itself (shared memory). Same as ``torch.Tensor.numpy``."""
        if self._rg:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def item(self):
        """Return the single value as a Python number. Same as ``torch.Tensor.item``."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar "
                f"(shape {tuple(self._data.shape)})"
            )
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def detach(self) -> Tensor:
        """Return a tensor on the same memory, outside the graph. Same as torch."""
        if self._vc is None:
            self._vc = _VersionCounter()
        out = _make(self._data)
        out._vc = self._vc
        return out

    def detach_(self) -> Tensor:
        self.grad_fn, self._rg = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf. Same as torch."""
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use detach() "
                "for a tensor outside the graph"
            )
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients, "
                f"got dtype {self._data.dtype}"
            )
        self._rg = bool(requires_grad)
        return self

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device: ``to(dtype)``, ``to("cpu")``, ``to(other)``. As torch."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, (str, device)):
                dev = arg
            else:
                dtype = arg
        if dev is not None:
            device(dev)
        dtype = dtypes.as_dtype(dtype)
        if dtype is None or dtype == self._data.dtype:
            return self.clone() if copy else self
        return _cast(self, dtype)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args, **kwargs):
        device("cuda")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool)

    def type(self, dtype=None):
        """Return the type name, or convert to ``dtype``. Same as ``torch.Tensor.type``."""
        if dtype is None:
            return _LEGACY_TYPE_NAMES.get(self._data.dtype, f"tg.{self._data.dtype}Tensor")
        if isinstance(dtype, str):
            dtype = _LEGACY_TYPES_BY_NAME[dtype]
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # --- autograd -----------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``. Same as torch."""
        from tapegrad.autograd.engine import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward. Same as torch."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn._retain_output(self._output_nr, self)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and node._retains(self._output_nr, self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.

        Returns a handle whose ``remove()`` takes the hook off again. Same as torch.
        """
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            hooks = self.grad_fn._output_hooks(self._output_nr)
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # --- Python protocol ----------------------------------------------------------------------

    __hash__ = object.__hash__

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous "
                f"(shape {tuple(self._data.shape)})"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return repr(self)

    def __repr__(self) -> str:
        data = self._data
        whole = data.dtype.kind != "f" or not np.any(np.isfinite(data) & (data != np.round(data)))
        body = np.array2string(
            data,
            separator=", ",
            prefix="tensor(",
            precision=4,
            threshold=1000,
            floatmode="maxprec" if whole else "fixed",  # torch prints 1. but 0.3480
        )
        extras = []
        if self._data.size == 0 and self._data.ndim != 1:
            extras.append(f"size={tuple(self._data.shape)}")
        if self._data.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
            extras.append(f"dtype=tg.{self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __deepcopy__(self, memo) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol; detach() it first"
            )
        out = type(self).__new__(type(self))
        _init(out, self._data.copy(), self._rg)
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out


_new = object.__new__


def _init(t: Tensor, data: np.ndarray, requires_grad: bool = False, grad_fn=None, output_nr=0):
    t._data = data
    t._rg = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = None
    t._hooks = None


def _make(
    data: np.ndarray, requires_grad: bool = False, grad_fn=None, output_nr: int = 0
) -> Tensor:
    """Wrap an array in a Tensor without copying or checks: the internal constructor."""
    t = _new(Tensor)
    t._data = data
    t._rg = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = None
    t._hooks = None
    return t


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    from tapegrad.ops.conversion import cast

    return cast(t, dtype)


def _dim_index(dim: int, ndim: int) -> int:
    lo = -max(ndim, 1)
    hi = max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % max(ndim, 1)


class _HookHandle:
    """Removes a hook it was returned for. Same as torch's RemovableHandle."""

    __slots__ = ("_hook", "_hooks")

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_LEGACY_TYPE_NAMES = {
    dtypes.float32: "tg.FloatTensor",
    dtypes.float64: "tg.DoubleTensor",
    dtypes.float16: "tg.HalfTensor",
    dtypes.int64: "tg.LongTensor",
    dtypes.int32: "tg.IntTensor",
    dtypes.bool: "tg.BoolTensor",
}
_LEGACY_TYPES_BY_NAME = {name: d for d, name in _LEGACY_TYPE_NAMES.items()}
_LEGACY_TYPES_BY_NAME.update(
    {n.replace("tg.", "torch."): d for n, d in _LEGACY_TYPES_BY_NAME.items()}
)
