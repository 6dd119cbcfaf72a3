"""Recurrent layers RNN, LSTM, GRU and their cells, unrolled as plain Python loops over time.

Parameter names, shapes, gate order and initialisation are torch's, so torch state_dicts load.
A layer runs one cell step per time step, so the recorded graph shows the unrolled steps.
"""

from __future__ import annotations

import math
import numbers
import warnings

from tapegrad import creation
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.nn.functional.dropout import dropout
from tapegrad.nn.modules.module import Module
from tapegrad.nn.parameter import Parameter
from tapegrad.ops.elementwise import relu, sigmoid, tanh
from tapegrad.ops.shape import cat, stack
from tapegrad.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

# --- one time step: the cells' math, shared by the cells and the layers ---------------------
# ``gi`` is the input's contribution x @ W_ih^T + b_ih, computed by the caller (a layer does
# it for the whole sequence in one matmul); ``w_hh_t`` is W_hh already transposed.


def _hidden_part(h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    out = h.matmul(w_hh_t)
    return out if b_hh is None else out + b_hh


def _rnn_step(gi, h, w_hh_t, b_hh, nonlinearity: str) -> Tensor:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""
    pre = gi + _hidden_part(h, w_hh_t, b_hh)
    return tanh(pre) if nonlinearity == "tanh" else relu(pre)


def _lstm_step(gi, state, w_hh_t, b_hh, w_hr_t=None) -> tuple[Tensor, Tensor]:
    """Gates i, f, g, o (torch's order); c' = f c + i g, h' = o tanh(c') (then projected)."""
    h, c = state
    i, f, g, o = (gi + _hidden_part(h, w_hh_t, b_hh)).chunk(4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    if w_hr_t is not None:
        h = h.matmul(w_hr_t)
    return h, c


def _gru_step(gi, h, w_hh_t, b_hh) -> Tensor:
    """Gates r, z, n (torch's order), with n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = _hidden_part(h, w_hh_t, b_hh).chunk(3, 1)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) n + z h, with one multiplication fewer


def _input_part(x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    # a (L, N, H_in) sequence goes through as one (L*N, H_in) matrix: one BLAS call instead of
    # numpy's loop of L small ones (and, backward, no (L, H_in, G) stack of weight gradients)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim > 2 else x
    out = rows.matmul(w_ih.t())
    if b_ih is not None:
        out = out + b_ih
    return out.reshape(*x.shape[:-1], out.shape[-1]) if x.ndim > 2 else out


def _uniform_init(module: Module, hidden_size: int) -> None:
    """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    with no_grad():
        for param in module.parameters():
            param.uniform_(-bound, bound)


def _check_dtype(input: Tensor, weight: Tensor) -> None:
    if input.dtype != weight.dtype:
        raise ValueError(
            f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
            f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})"
        )


# --- multi-layer recurrent layers -----------------------------------------------------------

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, checks and the loop. Same as torch's RNNBase."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_config(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout)
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        factory = {"device": device, "dtype": dtype}
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(self._directions):
                layer_input = input_size if layer == 0 else real_hidden * self._directions
                shapes = {
                    "weight_ih": (gate_size, layer_input),
                    "weight_hh": (gate_size, real_hidden),
                }
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = [name + suffix for name in shapes]
                for name, shape in zip(names, shapes.values()):
                    setattr(self, name, Parameter(creation.empty(shape, **factory)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Do nothing: torch's cuDNN weight packing has no CPU counterpart (nor in torch)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- forward ---------------------------------------------------------------------------

    def _hidden_shapes(self, batch: int) -> list[tuple[int, int, int]]:
        """Expected (layers * directions, batch, size) of h0 (and c0 for LSTM)."""
        stacks = self.num_layers * self._directions
        return [(stacks, batch, self.proj_size or self.hidden_size)]

    def forward(self, input: Tensor, hx=None):
        """Run the sequence; return ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``)."""
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{self._get_name()}: expected a Tensor input (PackedSequence is not supported), "
                f"got {type(input).__name__}"
            )
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{self._get_name()}: Expected input to be 2D or 3D, got {input.dim()}D tensor "
                "instead"
            )
        batched = input.dim() == 3
        states = None if hx is None else _as_states(hx, self.mode)
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
            if states is not None:
                _check_state_dims(states, 2, "unbatched 2-D")
                states = [s.unsqueeze(1) for s in states]
        elif states is not None:
            _check_state_dims(states, 3, "batched 3-D")
        if self.batch_first:
            input = input.transpose(0, 1)  # time-major inside: (L, N, H_in)
        _check_dtype(input, self._flat_weight(0))
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]}"
            )
        if input.shape[0] == 0:
            raise ValueError("Expected sequence length to be larger than 0 in RNN")
        shapes = self._hidden_shapes(input.shape[1])
        if states is None:
            states = [creation.zeros(shape, dtype=input.dtype) for shape in shapes]
        _check_state_shapes(states, shapes)
        output, finals = self._run(input, states)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            finals = [f.squeeze(1) for f in finals]
        return output, (finals[0] if len(finals) == 1 else tuple(finals))

    def _flat_weight(self, index: int) -> Parameter:
        return getattr(self, self._flat_weights_names[index])

    def _weights(self, layer: int, direction: int) -> dict[str, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return {name: self._parameters.get(name + suffix) for name in names}

    def _run(self, input: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """All layers and directions over the time-major ``input``; returns (output, finals)."""
        initial = [s.unbind(0) for s in states]  # one entry per (layer, direction)
        finals: list[list[Tensor]] = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self._directions):
                index = layer * self._directions + direction
                start = tuple(init[index] for init in initial)
                out, last = self._run_direction(layer_input, start, layer, direction)
                outputs.append(out)
                for kind, value in enumerate(last):
                    finals[kind].append(value)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, 2)
            if self.dropout and layer < self.num_layers - 1:
                layer_input = dropout(layer_input, self.dropout, self.training)
        return layer_input, [stack(values, 0) for values in finals]

    def _run_direction(self, x: Tensor, start: tuple, layer: int, direction: int):
        """One layer in one direction: the plain loop over time steps."""
        w = self._weights(layer, direction)
        w_hh_t = w["weight_hh"].t()
        w_hr_t = None if w["weight_hr"] is None else w["weight_hr"].t()
        b_hh = w["bias_hh"]
        gi = _input_part(x, w["weight_ih"], w["bias_ih"])
        if self.mode != "GRU" and b_hh is not None:
            gi, b_hh = gi + b_hh, None  # outside GRU's reset gate, b_hh simply adds to b_ih
        steps = gi.unbind(0)
        if direction == 1:
            steps = steps[::-1]
        state = start if self.mode == "LSTM" else start[0]
        outputs = []
        for step in steps:
            state = self._step(step, state, w_hh_t, b_hh, w_hr_t)
            outputs.append(state[0] if self.mode == "LSTM" else state)
        if direction == 1:
            outputs.reverse()
        last = state if self.mode == "LSTM" else (state,)
        return stack(outputs, 0), last

    def _step(self, gi, state, w_hh_t, b_hh, w_hr_t):
        if self.mode == "LSTM":
            return _lstm_step(gi, state, w_hh_t, b_hh, w_hr_t)
        if self.mode == "GRU":
            return _gru_step(gi, state, w_hh_t, b_hh)
        return _rnn_step(gi, state, w_hh_t, b_hh, "tanh" if self.mode == "RNN_TANH" else "relu")


def _check_config(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout) -> None:
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool):
        raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if not 0 <= dropout <= 1:
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed, got {dropout}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
            f"expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=4,
        )
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if mode not in _GATES:
        raise ValueError(f"Unrecognized RNN mode: {mode}")


def _as_states(hx, mode: str) -> list[Tensor]:
    if mode == "LSTM":
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
        return list(hx)
    if not isinstance(hx, Tensor):
        raise TypeError(f"hx must be a Tensor, got {type(hx).__name__}")
    return [hx]


def _check_state_dims(states: list[Tensor], ndim: int, kind: str) -> None:
    if all(s.dim() == ndim for s in states):
        return
    if len(states) == 1:
        got = f"{states[0].dim()}-D tensor"
    else:
        got = "(" + ", ".join(f"{s.dim()}-D" for s in states) + ") tensors"
    names = "hx" if len(states) == 1 else "hx and cx"
    raise RuntimeError(f"For {kind} input, {names} should also be {ndim}-D but got {got}")


def _check_state_shapes(states: list[Tensor], shapes: list[tuple]) -> None:
    for index, (state, shape) in enumerate(zip(states, shapes)):
        if tuple(state.shape) != shape:
            which = "hidden" if len(states) == 1 else f"hidden[{index}]"
            raise RuntimeError(f"Expected {which} size {shape}, got {list(state.shape)}")


class RNN(RNNBase):
    """Elman RNN, h' = tanh or relu(x W_ih^T + b_ih + h W_hh^T + b_hh). Same as torch's RNN.

    Example:
        >>> import tapegrad as tg
        >>> rnn = tg.nn.RNN(4, 8, num_layers=2, batch_first=True)
        >>> output, h_n = rnn(tg.randn(3, 5, 4))
        >>> output.shape, h_n.shape
        (tg.Size([3, 5, 8]), tg.Size([2, 3, 8]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o. Same as ``torch.nn.LSTM`` (incl. proj_size).

    Example:
        >>> import tapegrad as tg
        >>> lstm = tg.nn.LSTM(4, 8, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(tg.randn(5, 3, 4))
        >>> output.shape, h_n.shape, c_n.shape
        (tg.Size([5, 3, 16]), tg.Size([2, 3, 8]), tg.Size([2, 3, 8]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )

    def _hidden_shapes(self, batch: int) -> list[tuple[int, int, int]]:
        stacks = self.num_layers * self._directions
        return [*super()._hidden_shapes(batch), (stacks, batch, self.hidden_size)]


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n. Same as ``torch.nn.GRU``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


# --- single-step cells ----------------------------------------------------------------------


class RNNCellBase(Module):
    """What the cells share: weight_ih, weight_hh, bias_ih, bias_hh and the input checks."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device, dtype
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        factory = {"device": device, "dtype": dtype}
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty((gates, input_size), **factory))
        self.weight_hh = Parameter(creation.empty((gates, hidden_size), **factory))
        if bias:
            self.bias_ih = Parameter(creation.empty(gates, **factory))
            self.bias_hh = Parameter(creation.empty(gates, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: tuple | None) -> tuple[Tensor, list[Tensor], bool]:
        """Batch an unbatched call, fill missing states with zeros and check every shape."""
        name = self._get_name()
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for index, state in enumerate(hx or ()):
            if state.dim() not in (1, 2):
                which = "hidden" if len(hx) == 1 else f"hx[{index}]"
                raise ValueError(
                    f"{name}: Expected {which} to be 1D or 2D, got {state.dim()}D instead"
                )
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            hx = None if hx is None else tuple(s.unsqueeze(0) for s in hx)
        _check_dtype(input, self.weight_ih)
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} expected "
                f"{self.input_size}"
            )
        batch = input.shape[0]
        if hx is None:
            zeros = creation.zeros((batch, self.hidden_size), dtype=input.dtype)
            hx = (zeros,) * self._num_states
        for index, state in enumerate(hx):
            if state.shape[0] != batch:
                raise RuntimeError(
                    f"Input batch size {batch} doesn't match hidden{index} batch size "
                    f"{state.shape[0]}"
                )
            if state.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"hidden{index} has inconsistent hidden_size: got {state.shape[1]}, "
                    f"expected {self.hidden_size}"
                )
        return _input_part(input, self.weight_ih, self.bias_ih), list(hx), batched

    _num_states = 1


class RNNCell(RNNCellBase):
    """One Elman RNN step. Same as ``torch.nn.RNNCell``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        gi, (h,), batched = self._prepare(input, None if hx is None else (hx,))
        out = _rnn_step(gi, h, self.weight_hh.t(), self.bias_hh, self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``. Same as ``torch.nn.LSTMCell``."""

    _num_states = 2

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        gi, state, batched = self._prepare(input, hx)
        h, c = _lstm_step(gi, state, self.weight_hh.t(), self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step. Same as ``torch.nn.GRUCell``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        gi, (h,), batched = self._prepare(input, None if hx is None else (hx,))
        out = _gru_step(gi, h, self.weight_hh.t(), self.bias_hh)
        return out if batched else out.squeeze(0)
