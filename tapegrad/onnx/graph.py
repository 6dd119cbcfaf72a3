"""The ONNX graph under construction: value names, initializers and nodes.

``GraphBuilder`` is what each translation rule in ``ops/`` writes to; ``export.py`` makes
one per export and turns it into a ModelProto.
"""

from __future__ import annotations

import numpy as np

INT64_MAX = np.iinfo(np.int64).max


class GraphBuilder:
    """Nodes and initializers in the order made, with unique value names."""

    def __init__(self, onnx, opset: int):
        self.onnx = onnx
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._counter = 0

    def fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def const(self, value, dtype=None, name: str | None = None) -> str:
        """An initializer holding ``value`` (cast to ``dtype`` when given); returns its name."""
        array = np.asarray(value, dtype=dtype)
        name = name or self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant (axes, shapes, pads given as inputs)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def op(self, op_type: str, inputs: list, n_outputs: int = 1, **attrs) -> list[str]:
        """Append a node; returns its output names (empty strings in ``inputs`` skip one)."""
        outputs = [self.fresh(op_type.lower()) for _ in range(n_outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outputs, **attrs))
        return outputs

    def op1(self, op_type: str, inputs: list, **attrs) -> str:
        """A node with one output; returns its name."""
        return self.op(op_type, inputs, 1, **attrs)[0]

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """A Reduce* node: axes is an attribute before opset 18 (13 for ReduceSum), then an input.

        ``axes=None`` reduces every axis.
        """
        keep = int(bool(keepdims))
        as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes is None:
            return self.op1(op_type, [x], keepdims=keep)
        axes = [int(a) for a in axes]
        if not axes:  # tapegrad's dim=() reduces nothing; ONNX's empty axes would reduce all
            return self.identity(x)
        if as_input:
            return self.op1(op_type, [x, self.ints(axes)], keepdims=keep)
        return self.op1(op_type, [x], axes=axes, keepdims=keep)

    def identity(self, x: str) -> str:
        return self.op1("Identity", [x])

    def elem(self, dtype) -> int:
        """The ONNX element type of a numpy dtype."""
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def cast(self, x: str, dtype) -> str:
        return self.op1("Cast", [x], to=self.elem(dtype))
