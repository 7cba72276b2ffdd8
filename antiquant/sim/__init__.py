"""A cost model of Ascend vector cores running a tile plan (``model``), its traces and plots."""

from .model import MAX_TILES, PIPES, CoreTime, Timeline, simulate, too_many_tiles
from .plot import new_figure

__all__ = ["simulate", "Timeline", "CoreTime", "PIPES", "MAX_TILES", "too_many_tiles", "new_figure"]
