"""The kernels' 8-bit float sources (every one of the 256 codes of each format) and per-head scales, called
directly, against float32 steps over ``antiquant.core.reference``'s own decoding (no code shared with
``kernels.decoders``). Raw bits are compared, NaN included."""

import itertools

import ml_dtypes
import numpy as np
import pytest

from antiquant import kernels, tiling
from antiquant.core import reference
from antiquant.core.dtypes import DataType
from antiquant.kernels.bits import target_has_f16c
from antiquant.kernels.lookup import BLOCK, LANES, target_has_shuffle_lookup, target_has_vector_lookup
from antiquant.kernels.staged import UbLayout

FORMATS = {"hifloat8": reference.hifloat8_values,
           "float8_e5m2": lambda c: reference.float8_values(c, DataType.FLOAT8_E5M2),
           "float8_e4m3fn": lambda c: reference.float8_values(c, DataType.FLOAT8_E4M3FN)}
DST = {True: ml_dtypes.bfloat16, False: np.float16}
CODES = np.arange(256, dtype=np.uint8)


def expected(values, scale, offset, bf16):
    """float32 steps (docs/spec.md section 1): + offset, * scale, one rounding to y's dtype."""
    with np.errstate(all="ignore"):
        v = values if offset is None else values + offset
        return (v * scale).astype(DST[bf16]).view(np.uint16)


def table(rows, cols, tile_rows, tile_cols, cores=2):
    """Tiles of ``tile_rows x tile_cols`` over ``[rows, cols]``, dealt to ``cores`` in row bands."""
    g = [tiling.tiles.grid(c, r0, min(rows, r0 + tile_rows * 2), 0, cols, tile_rows, tile_cols)
         for c, r0 in zip(itertools.cycle(range(cores)), range(0, rows, tile_rows * 2))]
    g.sort(key=lambda t: t[0])
    grids = tiling.tiles.grids(g)
    return tiling.tiles.table(grids), tiling.tiles.core_offsets(grids, cores)


def run(source, bf16, along, has_offset, x, scale, offset, mode, tile_cols=64, **flags):
    """One kernel call over ``x`` ([rows, cols] codes); scale/offset float32 as the kernels take them."""
    rows, cols = x.shape
    per_channel, per_head = along == "columns", along == "rows"
    y = np.full((rows, cols), 0xABCD, np.uint16)
    tiles, offsets = table(rows, cols, 3, tile_cols)
    s2, o2 = scale.reshape(1, -1), (scale if offset is None else offset).reshape(1, -1)
    if mode == "fused":
        kernels.fused_kernel(source, bf16, per_channel, has_offset, per_head=per_head, **flags)(x, s2, o2, y, tiles)
    else:
        tc = tile_cols                  # two slots each of 3 rows of x and y, then one tile's scale and offset
        ub_bytes = 3 * tc * 3 * 2 + 2 * 4 * tc + 64
        layout = UbLayout(x_offset=0, x_slot=3 * tc, y_offset=3 * tc * 2, y_slot=3 * tc * 2,
                          scale_offset=3 * tc * 3 * 2, offset_offset=3 * tc * 3 * 2 + 4 * tc, buffers=2)
        ub = np.zeros((2, ub_bytes), np.uint8)
        kernels.staged_kernel(source, bf16, per_channel, has_offset, per_head=per_head, **flags)(
            x, s2, o2, y, tiles, offsets, ub, layout)
    return y


# How codes are decoded a block at a time: by table lookups (one by one, AVX2 vpshufb, AVX-512BW vpermi2w) or
# composed bits, each this CPU can run
LOOKUP_KINDS = (["scalar", "compose"] if target_has_f16c() else []) + (
    ["shuffle"] if target_has_shuffle_lookup() else []) + (["vector"] if target_has_vector_lookup() else [])
# ... or by the portable decoders, or the F16C ones
PATHS = ([{"hw_f16": False}] + ([{"hw_f16": True, "lookup": "none"}] if target_has_f16c() else [])
         + [{"hw_f16": True, "lookup": how} for how in LOOKUP_KINDS])


# Every format to both destinations through the fused kernel; each scale layout and the staged kernel on a
# rotation of formats (each specialisation compiles for about a second in a fresh checkout).
COMBOS = ([(s, bf16, "columns", True, "fused") for s in FORMATS for bf16 in (True, False)]
          + [(s, bf16, along, off, mode) for (s, (along, off, mode)), bf16 in zip(
              zip(itertools.cycle(FORMATS), [("none", False, "fused"), ("rows", True, "fused"),
                                            ("columns", False, "staged"), ("rows", True, "staged"),
                                            ("none", True, "staged")]), itertools.cycle((True, False)))])


@pytest.mark.parametrize("source,bf16,along,has_offset,mode", COMBOS, ids=str)
def test_every_code_of_every_format(source, bf16, along, has_offset, mode):
    """A [16, 256] x holding all 256 codes in each row (shifted per row), through every scale layout."""
    rng = np.random.default_rng(3)
    x = np.stack([np.roll(CODES, 17 * r) for r in range(16)])
    n = {"none": 1, "columns": 256, "rows": 5}[along]
    scale = (rng.standard_normal(n) * 2).astype(np.float32)
    offset = (rng.standard_normal(n) * 3).astype(np.float32) if has_offset else None
    values = FORMATS[source](x)
    if along == "rows":
        rows = np.arange(16) % n
        s, o = scale[rows, None], None if offset is None else offset[rows, None]
    else:
        s, o = (scale if n > 1 else scale[0]), (offset if n > 1 or offset is None else offset[0])
    want = expected(values, s, o, bf16)
    for flags in PATHS:
        got = run(source, bf16, along, has_offset, x, scale, offset, mode, **flags)
        np.testing.assert_array_equal(got, want, err_msg=f"{source} {flags}")


@pytest.mark.skipif(not target_has_f16c(), reason="this CPU has no F16C: no table lookups to check")
@pytest.mark.parametrize("width", [LANES - 1, LANES + 5, BLOCK, BLOCK + LANES + 3, 2 * BLOCK + 7])
@pytest.mark.parametrize("mode", ["fused", "staged"])
@pytest.mark.parametrize("how", LOOKUP_KINDS)
def test_table_lookups_cover_whole_blocks_and_tails(width, mode, how):
    """Rows one tile wide: spans of whole lookups, a tail shorter than a lookup, more than one block."""
    x = np.stack([np.roll(np.resize(CODES, width), 11 * r) for r in range(7)])
    scale = np.float32([1.5])
    want = expected(FORMATS["hifloat8"](x), scale[0], None, True)
    got = run("hifloat8", True, "none", False, x, scale, None, mode, tile_cols=width, lookup=how)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("source,streaming,parallel", [(s, True, True) for s in FORMATS] + [("hifloat8", False, False)])
# the default path of this CPU, streaming stores on bursts of odd, wide rows
def test_streaming_and_serial_kernels(source, streaming, parallel):
    x = np.tile(CODES, (9, 33))[:, 3:8000]           # rows of several bursts, odd width
    x = np.ascontiguousarray(x)
    scale = np.float32([0.75])
    got = run(source, True, "none", False, x, scale, None, "fused", streaming=streaming, parallel=parallel)
    np.testing.assert_array_equal(got, expected(FORMATS[source](x), scale[0], None, True))


@pytest.mark.parametrize("heads,dim", [(1, 64), (7, 1), (5, 130), (64, 128), (3, 4096)])
@pytest.mark.parametrize("mode", ["fused", "staged"])
def test_per_head_rows_take_their_heads_values(heads, dim, mode):
    """Row r of [S*N, D] uses element r % N, whatever N against the tiles' row bands."""
    rng = np.random.default_rng(heads * dim)
    rows = 3 * heads + (1 if heads > 1 else 0)        # a last partial group of heads too
    x = rng.integers(-128, 128, (rows, dim), dtype=np.int8)
    scale = rng.random(heads, dtype=np.float32)
    offset = rng.standard_normal(heads).astype(np.float32)
    got = run("int8", False, "rows", True, x, scale, offset, mode)
    h = np.arange(rows) % heads
    want = expected(x.astype(np.float32), scale[h, None], offset[h, None], False)
    np.testing.assert_array_equal(got, want)


def test_per_head_and_per_channel_together_refused():
    with pytest.raises(ValueError, match="per_head"):
        kernels.fused_kernel("int8", True, True, False, per_head=True)


def test_each_target_decodes_by_its_fastest_path(monkeypatch):
    """Vector lookups for every 8-bit float where AVX-512BW is; else, with AVX2, shuffle lookups for HiF8 and
    composed bits for E5M2 and E4M3FN; else HiF8 by scalar lookups, FLOAT8 by their decoders; without F16C,
    and for integer x, decoders only; a forced path is checked."""
    from antiquant.kernels import lookup
    from antiquant.kernels.dequant import decoding
    targets = {(True, True): ["vector"] * 3, (True, False): ["vector"] * 3,
               (False, True): ["shuffle", "compose", "compose"], (False, False): ["scalar", "none", "none"]}
    for (vector, shuffle), want in targets.items():
        monkeypatch.setattr(lookup, "target_has_vector_lookup", lambda vector=vector: vector)
        monkeypatch.setattr(lookup, "target_has_shuffle_lookup", lambda shuffle=shuffle: shuffle)
        assert [decoding(s, True, None)[1] for s in FORMATS] == want
        assert decoding("hifloat8", False, None) == (False, "none")
        assert decoding("int8", True, "scalar") == (True, "none")
    with pytest.raises(ValueError, match="lookup: expected one of"):
        decoding("hifloat8", True, "gather")
    with pytest.raises(ValueError, match="F16C"):
        decoding("hifloat8", False, "scalar")


def test_a_forced_path_the_target_lacks_is_refused_before_compiling(monkeypatch):
    """A kernel built with instructions the CPU lacks would kill the process (SIGILL): forcing one is a
    ValueError naming the missing instructions, on every target kind; what the target has is accepted."""
    from antiquant.kernels import dequant, lookup
    from antiquant.kernels.dequant import decoding
    for vector, shuffle in [(True, True), (False, True), (False, False)]:
        monkeypatch.setattr(lookup, "target_has_vector_lookup", lambda vector=vector: vector)
        monkeypatch.setattr(lookup, "target_has_shuffle_lookup", lambda shuffle=shuffle: shuffle)
        for how, has, lacks in [("vector", vector, "AVX-512BW"), ("shuffle", shuffle, "AVX2")]:
            if has:
                assert decoding("hifloat8", True, how) == (True, how)
            else:
                with pytest.raises(ValueError, match=f"lookup: '{how}' needs {lacks}"):
                    decoding("hifloat8", True, how)
                with pytest.raises(ValueError, match=lacks):
                    # past the cache: a kernel the real target built earlier would be returned from it
                    kernels.fused_kernel.__wrapped__("float8_e4m3fn", True, False, False, hw_f16=True, lookup=how)
            assert decoding("int8", True, how) == (True, "none")   # integer x never looks codes up
    monkeypatch.setattr(dequant, "target_has_f16c", lambda: False)
    with pytest.raises(ValueError, match="hw_f16: this CPU .* has no F16C"):
        decoding("int8", True, None)
    assert decoding("int8", None, None) == (False, "none")


def test_shuffle_lookup_sets_apart_only_codes_not_signed_like_their_magnitude():
    """HiF8's NaN 0x80 (magnitude zero, value +NaN) is the one code of the three formats whose binary16 bits
    are not its magnitude's with the code's sign as bit 15 (docs/spec.md 8.4)."""
    from antiquant.kernels.lookup import code_table, sign_exceptions
    assert {s: sign_exceptions(code_table(s)) for s in FORMATS} == {
        "hifloat8": {0x80: 0x7E00}, "float8_e5m2": {}, "float8_e4m3fn": {}}
