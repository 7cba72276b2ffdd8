"""A cost model of Ascend vector cores running a tile plan (``model``), its traces and plots."""

from .model import PIPES, CoreTime, Timeline, simulate
from .plot import new_figure

__all__ = ["simulate", "Timeline", "CoreTime", "PIPES", "new_figure"]
