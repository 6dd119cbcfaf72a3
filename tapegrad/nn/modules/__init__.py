"""nn layers, one concept per file; each file lists its public classes in ``__all__``."""

from tapegrad.nn.modules.activation import *  # noqa: F403
from tapegrad.nn.modules.container import ModuleDict, ModuleList, Sequential
from tapegrad.nn.modules.conv import *  # noqa: F403
from tapegrad.nn.modules.dropout import *  # noqa: F403
from tapegrad.nn.modules.linear import *  # noqa: F403
from tapegrad.nn.modules.loss import *  # noqa: F403
from tapegrad.nn.modules.module import Module
from tapegrad.nn.modules.normalization import *  # noqa: F403
from tapegrad.nn.modules.pooling import *  # noqa: F403
from tapegrad.nn.modules.rnn import *  # noqa: F403
from tapegrad.nn.modules.sparse import *  # noqa: F403
