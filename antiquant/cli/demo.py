"""Dequantize an LLM-sized weight (int8 and int4) on the CPU, check it bit-exact, and compare speed with numpy."""

from __future__ import annotations

import time

from ..bench.machine import cache_bytes
from ..bench.timing import repeated
from ..core import reference
from ..core.api import ascend_anti_quant


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=4096, help="weight rows (default 4096)")
    parser.add_argument("--cols", type=int, default=11008, help="weight columns (default 11008, a multiple of 8)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case; the median is shown")


def cases(rows: int, cols: int):
    """(label, x, scale, offset, dst_type): an int8 weight per channel, an int4 weight (INT32-packed)."""
    yield ("int8  -> bfloat16, per-channel scale+offset",
           *reference.random_inputs((rows, cols), "int8", offset=True, seed=2024), 27)
    yield ("int4  -> float16,  per-channel scale (INT32, 8 per word)",
           *reference.random_inputs((rows, cols), "int32", scale_dtype="bfloat16", seed=2025), 1)


def cache_note(rows: int, cols: int, traffic: int, caches: dict[str, int]) -> str:
    """Whether the largest case's x and y (``traffic`` bytes) fit the CPU's last-level cache, so whether these
    speeds are the cache's or DRAM's; ``caches`` as ``bench.machine.cache_bytes`` gives them."""
    bench = "`python -m antiquant.bench` measures DRAM-sized streams"
    if not caches:
        return f"This CPU's cache sizes are unknown, so these may be cache speeds; {bench}."
    name, size = list(caches.items())[-1]
    moved = f"A {rows}x{cols} weight's x and y ({traffic / 1e6:.1f} MB)"
    if traffic <= size:
        return f"{moved} fit this CPU's {name} cache ({size / 1e6:.1f} MB), so these are cache speeds;\n  {bench}."
    return f"{moved} exceed this CPU's {name} cache ({size / 1e6:.1f} MB): these are DRAM speeds."


def run(args) -> int:
    if args.rows <= 0 or args.cols <= 0 or args.cols % 8 or args.repeat <= 0:
        raise ValueError("--rows and --repeat must be positive and --cols a positive multiple of 8")
    print(f"antiquant demo: dequantizing a {args.rows} x {args.cols} weight on the CPU "
          f"(median of {args.repeat} runs)")
    all_exact, largest = True, 0
    for label, x, scale, offset, dst in cases(args.rows, args.cols):
        start = time.perf_counter()
        out = ascend_anti_quant(x, scale, offset, dst_type=dst)
        first = time.perf_counter() - start
        expected = reference.anti_quant(x, scale, offset, dst_type=dst)
        exact = reference.same_bits(out, expected)
        all_exact &= exact
        traffic = x.nbytes + out.nbytes
        largest = max(largest, traffic)
        ours = repeated(lambda: ascend_anti_quant(x, scale, offset, dst_type=dst, out=out), args.repeat).median
        numpy_s = repeated(lambda: reference.anti_quant(x, scale, offset, dst_type=dst), args.repeat).median
        print(f"  {label}")
        print(f"    bit-exact vs reference: {'yes' if exact else 'NO'}   first call {first * 1e3:.0f} ms "
              f"(compile or cache load)")
        print(f"    antiquant {traffic / ours / 1e9:7.2f} GB/s ({ours * 1e3:7.2f} ms)   numpy+ml_dtypes "
              f"{traffic / numpy_s / 1e9:6.2f} GB/s ({numpy_s * 1e3:7.2f} ms)   {numpy_s / ours:5.1f}x faster")
    print("  GB/s counts bytes of x read plus y written.")
    print(f"  {cache_note(args.rows, args.cols, largest, cache_bytes())}")
    if not all_exact:
        print("antiquant demo: MISMATCH against the reference")
        return 1
    return 0
