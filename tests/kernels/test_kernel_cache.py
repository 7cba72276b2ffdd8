"""Numba's disk cache must hit in a new process, keep each case's code apart, and follow every source file
a kernel inlines, not just the one defining it."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from kernels import UbLayout, fused_kernel, staged_kernel  # the copy in argv[1], under its folder name
    from antiquant.tiling import TILE_DTYPE
    x = np.ones((1, 16), np.int8)
    scale = np.full((1, 1), 1 + 2.0 ** -8, np.float32)   # 1 + 2**-8: a bfloat16 tie, rounds to even (1.0)
    tiles = np.array([(0, 0, 1, 0, 16)], TILE_DTYPE)
    staged_args = (np.array([0, 1], np.int64), np.zeros((1, 128), np.uint8), UbLayout(0, 32, 32, 64, -1, -1, 1))
    hits = 0
    for kernel, extra in ((fused_kernel("int8", True, False, False, parallel=False), ()),
                          (fused_kernel("int8", False, False, False, parallel=False), ()),   # float16: exact
                          (staged_kernel("int8", True, False, False), staged_args)):
        y = np.zeros((1, 16), np.uint16)
        kernel(x, scale, scale, y, tiles, *extra)
        hits += sum(kernel.stats.cache_hits.values())
        print(hex(int(y[0, 0])), end=" ")
    print(hits)
""")


def test_disk_cache_follows_the_helpers_it_inlines(tmp_path):
    """A second process loads every kernel from the cache; after editing bits.py alone (not the file a kernel
    is defined in) none is loaded stale."""
    shutil.copytree(ROOT / "kernels", tmp_path / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def probe():
        done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        *bits, hits = done.stdout.split()
        return bits, int(hits)

    # Both cases of the fused kernel share its cache index: each must find its own code there.
    assert probe() == (["0x3f80", "0x3c04", "0x3f80"], 0)   # compiled and saved
    assert probe() == (["0x3f80", "0x3c04", "0x3f80"], 3)   # loaded from the cache
    bits_py = tmp_path / "kernels" / "bits.py"
    source = bits_py.read_text()
    assert "_U(0x7FFF)" in source
    bits_py.write_text(source.replace("_U(0x7FFF)", "_U(0x8000)"))   # bfloat16 ties now round up
    assert probe() == (["0x3f81", "0x3c04", "0x3f81"], 0)   # recompiled from the edited helper, not stale
