"""Tile plans: how the work is split over vector cores (blocks) and UB-sized tiles.

Pure Python over the platform profiles (no Numba: planning imports fast). Rooms: ``problem`` (what a call
asks, and which scale element an element uses), ``arch22`` and ``arch35`` (CANN's host tilings for Atlas A2/A3
and Ascend 950, function by function, with what their kernels derive from the tiling data), ``strategies``
(``"cann"`` runs the platform architecture's host tiling, ``HOST_TILINGS``; the others are experiments),
``tiles`` (tile tables, built lazily), ``ub`` (the UB map) and ``plan`` (the ``TilePlan`` record, ``plan()`` and
its cache).
"""

from .arch22 import BUFF_NUM, TILING_FIELDS
from .plan import TilePlan, UbRegion, plan, plan_problem
from .problem import Mode, Problem, RegbaseMode, ScaleUse
from .strategies import HOST_TILINGS, MIN_UB_BUDGET, STRATEGIES, HostTiling, Strategy, host
from .tiles import TILE_DTYPE
from .ub import UB_ALIGN

__all__ = ["TilePlan", "Problem", "Strategy", "UbRegion", "ScaleUse", "plan", "plan_problem", "host", "STRATEGIES",
           "HOST_TILINGS", "HostTiling", "TILING_FIELDS", "Mode", "RegbaseMode", "BUFF_NUM", "MIN_UB_BUDGET",
           "UB_ALIGN", "TILE_DTYPE"]
