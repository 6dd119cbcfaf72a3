"""tg.utils: data loading utilities (``tg.utils.data``)."""

from tapegrad.utils import data
