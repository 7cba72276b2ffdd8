"""Builders for operator inputs in every storage form, from plain int8 values."""

import ml_dtypes
import numpy as np

from antiquant import AclTensor, DataType, pack_int4

X_KINDS = ("int8", "int4", "int4_packed", "int32")
SCALE_DTYPES = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16}


def x_input(kind: str, values: np.ndarray):
    """x for ``ascend_anti_quant`` holding ``values`` (int8 values; int4 kinds need [-8, 7])."""
    if kind == "int8":
        return values.astype(np.int8)
    if kind == "int4":
        return values.astype(ml_dtypes.int4)
    if kind == "int4_packed":
        return AclTensor.from_numpy(pack_int4(values), dtype=DataType.INT4, shape=values.shape)
    if kind == "int32":
        return pack_int4(values, np.int32)
    raise ValueError(kind)


def values_for(kind: str, shape, rng) -> np.ndarray:
    lo, hi = (-128, 128) if kind == "int8" else (-8, 8)
    return rng.integers(lo, hi, shape, dtype=np.int8)
