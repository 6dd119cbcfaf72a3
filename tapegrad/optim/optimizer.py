"""Optimizer: param groups, per-parameter state, zero_grad, and state_dict, as torch has them.

Subclasses implement ``step`` as one in-place numpy update per parameter; nothing records.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.tensor import Tensor, _make


class _Required:
    """Marks a hyperparameter that has no default (torch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of optimizers. Same as ``torch.optim.Optimizer``."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters. Same as torch."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections")
        params = [p[1] if isinstance(p, tuple) else p for p in params]  # named parameters
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None by default). As torch."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure=None):
        """Update the parameters once; ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            from tapegrad.autograd.grad_mode import enable_grad

            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad._data, self.state[p], group)
                        p._bump_version()  # a graph that saved p must notice the change
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        """Apply one step to ``param._data`` in place; each optimizer defines it."""
        raise NotImplementedError

    # --- state ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Return the state and hyperparameters, parameters referred to by index. As torch."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                ids.append(index_of[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {
            index_of[id(p)]: {
                k: (_make(v._data.copy()) if isinstance(v, Tensor) else v) for k, v in s.items()
            }
            for p, s in self.state.items()
            if id(p) in index_of
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (e.g. after ``tg.load``). Same as torch."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, but the optimizer has "
                f"{len(self.param_groups)}"
            )
        params_by_index = {}
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group ({len(saved['params'])} vs {len(group['params'])})"
                )
            params_by_index.update(zip(saved["params"], group["params"]))
        self.state = defaultdict(dict)
        for index, values in state_dict["state"].items():
            param = params_by_index.get(int(index))
            if param is None:
                raise KeyError(f"optimizer state refers to unknown parameter index {index}")
            self.state[param] = {k: _restore(v, param, k) for k, v in values.items()}
        for saved, group in zip(groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


def _restore(value, param: Tensor, key: str):
    """Copy a saved state value; floating buffers take the parameter's dtype, as torch."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = np.array(value._data if isinstance(value, Tensor) else value)
        if key != "step" and array.dtype.kind == "f":
            array = array.astype(param._data.dtype)
        return _make(array)
    return value
