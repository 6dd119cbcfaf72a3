"""tg.nn.utils: gradient clipping and parameter/vector conversion."""

from tapegrad.nn.utils.clip_grad import *  # noqa: F403
from tapegrad.nn.utils.convert_parameters import *  # noqa: F403
