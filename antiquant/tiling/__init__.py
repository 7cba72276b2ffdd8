"""Tile plans: how the work is split over vector cores (blocks) and UB-sized tiles.

Pure Python over the platform profiles (no Numba: planning imports fast). The ``"cann"`` strategy runs the
platform architecture's CANN host tiling; the other ``STRATEGIES`` are for experiments.
"""

from .plan import (BUFF_NUM, MIN_UB_BUDGET, STRATEGIES, TILING_FIELDS, UB_ALIGN, Mode, Problem, Strategy, TilePlan,
                   UbRegion, plan, plan_problem)

__all__ = ["TilePlan", "Problem", "Strategy", "UbRegion", "plan", "plan_problem", "STRATEGIES", "TILING_FIELDS",
           "Mode", "BUFF_NUM", "MIN_UB_BUDGET", "UB_ALIGN"]
