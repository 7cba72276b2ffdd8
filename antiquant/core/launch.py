"""Launch: a validated call bound to its tile plan and workspace layout, run by the generated kernel.

Both API layers take this one path: ``prepare`` validates (``core.validation``), plans (``antiquant.tiling``,
the platform's host tiling) and derives a ``Launch``; ``Launch.run`` prepares scale/offset in the
workspace, stages non-contiguous tensors and calls the kernel. The caches that let a repeated Pythonic call
go straight to the kernel live here too: launches by call signature, each thread's workspace, and the
memory of each thread's last large output.

The workspace is real memory: after the platform's system workspace it holds the float32 scale/offset (sqrt
mode applied, split into the kernels' lanes) and staging copies of any non-contiguous x or y, so kernels
only ever see contiguous data.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import threading

import numpy as np

from .. import kernels, tiling
from . import platforms, threads
from .dtypes import FLOAT8_TYPES, NAMES, DataType
from .validation import CheckedCall, check_call

__all__ = ["Launch", "MODES", "check_options", "prepare", "thread_workspace", "new_output", "signature", "cached",
           "remember", "PARALLEL_MIN_ELEMENTS", "STREAMING_MIN_BYTES"]

ALIGN = 512  # workspace regions start on GM-block boundaries
# Outputs smaller than this run on the calling thread: waking the thread team costs more than it saves
# (about 2 us idle, a scheduler time slice on a busy machine).
PARALLEL_MIN_ELEMENTS = 1 << 15
# Outputs at least this large are written with streaming stores (``kernels.fused_kernel(streaming=True)``),
# which skip reading y's lines before writing them but leave nothing in cache. Measured here with 2 threads
# and repeated calls: from 90 MB of output they won on every path tried (int8->fp16 per-tensor 1.6x); at
# 40 MB int8->bf16 per-channel with offset lost (69% of the copy against 94%), its y still cached between
# calls.
STREAMING_MIN_BYTES = 64 << 20


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclasses.dataclass(frozen=True)
class Region:
    """A byte range of the workspace."""

    start: int
    nbytes: int

    def view(self, workspace: np.ndarray, dtype, shape) -> np.ndarray:
        """The region as a C-contiguous ``shape`` of ``dtype`` (``nbytes`` of them): one constructor call,
        half the cost of slicing, viewing and reshaping the workspace."""
        return np.ndarray(shape, dtype, workspace, self.start)


def _source_name(call: CheckedCall) -> str:
    """The kernels' name for how x is stored (``kernels.SOURCES``)."""
    x = call.x
    if x.dtype in FLOAT8_TYPES:
        return NAMES[x.dtype].name
    if x.dtype == DataType.INT8:
        return "int8"
    if x.dtype == DataType.INT32:
        return "int32"
    return "int4" if x.packed else "int4_unpacked"


def _column_order(source: str, plan: tiling.TilePlan, mode: str) -> bool:
    """Whether the fused kernel reads a two-lane source's per-channel scale/offset in column order
    (``kernels.fused_kernel``'s ``column_order``) rather than split into lanes: for one row, where the split
    (a pass over 8 bytes a column, more than x and y move) would be read once. Measured here on 1 x 16384
    int4 -> bf16 with offset: the split 5.0 us, then 3.8 for the kernel without first-NaN selects (the split
    looked for NaNs), against 7-10 for the kernel on them as they are, with the selects; the call 22 -> 15 us."""
    return (mode == "fused" and plan.dims[0] == 1 and plan.scale.along == "columns"
            and kernels.SOURCES[source].lanes == 2)


def _lanes(source: str, along: str, column_order: bool) -> int:
    """How many lanes the kernels read scale/offset in (``kernels.dequant_span``): a source's lanes per
    channel, else (or in column order) 1 (one value per tensor, or per row per head)."""
    return kernels.SOURCES[source].lanes if along == "columns" and not column_order else 1


def _needs_preparing(t, square: bool, lanes: int) -> bool:
    """Whether scale/offset must be converted in the workspace: kernels read contiguous float32 only,
    split into lanes."""
    return square or t.dtype != DataType.FLOAT or not t.is_contiguous() or lanes > 1


def _prepared(array: np.ndarray, region: Region | None, workspace, square: bool,
              lanes: int) -> tuple[np.ndarray, bool | None]:
    """scale/offset as the kernels read them: float32 ``[lanes, size / lanes]`` (squared in sqrt mode), the
    array itself or a workspace copy; and whether it holds a NaN, known for a copy (None: not looked at)."""
    if region is None:   # a 1-D one by indexing: a third of a reshape's cost
        return (array[None] if array.ndim == 1 else array.reshape(1, -1)), None
    values = region.view(workspace, np.float32, (lanes, array.size // lanes))
    flat = np.ascontiguousarray(array, np.float32)
    if flat.ndim != 1:      # a multi-dimensional scale (a reshape costs a 1-D one 0.7 us)
        flat = flat.reshape(-1)
    holds_nan = kernels.split_lanes(flat, values, square)  # Numba: inf/NaN raise nothing
    return values, holds_nan


def _may_hold_nan(values: np.ndarray, known: bool | None, scan: bool) -> bool:
    """Whether prepared scale/offset ``values`` may hold a NaN: what preparing them found, else (``scan``) a
    scan of them, else True."""
    if known is not None:
        return known
    return _holds_nan(values) if scan else True


def _ub_layout(plan: tiling.TilePlan, scale_bytes: int) -> tuple[kernels.UbLayout, int]:
    """The staged kernel's ``layout`` from the plan's UB map, and the scratch bytes per core it needs.

    The kernel stages scale/offset as float32: into the map's float32 regions (arch22 has them for a BF16
    scale), else into its scale/offset regions where those hold ``scale_bytes`` (a tile's columns per
    channel, its rows per head, as float32), else after the map's end: the NPU widens BF16 in registers, the
    CPU kernel in scratch.
    """
    end = plan.ub_bytes

    def start(name):
        nonlocal end
        region = plan.region(f"{name}_f32") or plan.region(name)
        if region is None:
            return -1
        if region.nbytes >= scale_bytes:
            return region.offset
        end = -(-end // ALIGN) * ALIGN
        end += scale_bytes
        return end - scale_bytes

    x, y = plan.region("x"), plan.region("y")
    layout = kernels.UbLayout(x_offset=x.offset, x_slot=x.nbytes, y_offset=y.offset, y_slot=y.nbytes,
                              scale_offset=start("scale"), offset_offset=start("offset"), buffers=plan.buffers)
    return layout, end


MODES = ("fused", "ub")


@dataclasses.dataclass(frozen=True)
class KernelViews:
    """How a run's x and y become the kernel's 2-D arrays, decided once from the call's description: a run
    makes only the views that change something (each a numpy call of 0.5 to 0.8 us here, against 5 us for
    a 1 x 4096 kernel)."""

    lanes: int                      # scale/offset's (``_lanes``)
    x_shape: tuple | None           # x reshaped to [dim0, -1]; None where it has that shape
    x_storage: np.dtype | None      # x's bytes as the source's storage; None where stored so
    y_shape: tuple | None           # y (contiguous, or staged so) reshaped to the plan's dims; None where so
    y_unit: np.dtype                # y's bits as the kernel stores them

    @classmethod
    def of(cls, call: CheckedCall, plan: tiling.TilePlan, source: str, column_order: bool) -> "KernelViews":
        dim0, dim1 = plan.dims
        x, y, src = call.x.array, call.y.array, kernels.SOURCES[source]
        return cls(_lanes(source, plan.scale.along, column_order),
                   None if x.ndim == 2 and x.shape[0] == dim0 else (dim0, -1),
                   None if x.dtype == src.storage else src.storage,
                   None if y.shape == (dim0, dim1) else (dim0, dim1), src.unit)


@dataclasses.dataclass(frozen=True)
class Launch:
    """How to run a validated call: everything derived from its metadata (dtypes, shapes, strides), so one
    Launch serves every call whose tensors are described alike; the arrays and workspace come per run."""

    plan: tiling.TilePlan
    mode: str
    source: str
    bf16: bool
    along: str          # how scale is indexed: the plan's ``scale.along`` ("none", "columns", "rows")
    has_offset: bool
    sqrt_mode: bool
    parallel: bool
    streaming: bool
    column_order: bool  # ``_column_order``
    workspace_size: int
    regions: dict
    views: KernelViews

    @classmethod
    def of(cls, call: CheckedCall, plan: tiling.TilePlan, mode: str) -> "Launch":
        source = _source_name(call)
        column_order = _column_order(source, plan, mode)
        size, regions = _layout(call, plan, column_order)
        return cls(plan, mode, source, call.dst_type == DataType.BF16, plan.scale.along,
                   call.offset is not None, call.sqrt_mode, call.numel >= PARALLEL_MIN_ELEMENTS,
                   # a y staged through the workspace is copied back from there: its stores stay plain
                   2 * call.numel >= STREAMING_MIN_BYTES and "y" not in regions, column_order, size, regions,
                   KernelViews.of(call, plan, source, column_order))

    @property
    def scratch_size(self) -> int:
        """The workspace bytes a run on the CPU reads: none without regions (the system workspace at the
        start of ``workspace_size`` is the NPU's; no kernel here touches it)."""
        return self.workspace_size if self.regions else 0

    @functools.cached_property
    def _runs_serially(self) -> bool:
        """A fused run on the calling thread without streaming stores: no lock (``threads.launching(False)``
        is no context), and its kernel looked up in ``_serial_kernels`` rather than per run (1 us from
        ``fused_kernel``'s cache)."""
        return not self.parallel and not self.streaming and self.mode == "fused"

    @functools.cached_property
    def _serial_kernels(self) -> dict:
        """The serial kernels by ``nan_operands``, each looked up on its first run."""
        return {}

    def _serial_kernel(self, nan_operands: bool):
        """The serial kernel for ``nan_operands``, looked up and kept in ``_serial_kernels``."""
        kernel = self._serial_kernels[nan_operands] = self._fused_kernel(nan_operands, streaming=False)
        return kernel

    def _flags(self) -> tuple:
        return self.source, self.bf16, self.along == "columns", self.has_offset

    def _fused_kernel(self, nan_operands: bool, streaming: bool):
        return kernels.fused_kernel(*self._flags(), parallel=self.parallel, streaming=streaming,
                                    per_head=self.along == "rows", nan_operands=nan_operands,
                                    column_order=self.column_order)

    def run(self, x: np.ndarray, scale: np.ndarray, offset: np.ndarray | None, y: np.ndarray,
            workspace: np.ndarray | None, fresh_y: bool = False) -> None:
        """Prepare scale/offset, stage, run the kernel, copy staged output back.

        ``fresh_y``: y's memory was just allocated, its pages not mapped yet. The OS zeroes each page in
        cache on its first store, where plain stores then land cheaply; streaming stores would send every
        line to memory twice (measured: 16.1 ms against 13.4 for a fresh 4096x11008 bf16 output).
        """
        if self.plan.block_dim == 0:  # an empty tensor: nothing to compute
            return
        r, views = self.regions, self.views
        scale, scale_nan = _prepared(scale, r.get("scale"), workspace, self.sqrt_mode, views.lanes)
        if offset is None:
            offset, offset_nan = scale, False
        else:
            offset, offset_nan = _prepared(offset, r.get("offset"), workspace, False, views.lanes)
        if "x" in r:
            staged = r["x"].view(workspace, x.dtype, x.shape)
            np.copyto(staged, x)
            x = staged
        if views.x_shape is not None:
            x = x.reshape(views.x_shape)
        if views.x_storage is not None:
            x = x.view(views.x_storage)
        y_out = r["y"].view(workspace, y.dtype, y.shape) if "y" in r else y
        args = (x, scale, offset, (y_out if views.y_shape is None else y_out.reshape(views.y_shape)).view(
            views.y_unit), self.plan.tile_table)
        # Without a NaN in scale and offset the kernel leaves the first-NaN selects out. Operands prepared in
        # the workspace were looked at there; large calls scan the others (at most y's last axis, against the
        # work on all of y); small ones keep the selects rather than pay the scan.
        if self._runs_serially:
            nan_operands = scale_nan is not False or offset_nan is not False
            (self._serial_kernels.get(nan_operands) or self._serial_kernel(nan_operands))(*args)
        else:
            nan_operands = _may_hold_nan(scale, scale_nan, self.parallel) or _may_hold_nan(offset, offset_nan,
                                                                                           self.parallel)
            with threads.launching(self.parallel or self.mode == "ub"):    # the staged kernel is always parallel
                if self.mode == "fused":
                    self._fused_kernel(nan_operands, self.streaming and not fresh_y)(*args)
                else:
                    layout, ub_bytes = _ub_layout(self.plan, self._staged_scale_bytes())
                    ub = np.empty((self.plan.block_dim, ub_bytes), np.uint8)
                    kernels.staged_kernel(*self._flags(), per_head=self.along == "rows", nan_operands=nan_operands)(
                        *args, self.plan.core_offsets, ub, layout)
        if "y" in r:
            np.copyto(y, y_out)

    def _staged_scale_bytes(self) -> int:
        """float32 bytes the staged kernel holds of scale (or offset) for the largest tile: its columns per
        channel, its rows per head, nothing per tensor."""
        table = self.plan.tile_table
        along = {"columns": "ncols", "rows": "nrows"}.get(self.along)
        return 0 if along is None or not len(table) else 4 * int(table[along].max())


def _holds_nan(values: np.ndarray) -> bool:
    """Whether float32 ``values`` hold a NaN: their maximum is NaN exactly then (numpy propagates it)."""
    return bool(np.isnan(values.max())) if values.size else False


def _layout(call: CheckedCall, plan: tiling.TilePlan, column_order: bool) -> tuple[int, dict[str, Region]]:
    """Workspace bytes and regions: the system workspace, then converted scale/offset and staging."""
    if call.numel == 0:
        return 0, {}
    regions, cursor = {}, plan.workspace_size

    def take(name, nbytes):
        nonlocal cursor
        regions[name] = Region(cursor, nbytes)
        cursor += _align(nbytes)

    lanes = _lanes(_source_name(call), plan.scale.along, column_order)
    if _needs_preparing(call.scale, call.sqrt_mode, lanes):
        take("scale", call.scale.size * 4)
    if call.offset is not None and _needs_preparing(call.offset, False, lanes):
        take("offset", call.offset.size * 4)
    if not call.x.is_contiguous():
        take("x", call.x.array.nbytes)
    if not call.y.is_contiguous():
        take("y", call.y.array.nbytes)
    return cursor, regions


def check_options(platform, strategy, mode) -> tuple[platforms.Platform, tiling.Strategy]:
    """antiquant's own arguments, checked before any tensor: the profile and the strategy they name."""
    profile = platforms.get(platform)
    strategy = tiling.Strategy.of(strategy)
    if mode not in MODES:
        raise ValueError(f"mode: expected 'fused' or 'ub', got {mode!r}")
    return profile, strategy


def prepare(x, scale, offset, dst_type, sqrt_mode, y, *, platform="Ascend910B", strategy="cann", mode="fused",
            y_name="y") -> tuple[CheckedCall, Launch]:
    """Validate and plan one call: the checked call and its ``Launch``; raise ``AclnnError`` if CANN would
    refuse it.

    ``strategy`` (a name or ``tiling.Strategy``) and ``mode`` are ours, not CANN's: a bad one raises
    ValueError (TypeError for a wrong type) before the tensors are checked.
    """
    profile, strategy = check_options(platform, strategy, mode)
    call = check_call(x, scale, offset, dst_type, sqrt_mode, y, profile, y_name=y_name)
    problem = tiling.Problem(call.y.shape, call.x.dtype, call.scale.size, call.scale.dtype,
                             call.offset is not None, call.dst_type, call.sqrt_mode, call.scale.shape)
    try:
        plan = tiling.plan_problem(problem, profile, strategy)
    except ValueError as err:  # e.g. a ub_budget with no room for a tile: say which argument it came from
        raise ValueError(f"strategy: {err}") from None
    return call, Launch.of(call, plan, mode)


# Each thread keeps its last workspace of up to this size: its pages stay mapped, so a small call does not
# fault in fresh pages for its scale/offset copies on every call (that doubled a one-row call's time).
WORKSPACE_REUSE_MAX = 32 << 20
_scratch = threading.local()


def out_of_memory(name: str, shape: tuple, dtype) -> MemoryError:
    """The error for memory a valid call needs and cannot get, naming the tensor, its shape and its bytes
    (numpy's own names the flat byte buffer behind it)."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    return MemoryError(f"{name}: cannot allocate {nbytes} bytes ({nbytes / 2**30:.1f} GiB) for shape {shape} of "
                       f"{np.dtype(dtype)}")


def thread_workspace(nbytes: int) -> np.ndarray | None:
    """A workspace for one synchronous call on this thread: the thread's kept one when it is big enough."""
    if not nbytes:
        return None
    try:
        if nbytes > WORKSPACE_REUSE_MAX:
            return np.empty(nbytes, np.uint8)
        kept = getattr(_scratch, "workspace", None)
        if kept is None or kept.size < nbytes:
            kept = _scratch.workspace = np.empty(nbytes, np.uint8)
    except MemoryError:
        raise out_of_memory("workspace", (nbytes,), np.uint8) from None
    return kept[:nbytes]


# Each thread keeps the memory of its last large allocated output. Once the caller has dropped every array
# using it (every numpy view holds a reference to the array owning the memory, so the keeper's is then the
# only one), the next output of the same size is written into it: its pages are mapped already, while a
# fresh buffer's are faulted in and zeroed by the OS, about half of a 4096x11008 call's time. At most one
# output's memory per thread outlives its arrays, until that thread's next large call.
OUTPUT_REUSE_MIN = 1 << 20


def _references(holder) -> int:
    return sys.getrefcount(holder.output)


def _unused_references() -> int:
    """What ``_references`` reads for an array nothing else refers to (interpreters count differently)."""
    probe = threading.local()
    probe.output = np.empty(0, np.uint8)
    return _references(probe)


_UNUSED = _unused_references()


def new_output(shape: tuple, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """An uninitialised output array, and whether its memory is freshly allocated (pages not yet mapped);
    ``out_of_memory("y", ...)`` if it cannot be had."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize  # (np.prod would cost a 1-row call 3 us)
    try:
        if nbytes < OUTPUT_REUSE_MIN:
            return np.empty(shape, dtype), True
        kept = getattr(_scratch, "output", None)
        if kept is not None and kept.nbytes == nbytes:
            del kept  # not counted as a user
            if _references(_scratch) == _UNUSED:
                return _scratch.output.view(dtype).reshape(shape), False
        _scratch.output = np.empty(nbytes, np.uint8)
    except MemoryError:
        raise out_of_memory("y", shape, dtype) from None
    return _scratch.output.view(dtype).reshape(shape), True


# Validated launches by call signature, as CANN caches executors: a repeated call with tensors described
# alike (dtype, shape, strides; out's writability) and the same attributes skips validation and planning,
# which depend on nothing else. Only memory overlap depends on the arrays themselves: it is checked every
# call. Threads share it: a lookup is one dict get (atomic), insertion and eviction hold ``_LAUNCHES_LOCK``.
_LAUNCHES: dict = {}
_LAUNCHES_MAX = 256
_LAUNCHES_LOCK = threading.Lock()
# What dst_type and sqrt_mode may be in a key: values that hash by value (others take the uncached path).
_KEYABLE = (int, str, bool, np.integer, np.bool_, type, np.dtype)


def signature(x, scale, offset, dst_type, sqrt_mode, out, platform, strategy, mode) -> tuple | None:
    """A hashable description of everything validation and planning read, or None (no caching).

    One flat tuple, built inline: a call of 1 x 4096 spends less here than on its kernel. Only out's
    writability is read (inputs are only read); an absent offset or out is a None in its dtype's place.
    """
    if type(x) is not np.ndarray or type(scale) is not np.ndarray or not isinstance(dst_type, _KEYABLE) \
            or not isinstance(sqrt_mode, _KEYABLE) or not isinstance(strategy, (str, tiling.Strategy)) \
            or type(mode) is not str:
        return None
    if offset is None:
        o_dtype = o_shape = o_strides = None
    elif type(offset) is np.ndarray:
        o_dtype, o_shape, o_strides = offset.dtype, offset.shape, offset.strides
    else:
        return None
    if out is None:
        y_dtype = y_shape = y_strides = y_writeable = None
    elif type(out) is np.ndarray:
        y_dtype, y_shape, y_strides, y_writeable = out.dtype, out.shape, out.strides, out.flags.writeable
    else:
        return None
    try:
        profile = platforms.get(platform)       # a name or a Platform (hashed by identity)
    except (TypeError, ValueError):
        return None                             # the uncached path reports it
    # types matter: True == 1 but dst_type=True is refused; a platform re-registered under its name is new
    return (x.dtype, x.shape, x.strides, scale.dtype, scale.shape, scale.strides, o_dtype, o_shape, o_strides,
            y_dtype, y_shape, y_strides, y_writeable, type(dst_type), dst_type, type(sqrt_mode), sqrt_mode,
            profile, strategy, mode)


def cached(key: tuple | None) -> tuple | None:
    """What ``remember`` stored for ``key`` (None: not cached, or no key)."""
    return None if key is None else _LAUNCHES.get(key)


def remember(key: tuple, value: tuple) -> None:
    """Store ``value`` for ``key``, evicting the oldest entries past ``_LAUNCHES_MAX``."""
    with _LAUNCHES_LOCK:
        if key not in _LAUNCHES:
            while len(_LAUNCHES) >= _LAUNCHES_MAX:
                del _LAUNCHES[next(iter(_LAUNCHES))]
        _LAUNCHES[key] = value
