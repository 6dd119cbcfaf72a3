"""tg.nn: modules, layers, losses, init and functional, interchangeable with torch.nn."""

from tapegrad.nn import functional, init, utils
from tapegrad.nn.modules import *  # noqa: F403
from tapegrad.nn.modules import Module, ModuleDict, ModuleList, Sequential
from tapegrad.nn.parameter import Parameter
