"""First call in a fresh process: prints JSON with the import of antiquant, the first call (compile or cache
load) and the second call timed apart.

The suite runs ``LAUNCH`` (``python -c LAUNCH SOURCE DST PER_CHANNEL OFFSET``) in a subprocess with its own
``NUMBA_CACHE_DIR``: the first run compiles, the next loads the cache. It starts the clock before importing
antiquant; ``python -m antiquant.bench.fresh ...`` works too, but imports antiquant (this module's package)
before any clock can start, so its import time reads about 0.
"""

import json
import sys
import time


LAUNCH = ("import sys, time; start = time.perf_counter(); import antiquant; "
          "from antiquant.bench.fresh import main; main(sys.argv[1:], start)")


def main(argv: list[str], start: float) -> None:
    """Time the import (since ``start``), then the first and second call of the case ``argv`` names."""
    import antiquant
    imported = time.perf_counter()

    from .cases import Case, make_inputs
    source, dst, per_channel, offset = argv
    inputs = make_inputs(Case(source, dst, per_channel == "1", offset == "1"), 64, 1024)
    out = inputs.empty_out()

    def call():
        antiquant.ascend_anti_quant(inputs.x, inputs.scale, inputs.offset, dst_type=inputs.dst_code, out=out)

    t0 = time.perf_counter()
    call()
    t1 = time.perf_counter()
    call()
    t2 = time.perf_counter()
    print(json.dumps({"import_s": imported - start, "first_call_s": t1 - t0, "second_call_s": t2 - t1,
                      "shape": list(inputs.y_shape)}))


if __name__ == "__main__":
    main(sys.argv[1:], time.perf_counter())
