"""Scale: more than 2**31 elements (64-bit indexing in the tiler, the workspace sums and the kernels).

The tiler and workspace checks need no memory (plans are arithmetic; huge tensors are virtual views). The
kernel runs need 6-7 GB: they are marked ``bigmem`` and skip, saying so, when MemAvailable is too low.
Their x repeats a random block whose length does not divide 2**31, so a 32-bit index wrap would read the
wrong value; y is checked at sampled positions (start, around 2**31, end, random) against values decoded
and computed here from x, and then completely, block by block, against the reference of one period.
"""

import ml_dtypes
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from antiquant import (AclTensor, Status, aclnnAscendAntiQuantGetWorkspaceSize, ascend_anti_quant,
                       platforms, reference, tiling)
from conftest import assert_same_bits, require_memory
from inputs import assert_tiles_cover

T = AclTensor.from_numpy
TWO31 = 1 << 31
GROUP = {"int8": 1, "int4": 2, "int32": 8}

# x shape, x dtype, scale size (-1: y's last), offset
HUGE_PLANS = [
    ((TWO31 + 4096,), "int8", 1, False),
    ((TWO31 + 4096,), "int8", 1, True),
    ((1 << 34,), "int8", 1, False),
    ((1, 3, 1, 1, 1, 174763, 1, 4096), "int8", -1, True),
    ((2, 1, 1, 1, 1, 1, 1, TWO31 + 64), "int4", 1, True),
    ((1, 1, 1, 1, 1, 1, 1 << 24, 256), "int4", -1, False),
    ((7, 1, 1, 1, 2, 1, 1 << 14, 2048), "int32", -1, True),
    (((1 << 18) + 1, 1024), "int32", -1, False),
    ((1, 1, 1, 1, 1, 1, 1, 1 << 28), "int32", 1, False),
    ((1 << 20, 1 << 14), "int8", -1, True),
    ((1 << 26, 64), "int8", -1, True),
    ((1 << 26, 64), "int8", -1, False),
]


def huge_plan(x_shape, x_dtype, scale_size, has_offset, strategy, scale_dtype="float32"):
    last = x_shape[-1] * (8 if x_dtype == "int32" else 1)
    return tiling.plan(x_shape, x_dtype=x_dtype, scale_size=last if scale_size == -1 else scale_size,
                       scale_dtype=scale_dtype, has_offset=has_offset, dst_type="bfloat16", sqrt_mode=False,
                       strategy=strategy)


@pytest.mark.parametrize("strategy", sorted(tiling.STRATEGIES))
@pytest.mark.parametrize("case", HUGE_PLANS, ids=lambda c: f"{c[1]}{list(c[0])}s{c[2]}{'o' if c[3] else ''}")
def test_tile_table_covers_huge_views_exactly(case, strategy):
    """No kernel: the tile table of a 2**31+ element view covers it once, in int64, with exact sums."""
    plan = huge_plan(*case, strategy=strategy)
    numel = int(np.prod(case[0], dtype=object)) * (8 if case[1] == "int32" else 1)
    dim0, dim1 = plan.dims
    assert dim0 * dim1 == numel and numel > TWO31 - 1
    f = plan.tiling_data
    assert all(type(v) is int for v in f.values()), f
    if strategy == "cann":  # CANN's fields split dim1 (blockAxis 1, dim0 == 1) or dim0; other strategies differ
        extent = dim1 if f["blockAxis"] == 1 else dim0
        assert f["blockFactor"] * (f["numCore"] - 1) + f["blockTailFactor"] == extent
        assert 0 < f["blockTailFactor"] <= f["blockFactor"]
    assert 0 < f["numCore"] <= platforms.get("Ascend910B").vector_cores
    assert np.frombuffer(plan.to_bytes(), "<i8").tolist() == [f[k] for k in tiling.TILING_FIELDS]
    assert_tiles_cover(plan, GROUP[case[1]])


def test_rank8_huge_and_tiny_axes_plan():
    """Rank-8 shapes mixing 1s with huge axes, every mode, on every platform (tile coverage on the default)."""
    shapes = [(1, 1, 1, 1, 1, 1, 1, TWO31 + 2), ((1 << 27) + 1, 1, 1, 1, 1, 1, 1, 16), (1, 2, 1, 65537, 1, 1, 1, 16384),
              (3, 1, 5, 1, 7, 1, 1 << 20, 64)]
    for name in platforms.names():
        profile = platforms.get(name)
        for shape in shapes:
            for scale_size, offset in ((1, False), (1, True), (shape[-1], False), (shape[-1], True)):
                plan = tiling.plan(shape, x_dtype="int8", scale_size=scale_size, scale_dtype="bfloat16",
                                   has_offset=offset, dst_type="float16", sqrt_mode=True, platform=profile)
                dim0, dim1 = plan.dims
                assert dim0 * dim1 == int(np.prod(shape, dtype=object)) >= TWO31
                assert 0 < plan.block_dim <= profile.vector_cores
                f = plan.tiling_data
                extent = dim1 if f["blockAxis"] == 1 else dim0  # blockAxis 1 splits the flattened view
                assert f["blockFactor"] * (f["numCore"] - 1) + f["blockTailFactor"] == extent
                if name == "Ascend910B":
                    assert_tiles_cover(plan)


def test_workspace_sums_past_4_gib_without_memory():
    """Staging a 2**31+ element x and y: the workspace size is exact in Python ints, above 2**32 bytes.

    x is a zero-stride view (no memory); y is an untouched strided view (virtual memory only).
    """
    n = TWO31 + 4096
    x = as_strided(np.zeros(1, np.int8), (n // 4096, 4096), (0, 1))
    try:
        y_mem = np.empty((n // 4096, 8192), ml_dtypes.bfloat16)  # reserved, never touched by this test
    except MemoryError:
        pytest.skip("cannot reserve 8 GiB of virtual memory here (strict overcommit?)")
    y = y_mem[:, ::2]
    scale = np.ones(4096, ml_dtypes.bfloat16)
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(T(x), T(scale), T(scale[::-1]), 27, True, T(y))
    assert status == Status.ACLNN_SUCCESS and executor.staged == ("x", "y")
    align = lambda b: -(-b // 512) * 512
    assert size == (16 << 20) + align(4096 * 4) * 2 + align(n) + align(2 * n)
    assert size > 1 << 32


def periodic(n: int, base: np.ndarray) -> np.ndarray:
    """A length-``n`` array repeating ``base`` (one pass, no temporary larger than ``base``)."""
    out = np.empty(n, base.dtype)
    q = n // base.size
    out[:q * base.size].reshape(q, base.size)[...] = base
    out[q * base.size:] = base[:n - q * base.size]
    return out


def sample_positions(n: int, rng) -> np.ndarray:
    edges = [np.arange(0, 4096), np.arange(TWO31 - 4096, min(n, TWO31 + 4096)), np.arange(n - 4096, n)]
    return np.unique(np.concatenate(edges + [rng.integers(0, n, 20000)]))


def assert_periodic(y_flat: np.ndarray, block: np.ndarray) -> None:
    """y (flat) equals ``block`` repeated, compared a few hundred MB at a time (bits, NaNs included)."""
    m = block.size
    bits = block.view(np.uint16)
    q = y_flat.size // m
    step = max(1, (1 << 26) // m)
    for r in range(0, q, step):
        r1 = min(q, r + step)
        chunk = y_flat[r * m:r1 * m].reshape(r1 - r, m)
        if not (chunk.view(np.uint16) == bits).all():
            bad = np.argwhere(chunk.view(np.uint16) != bits)[0]
            raise AssertionError(f"y differs at flat index {(r + bad[0]) * m + bad[1]}")
    assert_same_bits(y_flat[q * m:], block[:y_flat.size - q * m])


@pytest.mark.bigmem
def test_int8_per_tensor_past_2_31_elements():
    n = TWO31 + 4096
    require_memory(3 * n, "int8 x of 2**31+4096 elements and its float16 y")
    rng = np.random.default_rng(31)
    base = rng.integers(-128, 128, 1_000_003, dtype=np.int8)          # 2**31 % 1_000_003 != 0
    x = periodic(n, base)
    scale, offset = np.array([0.0371], np.float32), np.array([-3.5], np.float32)
    y = ascend_anti_quant(x, scale, offset, dst_type=1)
    assert y.shape == (n,) and y.dtype == np.float16
    at = sample_positions(n, rng)
    want = reference.anti_quant(base[at % base.size], scale, offset, dst_type=1)   # x at `at`, derived from i
    assert_same_bits(y[at], want)
    assert_periodic(y, reference.anti_quant(base, scale, offset, dst_type=1))


@pytest.mark.bigmem
def test_int8_per_channel_rank8_past_2_31_elements():
    """Rank 8, huge and unit axes, per-channel bf16 scale and offset, bf16 out, sqrt mode."""
    shape = (1, 3, 1, 1, 1, 174763, 1, 4096)
    n = int(np.prod(shape))
    assert n > TWO31
    require_memory(3 * n, "int8 x of 2**31+ elements and its bfloat16 y")
    rng = np.random.default_rng(32)
    base = rng.integers(-128, 128, 4096 * 257, dtype=np.int8)          # whole rows; 2**31 % len != 0
    x = periodic(n, base).reshape(shape)
    scale = (rng.standard_normal(4096) * 0.1).astype(ml_dtypes.bfloat16)
    offset = rng.normal(0, 8, 4096).astype(ml_dtypes.bfloat16)
    y = ascend_anti_quant(x, scale, offset, dst_type=27, sqrt_mode=True)
    assert y.shape == shape and y.dtype == ml_dtypes.bfloat16
    flat = y.reshape(-1)
    at = sample_positions(n, rng)
    col = at % 4096
    want = reference.anti_quant(base[at % base.size], scale[col], offset[col], dst_type=27, sqrt_mode=True)
    assert_same_bits(flat[at], want)
    block = reference.anti_quant(base.reshape(-1, 4096), scale, offset, dst_type=27, sqrt_mode=True)
    assert_periodic(flat, block.reshape(-1))


@pytest.mark.bigmem
def test_int32_x_whose_y_passes_2_31_elements():
    """(2**18+1, 1024) words of 8 int4: y is (2**18+1, 8192), 2**31+8192 elements, per-channel float32."""
    rows, words = (1 << 18) + 1, 1024
    n = rows * words * 8
    assert n > TWO31
    require_memory(rows * words * 4 + 2 * n, "int32 x of 2**28+ words and its 2**31+ element float16 y")
    rng = np.random.default_rng(33)
    base = rng.integers(-2**31, 2**31, words * 3, dtype=np.int64).astype(np.int32)   # 3 rows a period
    x = periodic(rows * words, base).reshape(rows, words)
    scale = (rng.standard_normal(8 * words) * 0.3).astype(np.float32)
    y = ascend_anti_quant(x, scale, dst_type=1)
    assert y.shape == (rows, 8 * words)
    flat = y.reshape(-1)
    at = sample_positions(n, rng)
    word = base[(at // 8) % base.size].astype(np.int64)
    values = ((((word >> (4 * (at % 8))) & 15) ^ 8) - 8).astype(np.int8)     # nibble i of word, low first
    assert_same_bits(flat[at], reference.anti_quant(values, scale[at % (8 * words)], dst_type=1))
    block = reference.anti_quant(base.reshape(3, words), scale, dst_type=1)
    assert_periodic(flat, block.reshape(-1))
