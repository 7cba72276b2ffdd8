"""Tile plans: how the work is split over vector cores (blocks) and UB-sized tiles.

Pure Python over the platform profiles (no Numba: planning imports fast). Rooms: ``problem`` (what a call
asks), ``arch22`` (CANN's Atlas A2 host tiling, function by function), ``strategies`` (``"cann"`` runs the
platform architecture's host tiling; the others are experiments), ``tiles`` (tile tables, built lazily),
``ub`` (the UB map) and ``plan`` (the ``TilePlan`` record, ``plan()`` and its cache).
"""

from .arch22 import BUFF_NUM, TILING_FIELDS
from .plan import TilePlan, UbRegion, plan, plan_problem
from .problem import Mode, Problem
from .strategies import MIN_UB_BUDGET, STRATEGIES, Strategy
from .tiles import TILE_DTYPE
from .ub import UB_ALIGN

__all__ = ["TilePlan", "Problem", "Strategy", "UbRegion", "plan", "plan_problem", "STRATEGIES", "TILING_FIELDS",
           "Mode", "BUFF_NUM", "MIN_UB_BUDGET", "UB_ALIGN", "TILE_DTYPE"]
