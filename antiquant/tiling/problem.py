"""What a plan is about: the facts of one call (``Problem``), the layout modes a tiling key names (``Mode``,
``RegbaseMode``) and which scale element each element of a plan's view uses (``ScaleUse``)."""

from __future__ import annotations

import dataclasses
import math

from typing import NamedTuple

from ..core.dtypes import FLOAT8_TYPES, DataType

__all__ = ["Problem", "Mode", "RegbaseMode", "ScaleUse"]


class Mode:
    """CANN's layout templates (TPL_PER_TENSOR, TPL_PER_CHANNEL, TPL_PER_CHANNEL_NDDMA): the tiling key's low bits."""

    PER_TENSOR = 0
    PER_CHANNEL = 1
    PER_CHANNEL_NDDMA = 2


class RegbaseMode:
    """Ascend 950's (arch35) templates, TPL_PER_* of op_kernel/arch35/ascend_anti_quant_v2_struct.h: the tiling
    key's low 3 bits. Not ``Mode``'s numbers (2 is PER_HEAD here, PER_CHANNEL_NDDMA on arch22): a plan's ``mode``
    is read with its architecture's class."""

    PER_TENSOR = 0
    PER_CHANNEL = 1
    PER_HEAD = 2
    PER_CHANNEL_NDDMA = 3
    PER_HEAD_NDDMA = 4


class ScaleUse(NamedTuple):
    """Which scale (and offset) element element ``(r, c)`` of a plan's ``[rows, columns]`` view uses: none per
    tensor (element 0), column ``c`` per channel, row ``r mod period`` per head (arch35's kernels index the
    flattened scale by ``baseSOffset % dim1``). Launch code reads it instead of a mode number, whose meaning
    differs between architectures."""

    along: str      # "none", "columns" or "rows"
    period: int     # the scale's length in that direction (1 for "none")

    def index(self, row: int, col: int) -> int:
        return {"none": 0, "columns": col % self.period, "rows": row % self.period}[self.along]


@dataclasses.dataclass(frozen=True)
class Problem:
    """The facts of one call that tiling depends on (which mode they lead to is the architecture's choice)."""

    shape: tuple[int, ...]      # y's shape
    x_dtype: DataType
    scale_size: int
    scale_dtype: DataType
    has_offset: bool
    dst_type: DataType
    sqrt_mode: bool
    scale_shape: tuple[int, ...] | None = None     # arch35 reads the scale's shape (per-head); None: (scale_size,)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def last(self) -> int:
        return self.shape[-1] if self.shape else 1

    @property
    def per_tensor(self) -> bool:
        return self.scale_size == 1

    @property
    def rows_view(self) -> tuple[int, int]:
        """y as rows of its last axis, ``[numel / last, last]`` (``[0, 0]`` if the last axis is empty)."""
        return (self.numel // self.last, self.last) if self.last else (0, 0)

    @property
    def flat_view(self) -> tuple[int, int]:
        """y flattened into one row, ``[1, numel]``."""
        return 1, self.numel

    @property
    def scale_dims(self) -> tuple[int, ...]:
        """The scale's shape: ``scale_shape``, or a vector of ``scale_size`` where only its size was given."""
        return self.scale_shape if self.scale_shape is not None else (self.scale_size,)

    @property
    def scale_bytes(self) -> int:
        return 2 if self.scale_dtype == DataType.BF16 else 4

    @property
    def y_bytes(self) -> int:
        return 2

    @property
    def x_bytes(self) -> float:
        """Bytes of x per element in device memory: int8 and the 8-bit floats one, int4 (also INT32-packed) half."""
        return 1.0 if self.x_dtype == DataType.INT8 or self.x_dtype in FLOAT8_TYPES else 0.5
