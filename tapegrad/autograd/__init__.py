"""Autograd: the engine (backward, grad), Function, grad-mode switches, and the checks."""

from tapegrad.autograd import function
from tapegrad.autograd.anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from tapegrad.autograd.engine import backward, grad
from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import (
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from tapegrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tapegrad.autograd.graphcheck import check_graph
from tapegrad.autograd.numerics import NumericsWarning
from tapegrad.autograd.variable import Variable

__all__ = [
    "Function",
    "GradcheckError",
    "NumericsWarning",
    "Variable",
    "backward",
    "check_graph",
    "detect_anomaly",
    "enable_grad",
    "function",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
