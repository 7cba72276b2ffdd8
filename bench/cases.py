"""What is measured: the operator's dtype paths as cases, and their inputs built over a shared random pool.

int4 means the INT32 storage (eight int4 per word, low nibble first), the form LLM int4 weights take here.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from antiquant.core.dtypes import DST_TYPES, names_of, numpy_dtype_of
from antiquant.core.reference import random_inputs, random_values

__all__ = ["Case", "ALL_CASES", "Inputs", "make_inputs", "shape_for", "random_pool"]

# the destination's CANN code and numpy dtype by its short name ("bf16"), from antiquant's one table of names
DST_CODES = {name: int(dt) for name, dt in names_of(DST_TYPES, "short").items()}
DST_DTYPES = {name: numpy_dtype_of(dt) for name, dt in names_of(DST_TYPES, "short").items()}
X_BYTES = {"int8": 1.0, "int4": 0.5}     # bytes of x per output element
X_KIND = {"int8": "int8", "int4": "int32"}  # the source's storage kind in antiquant.core.reference


@dataclasses.dataclass(frozen=True)
class Case:
    source: str          # "int8" or "int4" (eight per int32)
    dst: str             # "bf16" or "fp16"
    per_channel: bool
    offset: bool

    @property
    def label(self) -> str:
        mode = "per-channel" if self.per_channel else "per-tensor"
        return f"{self.source}->{self.dst} {mode}{' +offset' if self.offset else ''}"

    def traffic(self, elements: int) -> int:
        """Bytes of x read plus y written for ``elements`` outputs."""
        return int(elements * (X_BYTES[self.source] + 2))

    def fields(self) -> dict:
        return {"case": self.label, **dataclasses.asdict(self)}


ALL_CASES = tuple(Case(s, d, pc, o) for s, d, pc, o in
                  itertools.product(("int8", "int4"), sorted(DST_CODES), (False, True), (False, True)))


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
    def elements(self) -> int:
        return self.y_shape[0] * self.y_shape[1]

    @property
    def traffic(self) -> int:
        return self.x.nbytes + 2 * self.elements

    def empty_out(self) -> np.ndarray:
        return np.empty(self.y_shape, self.dst_dtype)


def random_pool(nbytes: int, seed: int = 0) -> np.ndarray:
    """Random bytes (int8) to carve inputs from: every int8 value and every nibble appear."""
    return random_values("int8", max(nbytes, 64), np.random.default_rng(seed))


def shape_for(case: Case, traffic_bytes: int, max_cols: int = 4096) -> tuple[int, int]:
    """(rows, cols) of y moving about ``traffic_bytes`` (at least one row of 64 elements)."""
    elements = max(64, int(traffic_bytes / (X_BYTES[case.source] + 2)))
    cols = min(max_cols, elements // 64 * 64)
    return max(1, elements // cols), cols


def make_inputs(case: Case, rows: int, cols: int, pool: np.ndarray | None = None, seed: int = 0) -> Inputs:
    """Inputs for a ``rows x cols`` output, x taken from ``pool`` (a view, no copy) or freshly drawn."""
    x, scale, offset = random_inputs((rows, cols), X_KIND[case.source], per_channel=case.per_channel,
                                     offset=case.offset, seed=seed, pool=pool)
    return Inputs(case, x, scale, offset, (rows, cols))
