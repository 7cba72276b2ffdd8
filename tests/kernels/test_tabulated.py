"""Per-tensor int4 calls by result table (``kernels.tabulated``) against ``antiquant.reference``, bit for bit.

The table path computes 16 results and looks every nibble up, so what could go wrong is which result lands
where: a nibble pair's order, a lookup step's byte interleave, the tail after the last whole step, the
table's two byte planes. Every byte value (both nibbles of every pair) runs through each forced path, in rows
whose lengths end mid-step, with special scales and offsets; through the API the default path runs too.
"""

import itertools

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from antiquant import ascend_anti_quant, kernels, reference, tiling
from antiquant.kernels import dequant
from antiquant.kernels.tabulated import STEP, target_has_tabulation
from conftest import assert_same_bits
from inputs import float_bit_patterns, x_input

PATHS = [False] + ([True] if target_has_tabulation() else [])
NAN = np.array([0x7FA12345], np.uint32).view(np.float32)[0]      # a quiet NaN with a payload
# (scale, offset): ordinary, subnormal and overflowing products, a zero, an infinity, NaNs in either
SPECIALS = [(0.37, 0.25), (-1.5, None), (1e-41, 0.5), (3e38, -7.5), (0.0, 1.0), (np.inf, 0.5), (np.inf, -1.0),
            (-0.0, None), (NAN, 0.5), (0.75, NAN), (NAN, -NAN)]
# Packed int4 (two per byte) and ml_dtypes.int4 (one per byte, "int4" in the reference's kinds)
SOURCES = {"int4": ("int4_packed", 2), "int4_unpacked": ("int4", 1)}


def nibble_values(codes: np.ndarray, lanes: int) -> np.ndarray:
    """The int4 values of storage bytes: both nibbles, low first, or the low one; sign-extended by numpy."""
    low = (codes & 0xF).astype(np.int8)
    pairs = np.stack([low, (codes >> 4).astype(np.int8)], -1) if lanes == 2 else low[..., None]
    pairs = np.where(pairs >= 8, pairs - 16, pairs).astype(np.int8)
    return pairs.reshape(codes.shape[0], -1)


def every_byte(rows: int, items: int) -> np.ndarray:
    """Storage bytes holding every value 0..255, shifted by one a row, ``items`` a row."""
    return ((np.arange(items)[None, :] + np.arange(rows)[:, None] * 37) % 256).astype(np.uint8)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("tabulate", PATHS)
@pytest.mark.parametrize("bf16", [True, False])
@pytest.mark.parametrize("parallel,streaming", [(False, False), (True, True)])
def test_every_byte_with_special_operands(source, tabulate, bf16, parallel, streaming):
    kind, lanes = SOURCES[source]
    rows, items = 3, 4 * STEP + 256 + 7          # whole steps, then a tail of 7
    codes = every_byte(rows, items)
    values = nibble_values(codes, lanes)
    tiles = tiling.tiles.table(tiling.tiles.grids([tiling.tiles.grid(0, 0, rows, 0, values.shape[1], 1,
                                                                     values.shape[1])]))
    for (s, o), nan_operands in itertools.product(SPECIALS, (True, False)):
        has_nan = np.isnan(s) or (o is not None and np.isnan(o))
        if has_nan and not nan_operands:
            continue                             # such kernels are only run on NaN-free operands
        kernel = kernels.fused_kernel(source, bf16, False, o is not None, parallel=parallel, streaming=streaming,
                                      nan_operands=nan_operands, tabulate=tabulate)
        scale = np.array([[s]], np.float32)
        offset = scale if o is None else np.array([[o]], np.float32)
        y = np.full((rows, items), 0x5A5A5A5A if lanes == 2 else 0x5A5A, np.uint32 if lanes == 2 else np.uint16)
        kernel(codes, scale, offset, y, tiles)
        want = reference.anti_quant(values, scale.reshape(1), None if o is None else offset.reshape(1),
                                    dst_type=27 if bf16 else 1)
        assert_same_bits(y.view(np.uint16).reshape(rows, -1).view(want.dtype), want)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["int4", "int4_packed", "int32"]), rows=st.integers(1, 4), pairs=st.integers(1, 150),
       scale=float_bit_patterns(np.float32), offset=st.none() | float_bit_patterns(np.float32),
       sqrt_mode=st.booleans(), dst=st.sampled_from([1, 27]), seed=st.integers(0, 2**32 - 1))
def test_per_tensor_calls_by_the_default_path(kind, rows, pairs, scale, offset, sqrt_mode, dst, seed):
    """Through the API, where per-tensor int4 calls take the table on AVX2: any scale and offset bits."""
    cols = 8 * pairs if kind == "int32" else 2 * pairs
    values = np.random.default_rng(seed).integers(-8, 8, (rows, cols)).astype(np.int8)
    s = np.array([scale], np.float32)
    o = None if offset is None else np.array([offset], np.float32)
    got = ascend_anti_quant(x_input(kind, values), s, o, dst_type=dst, sqrt_mode=sqrt_mode)
    assert_same_bits(got, reference.anti_quant(values, s, o, dst_type=dst, sqrt_mode=sqrt_mode))


def test_which_calls_tabulate(monkeypatch):
    """Per-tensor 4-bit sources stored a byte at a time, by default where the target has AVX2; never per
    channel, per head or int8; forced on a target without AVX2 it is refused before compiling (it would
    stop the process on an illegal instruction)."""
    for has in (True, False):
        monkeypatch.setattr(dequant, "target_has_tabulation", lambda has=has: has)
        for source in ("int4", "int4_unpacked", "int32"):
            assert dequant.tabulating(source, False, None) == has
            assert dequant.tabulating(source, False, False) is False
            assert dequant.tabulating(source, True, None) is False
        assert dequant.tabulating("int8", False, None) is False
        if not has:
            with pytest.raises(ValueError, match="tabulate: the result lookup needs AVX2"):
                kernels.fused_kernel.__wrapped__("int4", True, False, False, tabulate=True)
