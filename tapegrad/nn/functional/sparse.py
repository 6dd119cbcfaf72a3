"""F.embedding (a row lookup whose gradient adds up over repeated indices) and F.one_hot."""

from __future__ import annotations

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops.elementwise import where
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor, _make

__all__ = ["embedding", "one_hot"]


def _index_array(input: Tensor, op: str) -> np.ndarray:
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected an integer (Long or Int) tensor of indices, got dtype {data.dtype}"
        )
    return data


def _padding_row(padding_idx: int | None, num_embeddings: int) -> int | None:
    """torch's padding_idx: negative counts from the end; out of range is an error."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"Padding_idx must be within num_embeddings: got padding_idx={padding_idx} for "
            f"{num_embeddings} embeddings"
        )
    return padding_idx % num_embeddings


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale, in place, the looked-up rows whose norm exceeds max_norm (torch's renorm_)."""
    with no_grad():
        w = weight.detach()  # same memory and version counter: saved copies see the change
        index = _make(np.unique(rows))
        picked = w[index]
        norms = picked.norm(norm_type, 1, keepdim=True)
        # torch's embedding_renorm_ divides by norm + 1e-7, so a renormed row lands just inside
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[index] = picked * scale


@register(export=False)
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` at the indices in ``input``. Same as ``F.embedding``.

    ``padding_idx``'s row gets no gradient; ``sparse=True`` still gives a dense gradient (of
    the same values), as tapegrad has no sparse tensors.
    """
    rows = _index_array(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    num = weight._data.shape[0]
    padding_idx = _padding_row(padding_idx, num)
    bad = rows[(rows < 0) | (rows >= num)]
    if bad.size:
        raise IndexError(
            f"embedding: index out of range in self: got {np.unique(bad).tolist()} for "
            f"{num} embeddings"
        )
    if max_norm is not None:
        _renorm_rows(weight, rows, max_norm, norm_type)
    index = input if isinstance(input, Tensor) else _make(rows.astype(dtypes.int64))
    out = weight[index]  # indexing accumulates the gradient of repeated indices
    if scale_grad_by_freq and out.requires_grad:
        counts = np.bincount(rows.reshape(-1), minlength=num)
        scale = _make((1.0 / counts[rows])[..., None].astype(out.dtype))
        out.register_hook(lambda grad: grad * scale)
    if padding_idx is not None and out.requires_grad:
        # same values, but the padding positions read a detached copy: no gradient flows there
        pad = _make((rows == padding_idx)[..., None])
        out = where(pad, out.detach(), out)
    return out


@register(differentiable=False, export=False)
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim. Same as ``F.one_hot``."""
    data = tensor._data
    if data.dtype != dtypes.int64:
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of type LongTensor, got dtype {data.dtype}"
        )
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    negative = data[data < 0]
    if negative.size:
        raise RuntimeError(f"Class values must be non-negative, got {np.unique(negative).tolist()}")
    too_large = data[data >= num_classes]
    if too_large.size:
        raise RuntimeError(
            f"Class values must be smaller than num_classes ({num_classes}), got "
            f"{np.unique(too_large).tolist()}"
        )
    return _make((data[..., None] == np.arange(num_classes)).astype(dtypes.int64))
