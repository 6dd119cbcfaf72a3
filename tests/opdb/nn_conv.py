"""Op table rows: convolutions, pooling and pad (tapegrad/nn/functional/{conv,pooling}.py).

The numpy references loop over output positions: slow, but independent of the strided-view
implementation they check. Shapes stay small because gradcheck costs one forward per element.
"""

from __future__ import annotations

import numpy as np

from tests.opdb.cases import I, OpCase, Sample, T


def _torch_fn(path: str):
    """A torch callable by dotted path (``nn.functional.pad``), looked up only when used."""

    def call(*args, **kwargs):
        import torch

        fn = torch
        for part in path.split("."):
            fn = getattr(fn, part)
        return fn(*args, **kwargs)

    return call


def _pair(value) -> tuple:
    return tuple(value) * (2 // len(value)) if isinstance(value, (tuple, list)) else (value, value)


def _same_pads(kernel, dilation) -> tuple:
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple((t // 2, t - t // 2) for t in totals)


# --- references --------------------------------------------------------------------------------


def _conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        pads = _same_pads((kh, kw), (dh, dw))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = tuple((p, p) for p in _pair(padding))
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    n, c, h, wd = xp.shape
    o = w.shape[0]
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    c_g, o_g = c // groups, o // groups
    out = np.zeros((n, o, ho, wo))
    for k in range(o):
        g = k // o_g
        for i in range(ho):
            for j in range(wo):
                patch = xp[
                    :,
                    g * c_g : (g + 1) * c_g,
                    i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                    j * sw : j * sw + dw * (kw - 1) + 1 : dw,
                ]
                out[:, k, i, j] = np.sum(patch * w[k], axis=(1, 2, 3))
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad2 = padding if isinstance(padding, str) else (0, _pair(padding)[0])
    out = _conv2d_ref(
        x[..., None, :],
        w[..., None, :],
        b,
        (1, _pair(stride)[0]),
        pad2,
        (1, _pair(dilation)[0]),
        groups,
    )
    return out[..., 0, :]


def _conv_transpose2d_ref(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    oph, opw = _pair(output_padding)
    n, c, h, wd = x.shape
    _, o_g, kh, kw = w.shape
    c_g = c // groups
    full = np.zeros(
        (
            n,
            o_g * groups,
            (h - 1) * sh + dh * (kh - 1) + 1 + oph,
            (wd - 1) * sw + dw * (kw - 1) + 1 + opw,
        )
    )
    for ci in range(c):
        g = ci // c_g
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for bb in range(kw):
                        full[:, g * o_g : (g + 1) * o_g, i * sh + a * dh, j * sw + bb * dw] += (
                            x[:, ci, i, j][:, None] * w[ci, :, a, bb]
                        )
    out = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    return out + b[:, None, None] if b is not None else out


def _conv_transpose1d_ref(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    out = _conv_transpose2d_ref(
        x[..., None, :],
        w[..., None, :],
        b,
        (1, _pair(stride)[0]),
        (0, _pair(padding)[0]),
        (0, _pair(output_padding)[0]),
        groups,
        (1, _pair(dilation)[0]),
    )
    return out[..., 0, :]


def _weight_grad_ref(x, weight_size, g, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    o, c_g, kh, kw = weight_size
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = g.shape[2:]
    o_g = o // groups
    out = np.zeros(weight_size)
    for k in range(o):
        grp = k // o_g
        for a in range(kh):
            for bb in range(kw):
                patch = xp[
                    :,
                    grp * c_g : (grp + 1) * c_g,
                    a * dh : a * dh + sh * (ho - 1) + 1 : sh,
                    bb * dw : bb * dw + sw * (wo - 1) + 1 : sw,
                ]
                out[k, :, a, bb] = np.einsum("nchw,nhw->c", patch, g[:, k])
    return out


def _pool_size(n, k, s, p, d, ceil_mode):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def _max_pool2d_ref(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride if stride is not None else kernel_size)
    h, w = x.shape[-2:]
    ho, wo = _pool_size(h, kh, sh, ph, dh, ceil_mode), _pool_size(w, kw, sw, pw, dw, ceil_mode)
    out = np.full((*x.shape[:-2], ho, wo), -np.inf)
    idx = np.zeros(out.shape, np.int64)
    for i in range(ho):
        for j in range(wo):
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh - ph + a * dh, j * sw - pw + b * dw
                    if 0 <= r < h and 0 <= c < w:
                        better = x[..., r, c] > out[..., i, j]
                        out[..., i, j] = np.where(better, x[..., r, c], out[..., i, j])
                        idx[..., i, j] = np.where(better, r * w + c, idx[..., i, j])
    return (out, idx) if return_indices else out


def _max_pool1d_ref(
    x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    out = _max_pool2d_ref(
        x[..., None, :],
        (1, kernel_size),
        (1, stride if stride is not None else kernel_size),
        (0, padding),
        (1, dilation),
        ceil_mode,
        True,
    )
    values, idx = out[0][..., 0, :], out[1][..., 0, :]
    return (values, idx) if return_indices else values


def _avg_pool2d_ref(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    sh, sw = _pair(stride if stride is not None else kernel_size)
    h, w = x.shape[-2:]
    ho, wo = _pool_size(h, kh, sh, ph, 1, ceil_mode), _pool_size(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((*x.shape[:-2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)
            size = (r1 - r0) * (c1 - c0)
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
            total = x[..., r0:r1, c0:c1].sum(axis=(-2, -1))
            if divisor_override is not None:
                size = divisor_override
            elif not count_include_pad:
                size = (r1 - r0) * (c1 - c0)
            out[..., i, j] = total / size
    return out


def _avg_pool1d_ref(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    step = stride if stride is not None else kernel_size
    out = _avg_pool2d_ref(
        x[..., None, :], (1, kernel_size), (1, step), (0, padding), ceil_mode, count_include_pad
    )
    return out[..., 0, :]


def _adaptive_ref(x, output_size):
    sizes = output_size if isinstance(output_size, tuple) else (output_size,) * 2
    h, w = x.shape[-2:]
    ho, wo = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    out = np.zeros((*x.shape[:-2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, r1 = (i * h) // ho, -((-(i + 1) * h) // ho)
            c0, c1 = (j * w) // wo, -((-(j + 1) * w) // wo)
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return out


def _adaptive1d_ref(x, output_size):
    return _adaptive_ref(x[..., None, :], (1, output_size))[..., 0, :]


def _pad_ref(x, pad, mode="constant", value=None):
    if x.ndim == 0:
        return x.copy()
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    crop = tuple(slice(max(-lo, 0), x.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(pairs))
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        return np.pad(x[crop], grow, constant_values=0 if value is None else value)
    return np.pad(
        x, grow, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    )


def _scatter_ref(g, indices, input_size):
    h, w = tuple(input_size)[-2:]
    planes = g.reshape(-1, g.shape[-2] * g.shape[-1])
    out = np.zeros((planes.shape[0], h * w))
    for p in range(planes.shape[0]):
        np.add.at(out[p], indices.reshape(planes.shape[0], -1)[p], planes[p])
    return out.reshape(*g.shape[:-2], h, w)


# --- rows --------------------------------------------------------------------------------------

CASES = [
    OpCase(
        "conv2d",
        [
            Sample((T((2, 3, 5, 5)), T((4, 3, 3, 3)), T((4,))), id="3x3,bias"),
            Sample((T((1, 2, 6, 5)), T((3, 2, 2, 3))), {"stride": (2, 1), "padding": (1, 2)}),
            Sample((T((1, 4, 6, 6)), T((4, 2, 3, 3)), T((4,))), {"dilation": 2, "groups": 2}),
            Sample((T((1, 2, 5, 4)), T((3, 2, 2, 2))), {"padding": "same"}, id="same,even kernel"),
            Sample((T((2, 3, 4, 4)), T((5, 3, 1, 1)), T((5,))), id="1x1"),
            Sample(
                (T((3, 5, 5)), T((2, 3, 3, 3))), {"padding": "valid", "stride": 2}, id="unbatched"
            ),
        ],
        ref=_conv2d_ref,
        torch="same",
    ),
    OpCase(
        "conv1d",
        [
            Sample((T((2, 3, 7)), T((4, 3, 3)), T((4,))), {"stride": 2, "padding": 1}),
            Sample((T((1, 4, 8)), T((2, 2, 2))), {"dilation": 3, "groups": 2}),
            Sample((T((2, 6)), T((3, 2, 4))), {"padding": "same"}, id="unbatched,same"),
        ],
        ref=_conv1d_ref,
        torch="same",
    ),
    OpCase(
        "conv_transpose2d",
        [
            Sample(
                (T((1, 2, 3, 3)), T((2, 3, 3, 3)), T((3,))),
                {"stride": 2, "padding": 1, "output_padding": 1},
            ),
            Sample((T((2, 4, 3, 2)), T((4, 1, 2, 2))), {"groups": 2, "dilation": (2, 1)}),
            Sample(
                (T((1, 2, 3, 3)), T((2, 2, 2, 2))),
                {"dilation": 2, "output_padding": 1},
                id="output_padding<dilation",
            ),
            Sample((T((2, 2, 4, 3)), T((2, 3, 3, 3)), T((3,))), {"padding": 1}),
        ],
        ref=_conv_transpose2d_ref,
        torch="same",
    ),
    OpCase(
        "conv_transpose1d",
        [
            Sample(
                (T((2, 2, 4)), T((2, 3, 3)), T((3,))),
                {"stride": 3, "padding": 1, "output_padding": 2},
            )
        ],
        ref=_conv_transpose1d_ref,
        torch="same",
    ),
    OpCase(
        "_conv2d_weight_grad",
        [
            Sample((T((2, 3, 5, 5)), (4, 3, 3, 3), T((2, 4, 3, 3)))),
            Sample(
                (T((1, 4, 6, 5)), (2, 2, 2, 2), T((1, 2, 4, 3))),
                {"stride": 2, "padding": 1, "groups": 2},
            ),
        ],
        ref=_weight_grad_ref,
        torch=_torch_fn("nn.grad.conv2d_weight"),
    ),
    OpCase(
        "max_pool2d",
        [
            Sample((T((2, 3, 4, 4)), 2)),
            Sample((T((1, 2, 5, 6)), 3), {"stride": 2, "padding": 1, "ceil_mode": True}),
            Sample(
                (T((2, 5, 7)), (2, 3)),
                {"stride": (1, 2), "dilation": (2, 1)},
                id="unbatched,dilated",
            ),
            Sample(
                (T((1, 2, 4, 5)), 2),
                {"stride": 1, "return_indices": True},
                id="overlapping,indices",
            ),
        ],
        ref=_max_pool2d_ref,
        torch=_torch_fn("nn.functional.max_pool2d"),
    ),
    OpCase(
        "max_pool1d",
        [
            Sample((T((2, 3, 8)), 2)),
            Sample(
                (T((2, 7)), 3),
                {"stride": 2, "padding": 1, "ceil_mode": True, "return_indices": True},
            ),
        ],
        ref=_max_pool1d_ref,
        torch=_torch_fn("nn.functional.max_pool1d"),
    ),
    OpCase(
        "_max_pool2d_grad",
        [
            Sample(
                (T((1, 2, 2, 2)), I([[[[0, 1], [3, 8]], [[4, 4], [4, 2]]]]), (3, 3)),
                id="repeated indices",
            ),
        ],
        ref=_scatter_ref,
        torch=None,
    ),
    OpCase(
        "avg_pool2d",
        [
            Sample((T((2, 3, 4, 4)), 2)),
            Sample((T((1, 2, 5, 6)), 3), {"stride": 2, "padding": 1, "ceil_mode": True}),
            Sample((T((1, 2, 5, 6)), 3), {"stride": 2, "padding": 1, "count_include_pad": False}),
            Sample(
                (T((2, 5, 4)), (2, 3)), {"stride": 1, "divisor_override": 4}, id="unbatched,divisor"
            ),
        ],
        ref=_avg_pool2d_ref,
        torch=_torch_fn("nn.functional.avg_pool2d"),
    ),
    OpCase(
        "avg_pool1d",
        [
            Sample((T((2, 3, 8)), 2)),
            Sample(
                (T((2, 7)), 3),
                {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
            ),
        ],
        ref=_avg_pool1d_ref,
        torch=_torch_fn("nn.functional.avg_pool1d"),
    ),
    OpCase(
        "adaptive_avg_pool2d",
        [
            Sample((T((2, 3, 5, 7)), (2, 3))),
            Sample((T((3, 4, 4)), 3), id="unbatched,overlapping"),
            Sample((T((1, 2, 5, 6)), (None, 4)), id="None keeps"),
        ],
        ref=_adaptive_ref,
        torch=_torch_fn("nn.functional.adaptive_avg_pool2d"),
    ),
    OpCase(
        "adaptive_avg_pool1d",
        [Sample((T((2, 3, 7)), 3)), Sample((T((2, 5)), 7), id="upsample")],
        ref=_adaptive1d_ref,
        torch=_torch_fn("nn.functional.adaptive_avg_pool1d"),
    ),
    OpCase(
        "pad",
        [
            Sample((T((2, 3, 4)), (1, 2))),
            Sample((T((2, 3, 4)), (1, -1, 0, 2)), {"value": 1.5}, id="crop,value"),
            Sample((T((1, 2, 3, 4)), (2, 1, 1, 2)), {"mode": "reflect"}),
            Sample((T((2, 3, 4)), (2, 3)), {"mode": "replicate"}),
            Sample((T((1, 2, 3, 4)), (3, 1, 2, 3)), {"mode": "circular"}),
            Sample((T(()), ()), id="0-d"),
        ],
        ref=_pad_ref,
        torch=_torch_fn("nn.functional.pad"),
    ),
]
