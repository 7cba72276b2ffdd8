"""Fuzz target for ``ascend_anti_quant``'s argument handling; atheris entry point, run by hand.

    pip install atheris                      # optional, not part of antiquant[test]
    python tests/fuzz_args.py -atheris_runs=200000

Every argument is picked from a menu of valid and hostile values. The only acceptable outcomes are a result
equal to the reference, or a refusal with a one-line message and x and ``out`` byte-for-byte untouched, of
the kinds docs/spec.md section 3 documents: an ``AclnnError``; a ``TypeError`` whose message starts with the
argument it is about ("x: ...", a wrong Python type); a ``ValueError`` only for antiquant's own options
("platform: ...", "strategy: ...", "mode: ..."). A TypeError or ValueError from deep inside numpy is a crash,
not a refusal, even where its text happens to start like one.
``tests/core/test_fuzz.py`` drives the same menus from hypothesis in CI.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import warnings

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import as_strided

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def _instrumented():
    """Run by hand under atheris: instrument antiquant as it is imported, but not antiquant.kernels (the
    repository's kernels/): Numba cannot compile a function whose bytecode atheris has instrumented."""
    if __name__ != "__main__":
        return contextlib.nullcontext()
    try:
        import atheris
    except ImportError:
        return contextlib.nullcontext()
    modules = ["antiquant.kernels"] + [f"antiquant.kernels.{f[:-3]}" for f in os.listdir(os.path.join(REPO, "kernels"))
                                       if f.endswith(".py")]
    return atheris.instrument_imports(include=["antiquant"], exclude=modules)  # exclude takes modules, not packages


with _instrumented():
    from antiquant import AclnnError, AclTensor, DataType, ascend_anti_quant, pack_int4, platforms, reference, tiling
    from antiquant.core.dtypes import datatype_of, dst_type_code, numpy_dtype_of
    from antiquant.core.validation import expected_y_shape

ALLOWED = (AclnnError, TypeError, ValueError)
# How the operator's own refusals begin ("x: expected ...", "dstType: ..."); numpy's or Python's errors
# escaping from inside (e.g. "cannot reshape array of size 3") name none of them.
ARGUMENT_NAMES = ("x", "scale", "offset", "dst_type", "dstType", "sqrt_mode", "sqrtMode", "out", "platform",
                  "strategy", "mode")
# The arguments that are antiquant's, not CANN's: only their refusals may be ValueErrors (docs/spec.md 3).
OWN_OPTIONS = ("platform", "strategy", "mode")
BF16 = ml_dtypes.bfloat16
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 3.4e38, 65520.0], np.float32)


def _read_only(a):
    a.flags.writeable = False
    return a


def _matrix(a):
    """``numpy.matrix(a)``: an ndarray subclass that stays 2-D through reshapes (without its deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(a)


def _ints(r, shape, lo=-128, hi=128):
    return r.integers(lo, hi, shape, dtype=np.int8)


# Each argument has a menu of valid values and one of hostile values. Scale and offset menus take y's last
# dimension ``n`` so that valid ones fit whatever x was drawn.
X_VALID = [
    lambda r: _ints(r, (2, 8)),
    lambda r: _ints(r, (3,)),
    lambda r: np.array(_ints(r, ()), np.int8),
    lambda r: _ints(r, (4, 16))[::2, ::-2],
    lambda r: _read_only(_ints(r, (2, 8))),
    lambda r: pack_int4(_ints(r, (2, 8), -8, 8), np.int32),
    lambda r: pack_int4(_ints(r, (2, 16), -8, 8), np.int32)[:, ::2],
    lambda r: np.array(pack_int4(_ints(r, (8,), -8, 8), np.int32)[0]),
    lambda r: _ints(r, (2, 8), -8, 8).astype(ml_dtypes.int4),
    lambda r: AclTensor.from_numpy(pack_int4(_ints(r, (2, 8), -8, 8)), dtype=DataType.INT4),
    lambda r: np.zeros((0, 8), np.int8),
    lambda r: _ints(r, (1,) * 6 + (2, 8)),
    lambda r: np.broadcast_to(_ints(r, (8,)), (2, 8)),
    lambda r: _ints(r, (2, 8, 3))[..., 1],
    lambda r: AclTensor.from_numpy(_ints(r, (2, 8))),
    lambda r: _matrix(_ints(r, (2, 8))),
]
X_HOSTILE = [
    lambda r: np.zeros((2, 16), ml_dtypes.int4)[:, ::2],
    lambda r: np.zeros((2, 7), ml_dtypes.int4),
    lambda r: np.zeros((1,) * 9 + (8,), np.int8),
    lambda r: r.random((2, 8)),
    lambda r: r.random((2, 8)).astype(np.float32),
    lambda r: np.ones((2, 8), np.complex64),
    lambda r: np.array([1, None, 3]),
    lambda r: np.zeros((2, 8), np.uint8),
    lambda r: np.zeros((2, 8), ">i4"),
    lambda r: np.zeros((2, 8), bool),
    lambda r: AclTensor(np.zeros(4, np.int8), DataType.INT8, (2, 8), False),
    lambda r: AclTensor([[1, 2]], DataType.INT8, (1, 2), False),
    lambda r: AclTensor(np.zeros((2, 4), np.int8), DataType.INT8, (2, 8), True),
    lambda r: AclTensor(np.zeros((2, 4), np.uint8), DataType.INT4, [2, 8], True),
    lambda r: np.ma.masked_array(_ints(r, (2, 8))),
    lambda r: AclTensor(np.ma.masked_array(_ints(r, (2, 8))), DataType.INT8, (2, 8), False),
    lambda r: np.zeros((2, 8), [("a", np.int8)]),
    lambda r: np.zeros((2, 8), "M8[s]"),
    lambda r: np.array([["7"] * 8] * 2),
    lambda r: np.zeros((2, 8), np.int64),
    lambda r: np.zeros((2, 8), ml_dtypes.uint4),
    lambda r: np.zeros((2, 8), ml_dtypes.int2),
    lambda r: np.zeros((2, 8), ml_dtypes.bfloat16),
    lambda r: np.zeros((2, 8), ml_dtypes.float8_e4m3fn),
    lambda r: np.zeros((), ml_dtypes.int4),
    lambda r: np.zeros((0,), ml_dtypes.int4),
    lambda r: np.zeros((2, 0), np.int32),
    lambda r: np.zeros((2, 8), np.int8).view([("a", np.int8)]),
    lambda r: memoryview(np.zeros(8, np.int8)),
    lambda r: np.broadcast_to(np.int8(1), (2**31, 2**31)),              # y past numpy's 2**63 - 1 bytes
    lambda r: np.broadcast_to(np.int32(1), (2**28, 2**31)),             # y (8 int4 a word) likewise
    lambda r: np.broadcast_to(np.int8(1), (2**60, 4)),                  # likewise, one long axis
    lambda r: np.broadcast_to(np.zeros((), ml_dtypes.int4), (200000, 200000)),  # strided int4, y 80 GB
    lambda r: AclTensor(np.zeros(4, np.int8), DataType.INT8, (2**40, 2**40), False),
    lambda r: [[1, 2], [3, 4]],
    lambda r: "x",
    lambda r: 7,
    lambda r: None,
]

SCALE_VALID = [
    lambda r, n: r.random(n).astype(np.float32),
    lambda r, n: r.random(1).astype(np.float32),
    lambda r, n: r.random(n).astype(BF16),
    lambda r, n: r.random(1).astype(BF16),
    lambda r, n: np.resize(SPECIALS, n),
    lambda r, n: np.resize(SPECIALS, n).astype(BF16),
    lambda r, n: r.random(2 * n).astype(np.float32)[::-2],
    lambda r, n: _read_only(r.random(n).astype(np.float32)),
    lambda r, n: np.broadcast_to(np.float32(0.5), (n,)),
    lambda r, n: AclTensor.from_numpy(r.random(n).astype(BF16)),
]
SCALE_HOSTILE = [
    lambda r, n: r.random(n + 2).astype(np.float32),
    lambda r, n: np.zeros(0, np.float32),
    lambda r, n: np.array(1.0, np.float32),
    lambda r, n: np.ones((1, n), np.float32),
    lambda r, n: np.ones(n),
    lambda r, n: np.ones(n, np.float16),
    lambda r, n: np.ones(n, np.complex128),
    lambda r, n: [1.0] * n,
    lambda r, n: 0.5,
    lambda r, n: "scale",
    lambda r, n: np.ones(n, ">f4"),
    lambda r, n: np.ones(n, [("a", np.float32)]),
    lambda r, n: np.ones(n, object),
    lambda r, n: _matrix(np.ones(n, np.float32)),
    lambda r, n: np.ma.masked_array(r.random(n).astype(np.float32)),
    lambda r, n: np.ones(n, ml_dtypes.float8_e4m3fn),
    lambda r, n: np.ones(n, np.float32).view(np.int32),
    lambda r, n: np.array(1.0, BF16),
    lambda r, n: np.ones((n, 0), np.float32),
    lambda r, n: AclTensor(np.ones(n, np.float32), DataType.BF16, (n,), False),
    lambda r, n: np.ones(n, np.float32).tolist(),
    lambda r, n: np.broadcast_to(np.float32(1), (2**40,)),
    lambda r, n: np.broadcast_to(np.float32(1), (2**30, 2**30)),
    lambda r, n: None,
]

DST_VALID = [1, 27, "float16", "bfloat16", "BF16", np.float16, BF16, DataType.FLOAT16, DataType.BF16, np.int64(27),
             np.dtype(np.float16), np.dtype(BF16), np.int8(1), np.str_("bf16"), "half"]
DST_HOSTILE = [0, -1, 2, 29, 2 ** 63, True, False, 1.0, float("nan"), None, "fp32", "", [1], np.float32,
               np.float16(1), DataType.FLOAT, 10 ** 30, -2 ** 70, b"float16", " float16", np.dtype(">f2"),
               np.dtype(np.float32), DataType.INT4, "int4", np.array(27), np.array([1]), np.uint64(2 ** 64 - 1),
               float("inf"), 27.0, 1 + 0j, object()]

SQRT_VALID = [False, True, np.bool_(True), np.bool_(False)]
SQRT_HOSTILE = [0, 1, None, "False", 1.0, np.array([True]), np.array(True), np.int64(1), b"", [], object()]

_A2 = platforms.get("Ascend910B")
PLATFORM_VALID = ["Ascend910B", "Ascend910B4", "Ascend310P", platforms.get("Ascend310P"),
                  _A2.with_overrides(vector_cores=1), _A2.with_overrides(vector_cores=3, ub_bytes=65536)]
PLATFORM_HOSTILE = ["Ascend999", "", None, 910, ["Ascend910B"], "ascend910b", b"Ascend910B",
                    _A2.with_overrides(ub_bytes=8192), _A2.with_overrides(ub_bytes=2048), object()]

STRATEGY_VALID = sorted(tiling.STRATEGIES) + [tiling.Strategy("cann", buffers=1),
                                             tiling.Strategy("row-batched", buffers=3),
                                             tiling.Strategy("column-split", base_n=1, base_len=32)]
STRATEGY_HOSTILE = ["no-such-strategy", None, 3, ["cann"], "CANN", b"cann",
                    tiling.Strategy("cann", ub_budget=tiling.MIN_UB_BUDGET),
                    tiling.Strategy("equal-bytes", ub_budget=1 << 30),
                    tiling.Strategy("row-batched", base_n=1 << 20, base_len=1 << 20, buffers=3)]

MODE_MENU = ["ub", "fused", "no-such-mode", None, 1, "UB", "", ["ub"], b"ub"]


# y shapes up to this many elements shape the scale and out menus; past it (the enormous hostile x) they are
# made for the guess (2, 8): a valid scale or out for such an x would not fit in memory.
MENU_ELEMENTS = 1 << 20


def _y_layout(x, dst):
    """y's shape and dtype for this x and dst_type where they can be told, else a guess."""
    try:
        shape = expected_y_shape(x if isinstance(x, AclTensor) else AclTensor.from_numpy(x))
    except (TypeError, ValueError, AttributeError):
        shape = (2, 8)
    if math.prod(shape) > MENU_ELEMENTS:
        shape = (2, 8)
    try:
        dtype = numpy_dtype_of(dst_type_code(dst))
    except AclnnError:
        dtype = np.dtype(np.float16)
    return shape, dtype


def _out_valid(shape, dtype):
    return [
        lambda: None,
        lambda: np.full(shape, 5, dtype),
        lambda: np.full((*shape, 2), 5, dtype)[..., 1],
        lambda: _matrix(np.full(shape, 5, dtype)) if len(shape) == 2 else None,
        lambda: AclTensor.from_numpy(np.full(shape, 5, dtype)),
    ]


def _out_hostile(shape, dtype):
    other = np.dtype(BF16) if dtype == np.float16 else np.dtype(np.float16)
    menu = [
        lambda: _read_only(np.full(shape, 5, dtype)),
        lambda: np.full(shape, 5, np.float32),
        lambda: np.full(shape, 5, other),
        lambda: np.full((*shape, 2), 5, dtype),
        lambda: [5.0] * 16,
        lambda: np.full(shape, 5, dtype.newbyteorder(">")),
        lambda: np.ma.masked_array(np.full(shape, 5, dtype)),
        lambda: AclTensor(np.ma.masked_array(np.full(shape, 5, dtype)), DataType(datatype_of(dtype)), shape, False),
        lambda: np.full(shape, 5, dtype).view(np.uint16),
        lambda: memoryview(np.full(shape, 5, dtype).view(np.uint16)),
        lambda: np.full(shape, 5, dtype)[None],
        lambda: np.broadcast_to(np.zeros((), dtype), (2**30, 2**31)),
    ]
    if len(shape) >= 2 and shape[-1] > 0:
        menu.append(lambda: as_strided(np.full(shape[-1], 5, dtype), shape, (0,) * (len(shape) - 1) + (dtype.itemsize,)))
    return menu


ARGUMENTS = ("x", "scale", "offset", "dst_type", "sqrt_mode", "platform", "strategy", "out")


def draw_call(pick):
    """A call ``(x, scale, offset, kwargs)``; ``pick(label, options)`` chooses one option (hypothesis or atheris).

    One argument (or none, or all) is drawn from its hostile menu, the others from their valid menus, so
    each rule is met alone as well as in a crowd.
    """
    hostile = pick("hostile argument", (None,) + ARGUMENTS + ("all",))
    menu = lambda name, valid, bad: (bad if hostile == name else valid + bad if hostile == "all" else valid)
    r = np.random.default_rng(pick("seed", range(8)))
    x = pick("x", menu("x", X_VALID, X_HOSTILE))(r)
    shape, _ = _y_layout(x, 1)
    n = shape[-1] if shape else 1
    scale = pick("scale", menu("scale", SCALE_VALID, SCALE_HOSTILE))(r, max(n, 1))
    offset = None
    if pick("pass offset", (False, True)) or hostile == "offset":
        offset = pick("offset", menu("offset", SCALE_VALID, SCALE_HOSTILE))(r, max(n, 1))
    kwargs = {}
    if pick("pass dst_type", (True, False)) or hostile == "dst_type":
        kwargs["dst_type"] = pick("dst_type", menu("dst_type", DST_VALID, DST_HOSTILE))
    if pick("pass sqrt_mode", (True, False)) or hostile == "sqrt_mode":
        kwargs["sqrt_mode"] = pick("sqrt_mode", menu("sqrt_mode", SQRT_VALID, SQRT_HOSTILE))
    if pick("pass platform", (False, True)) or hostile == "platform":
        kwargs["platform"] = pick("platform", menu("platform", PLATFORM_VALID, PLATFORM_HOSTILE))
    params = inspect.signature(ascend_anti_quant).parameters
    if "strategy" in params and (pick("pass strategy", (False, True)) or hostile == "strategy"):
        kwargs["strategy"] = pick("strategy", menu("strategy", STRATEGY_VALID, STRATEGY_HOSTILE))
    if "mode" in params and pick("pass mode", (False, True)):
        kwargs["mode"] = pick("mode", MODE_MENU)
    shape, dtype = _y_layout(x, kwargs.get("dst_type", 1))
    out = pick("out", menu("out", _out_valid(shape, dtype), _out_hostile(shape, dtype)))()
    if pick("out shares x's buffer", (False, True)) and isinstance(x, np.ndarray) and x.flags.c_contiguous \
            and not x.dtype.hasobject:
        # x and a fitting out cut from one buffer, out starting before, inside or just after x's bytes
        start = pick("out start", (0, 1, x.nbytes // 2, max(x.nbytes - 1, 0), x.nbytes, x.nbytes + 2))
        size = int(np.prod(shape)) * dtype.itemsize
        buf = np.zeros(max(x.nbytes, start + size) + 8, np.uint8)
        buf[:x.nbytes] = x.reshape(-1).view(np.uint8)
        x = buf[:x.nbytes].view(x.dtype).reshape(x.shape)
        out = buf[start:start + size].view(dtype).reshape(shape)
    if out is not None:
        kwargs["out"] = out
    return x, scale, offset, kwargs


def _bytes(a):
    """The bytes ``a`` addresses (each once: a broadcast axis is read at 0), or None for what has none."""
    a = a.array if isinstance(a, AclTensor) else a
    if not isinstance(a, np.ndarray) or not isinstance(a.base, (type(None), np.ndarray)):
        return None
    return a[tuple(0 if stride == 0 and n else slice(None) for stride, n in zip(a.strides, a.shape))].tobytes()


def names_an_argument(message: str, names=ARGUMENT_NAMES) -> bool:
    """True for a one-line message that starts with an argument's name (one of ``names``) and a colon, as the
    operator's do."""
    name, colon, _ = message.partition(":")
    return bool(colon) and name in names and "\n" not in message


def documented_refusal(err: Exception) -> bool:
    """An AclnnError, a TypeError naming its argument, or a ValueError naming one of antiquant's options."""
    if isinstance(err, AclnnError):
        return True
    names = ARGUMENT_NAMES if isinstance(err, TypeError) else OWN_OPTIONS
    return type(err) in (TypeError, ValueError) and names_an_argument(str(err), names)


def check_call(x, scale, offset, kwargs) -> str:
    """Run one call; raise AssertionError on any unacceptable outcome. Returns "ok" or the refusal's type."""
    out = kwargs.get("out")
    x_before, out_before = _bytes(x), _bytes(out)
    try:
        y = ascend_anti_quant(x, scale, offset, **kwargs)
    except ALLOWED as err:
        message = str(err)
        assert message and "\n" not in message, f"{type(err).__name__} message not one line: {message!r}"
        assert documented_refusal(err), \
            f"{type(err).__name__} is not a documented refusal naming its argument: {message!r}"
        assert _bytes(x) == x_before, "a refused call changed x"
        assert _bytes(out) == out_before, "a refused call wrote into out"
        return type(err).__name__
    assert isinstance(y, np.ndarray)
    if out is not None:
        assert y is (out.array if isinstance(out, AclTensor) else out), "the result is not out"
    want = reference.anti_quant(x, scale, offset, dst_type=dst_type_code(kwargs.get("dst_type", 1)),
                                sqrt_mode=bool(kwargs.get("sqrt_mode", False)))
    problem = reference.first_difference(y, want)
    assert problem is None, f"result differs from reference: {problem}"
    return "ok"


def atheris_main(argv) -> int:
    try:
        import atheris
    except ImportError:
        print("fuzz_args: atheris is not installed (pip install atheris); "
              "tests/core/test_fuzz.py runs the same menus under hypothesis", file=sys.stderr)
        return 0

    def one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        check_call(*draw_call(lambda label, menu: list(menu)[fdp.ConsumeIntInRange(0, len(menu) - 1)]))

    atheris.Setup(argv, one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(atheris_main(sys.argv))
