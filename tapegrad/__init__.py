"""tapegrad: define-by-run autograd on numpy, with PyTorch's API and a tape you can see."""

from tapegrad import (
    autograd,
    cuda,
    datasets,
    dtypes,
    func,
    linalg,
    nn,
    onnx,
    optim,
    training,
    utils,
    viz,
)
from tapegrad._legacy import (
    BoolTensor,
    ByteTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    get_default_device,
    set_default_device,
)
from tapegrad.autograd import (
    NumericsWarning,
    enable_grad,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from tapegrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from tapegrad.dtypes import (
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from tapegrad.ops import inplace as _inplace
from tapegrad.ops.registry import exported as _exported
from tapegrad.random import Generator, get_rng_state, initial_seed, manual_seed, set_rng_state
from tapegrad.serialization import load, save
from tapegrad.tensor import Size, Tensor, device

__version__ = "0.1.0"

# Every registered op as tg.<name>, nn's included (so this comes after every import above).
globals().update(_exported())
