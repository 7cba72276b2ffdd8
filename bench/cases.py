"""What is measured: the operator's dtype paths as cases, and their inputs built over a shared random pool.

int4 means the INT32 storage (eight int4 per word, low nibble first), the form LLM int4 weights take here.
The 8-bit float sources and per-head scales are Ascend 950's (``ARCH35_CASES``): those cases run on
``ARCH35_PLATFORM``. A per-head case's y is ``[rows, cols]`` with one scale per row (N = rows). Inputs hold
no byte that is a NaN code of an 8-bit float format: real weights hold none, and torch decodes FLOAT8 NaN
codes to other NaN bits than the reference (tests/kernels check NaN codes on every path, bit for bit).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from antiquant.core.dtypes import DST_TYPES, names_of, numpy_dtype_of
from antiquant.core.reference import FLOAT8_KINDS, float8_values, hifloat8_values, random_inputs, random_values

__all__ = ["Case", "ALL_CASES", "ARCH35_CASES", "FLOAT8_SOURCES", "Inputs", "make_inputs", "shape_for", "random_pool"]

# the destination's CANN code and numpy dtype by its short name ("bf16"), from antiquant's one table of names
DST_CODES = {name: int(dt) for name, dt in names_of(DST_TYPES, "short").items()}
DST_DTYPES = {name: numpy_dtype_of(dt) for name, dt in names_of(DST_TYPES, "short").items()}
FLOAT8_SOURCES = tuple(FLOAT8_KINDS)     # "hifloat8", "float8_e5m2", "float8_e4m3fn"
X_BYTES = {"int8": 1.0, "int4": 0.5, **dict.fromkeys(FLOAT8_SOURCES, 1.0)}   # bytes of x per output element
# the source's storage kind in antiquant.core.reference
X_KIND = {"int8": "int8", "int4": "int32", **{s: s for s in FLOAT8_SOURCES}}
DEFAULT_PLATFORM = "Ascend910B"
ARCH35_PLATFORM = "Ascend950PR"         # where the 8-bit float sources and per-head scales exist


@dataclasses.dataclass(frozen=True)
class Case:
    source: str          # "int8", "int4" (eight per int32) or an 8-bit float
    dst: str             # "bf16" or "fp16"
    per_channel: bool    # one scale per column (per_head False) or per row (per_head True); else one
    offset: bool
    per_head: bool = False

    @property
    def label(self) -> str:
        mode = ("per-head" if self.per_head else "per-channel") if self.per_channel else "per-tensor"
        return f"{self.source}->{self.dst} {mode}{' +offset' if self.offset else ''}"

    @property
    def platform(self) -> str:
        return ARCH35_PLATFORM if self.source in FLOAT8_SOURCES or self.per_head else DEFAULT_PLATFORM

    def traffic(self, elements: int) -> int:
        """Bytes of x read plus y written for ``elements`` outputs."""
        return int(elements * (X_BYTES[self.source] + 2))

    def fields(self) -> dict:
        return {"case": self.label, **dataclasses.asdict(self)}


ALL_CASES = tuple(Case(s, d, pc, o) for s, d, pc, o in
                  itertools.product(("int8", "int4"), sorted(DST_CODES), (False, True), (False, True)))
# Ascend 950's paths, beside int8's: each 8-bit float to both destinations per channel with offset and per
# tensor, and per head (int8 and HiF8, with offset) against per channel.
ARCH35_CASES = (tuple(Case(s, d, pc, pc) for s, d, pc in itertools.product(FLOAT8_SOURCES, sorted(DST_CODES),
                                                                            (True, False)))
                + tuple(Case(s, "bf16", True, True, per_head=True) for s in ("int8", "hifloat8")))


@dataclasses.dataclass
class Inputs:
    """One call's arrays: x (int8 or int32), float32 scale/offset of size 1 or cols, y's shape and dtype."""

    case: Case
    x: np.ndarray
    scale: np.ndarray
    offset: np.ndarray | None
    y_shape: tuple[int, int]

    @property
    def dst_dtype(self) -> np.dtype:
        return DST_DTYPES[self.case.dst]

    @property
    def dst_code(self) -> int:
        return DST_CODES[self.case.dst]

    @property
    def platform(self) -> str:
        return self.case.platform

    def broadcast_scale(self) -> tuple[np.ndarray, np.ndarray | None]:
        """scale and offset shaped to broadcast against y: a per-head case's as a column, one per row."""
        if not self.case.per_head:
            return self.scale, self.offset
        return self.scale.reshape(-1, 1), None if self.offset is None else self.offset.reshape(-1, 1)

    @property
    def elements(self) -> int:
        return self.y_shape[0] * self.y_shape[1]

    @property
    def traffic(self) -> int:
        return self.x.nbytes + 2 * self.elements

    def empty_out(self) -> np.ndarray:
        return np.empty(self.y_shape, self.dst_dtype)


def _nan_code_bytes() -> np.ndarray:
    """bool[256]: the bytes that are a NaN code of HiFloat8, FLOAT8_E5M2 or FLOAT8_E4M3FN."""
    codes = np.arange(256, dtype=np.uint8)
    return np.logical_or.reduce([np.isnan(hifloat8_values(codes) if kind == "hifloat8" else
                                          float8_values(codes, FLOAT8_KINDS[kind])) for kind in FLOAT8_KINDS])


def without_nan_codes(values: np.ndarray) -> np.ndarray:
    """``values`` (any 1-byte dtype) with every 8-bit float NaN code set to 0, in place."""
    codes = values.view(np.uint8)
    codes[_nan_code_bytes()[codes]] = 0
    return values


def random_pool(nbytes: int, seed: int = 0) -> np.ndarray:
    """Random bytes (int8) to carve inputs from: every int8 value but the 8-bit floats' NaN codes, and every
    nibble, appear."""
    return without_nan_codes(random_values("int8", max(nbytes, 64), np.random.default_rng(seed)))


def shape_for(case: Case, traffic_bytes: int, max_cols: int = 4096) -> tuple[int, int]:
    """(rows, cols) of y moving about ``traffic_bytes`` (at least one row of 64 elements)."""
    elements = max(64, int(traffic_bytes / (X_BYTES[case.source] + 2)))
    cols = min(max_cols, elements // 64 * 64)
    return max(1, elements // cols), cols


def make_inputs(case: Case, rows: int, cols: int, pool: np.ndarray | None = None, seed: int = 0) -> Inputs:
    """Inputs for a ``rows x cols`` output, x taken from ``pool`` (a view, no copy) or freshly drawn. A
    per-head case needs ``rows != cols`` (a square y reads a vector scale as per channel)."""
    if case.per_head and rows == cols:
        raise ValueError(f"rows: a per-head case needs rows != cols, got {rows} x {cols}")
    x, scale, offset = random_inputs((rows, cols), X_KIND[case.source], per_channel=case.per_channel,
                                     offset=case.offset, seed=seed, pool=pool,
                                     scale_shape=(rows,) if case.per_head else None)
    if pool is None and case.source in FLOAT8_SOURCES:     # drawn afresh: a pool has none already
        without_nan_codes(x)
    return Inputs(case, x, scale, offset, (rows, cols))
