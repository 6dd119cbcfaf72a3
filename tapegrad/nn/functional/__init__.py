"""tg.nn.functional (``F``): stateless layers, activations and losses, one family per file."""

from tapegrad.nn.functional.activation import *  # noqa: F403
from tapegrad.nn.functional.conv import *  # noqa: F403
from tapegrad.nn.functional.dropout import *  # noqa: F403
from tapegrad.nn.functional.linear import *  # noqa: F403
from tapegrad.nn.functional.loss import *  # noqa: F403
from tapegrad.nn.functional.normalization import *  # noqa: F403
from tapegrad.nn.functional.sparse import *  # noqa: F403
