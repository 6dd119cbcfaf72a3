"""nn layers, one concept per file."""

from tapegrad.nn.modules.container import ModuleDict, ModuleList, Sequential
from tapegrad.nn.modules.module import Module
