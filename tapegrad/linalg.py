"""``tg.linalg``: the linear algebra namespace, as ``torch.linalg``.

The ops live in tapegrad/ops/linalg.py; this module only gives them their torch names.
"""

from tapegrad.ops.linalg import linalg_norm as norm
from tapegrad.ops.linalg import linalg_vector_norm as vector_norm

__all__ = ["norm", "vector_norm"]
