"""The CANN two-phase API, pyACL style (values first, status last), on the CPU.

``aclnnAscendAntiQuantGetWorkspaceSize`` validates, plans and binds an executor; ``aclnnAscendAntiQuant``
runs it on a ``Stream`` using the caller's workspace. The workspace is real memory: after the platform's
system workspace it holds the float32 scale/offset (sqrt mode applied, split into the kernels' lanes) and
staging copies of any
non-contiguous x or y, so kernels only ever see contiguous data.
"""

from __future__ import annotations

import dataclasses
import operator
import threading

import numpy as np

import kernels

from . import platforms, tiling
from .dtypes import AclnnError, DataType, Status
from .validation import CheckedCall, check_call, overlaps

__all__ = [
    "AclOpExecutor", "Stream", "aclnnAscendAntiQuantGetWorkspaceSize", "aclnnAscendAntiQuant",
    "aclSetAclOpExecutorRepeatable", "aclGetRecentErrMsg", "prepare",
]

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

_recent = threading.local()


def aclGetRecentErrMsg() -> str:
    """The message of this thread's most recent failed call (then cleared), as CANN's aclGetRecentErrMsg."""
    message = getattr(_recent, "message", "")
    _recent.message = ""
    return message


def _fail(err: AclnnError) -> Status:
    _recent.message = str(err)
    return err.status


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclasses.dataclass(frozen=True)
class Region:
    """A byte range of the workspace."""

    start: int
    nbytes: int

    def view(self, workspace: np.ndarray, dtype, shape) -> np.ndarray:
        return workspace[self.start:self.start + self.nbytes].view(dtype).reshape(shape)


def _source_name(call: CheckedCall) -> str:
    x = call.x
    if x.dtype == DataType.INT8:
        return "int8"
    if x.dtype == DataType.INT32:
        return "int32"
    return "int4" if x.packed else "int4_unpacked"


def _lanes(source: str, per_channel: bool) -> int:
    """How many lanes the kernels read scale/offset in (``kernels.dequant_span``): 1 if per-tensor."""
    return kernels.SOURCES[source].lanes if per_channel else 1


def _needs_preparing(t, square: bool, lanes: int) -> bool:
    """Whether scale/offset must be converted in the workspace: kernels read contiguous float32 only,
    split into lanes."""
    return square or t.dtype != DataType.FLOAT or not t.is_contiguous() or lanes > 1


def _prepared(array: np.ndarray, region: Region | None, workspace, square: bool, lanes: int) -> np.ndarray:
    """scale/offset as the kernels read them: float32 ``[lanes, size / lanes]`` (squared in sqrt mode), the
    array itself or a workspace copy."""
    if region is None:
        return array.reshape(1, -1)
    values = region.view(workspace, np.float32, (lanes, array.size // lanes))
    kernels.split_lanes(np.ascontiguousarray(array, np.float32), values, square)  # Numba: inf/NaN raise nothing
    return values


def _ub_layout(plan: tiling.TilePlan) -> np.ndarray:
    """The staged kernel's ``layout`` (``kernels.LAYOUT_FIELDS``) from the plan's UB map."""
    def start(*names):
        region = next(filter(None, map(plan.region, names)), None)
        return -1 if region is None else region.offset

    x, y = plan.region("x"), plan.region("y")
    return np.array([x.offset, x.nbytes, y.offset, y.nbytes, start("scale_f32", "scale"),
                     start("offset_f32", "offset"), plan.buffers], np.int64)


MODES = ("fused", "ub")


@dataclasses.dataclass(frozen=True)
class Launch:
    """How to run a validated call: everything derived from its metadata (dtypes, shapes, strides), so one
    Launch serves every call whose tensors are described alike; the arrays and workspace come per run."""

    plan: tiling.TilePlan
    mode: str
    source: str
    bf16: bool
    per_channel: bool
    has_offset: bool
    sqrt_mode: bool
    parallel: bool
    streaming: bool
    workspace_size: int
    regions: dict

    @classmethod
    def of(cls, call: CheckedCall, plan: tiling.TilePlan, mode: str) -> "Launch":
        size, regions = _layout(call, plan)
        return cls(plan, mode, _source_name(call), call.dst_type == DataType.BF16, call.per_channel,
                   call.offset is not None, call.sqrt_mode, call.numel >= PARALLEL_MIN_ELEMENTS,
                   # a y staged through the workspace is copied back from there: its stores stay plain
                   2 * call.numel >= STREAMING_MIN_BYTES and "y" not in regions, size, regions)

    def run(self, x: np.ndarray, scale: np.ndarray, offset: np.ndarray | None, y: np.ndarray,
            workspace: np.ndarray | None, fresh_y: bool = False) -> None:
        """Prepare scale/offset, stage, run the kernel, copy staged output back.

        ``fresh_y``: y's memory was just allocated, its pages not mapped yet. The OS zeroes each page in
        cache on its first store, where plain stores then land cheaply; streaming stores would send every
        line to memory twice (measured: 16.1 ms against 13.4 for a fresh 4096x11008 bf16 output).
        """
        if self.plan.block_dim == 0:  # an empty tensor: nothing to compute
            return
        r = self.regions
        lanes = _lanes(self.source, self.per_channel)
        scale = _prepared(scale, r.get("scale"), workspace, self.sqrt_mode, lanes)
        offset = scale if offset is None else _prepared(offset, r.get("offset"), workspace, False, lanes)
        if "x" in r:
            staged = r["x"].view(workspace, x.dtype, x.shape)
            np.copyto(staged, x)
            x = staged
        dim0, dim1 = self.plan.dims
        y_out = r["y"].view(workspace, y.dtype, y.shape) if "y" in r else y
        flags = (self.source, self.bf16, self.per_channel, self.has_offset)
        source = kernels.SOURCES[self.source]
        args = (x.reshape(dim0, -1).view(source.storage), scale, offset,
                y_out.view(np.uint16).reshape(dim0, dim1).view(source.unit), self.plan.tile_table)
        if self.mode == "fused":
            kernels.fused_kernel(*flags, parallel=self.parallel, streaming=self.streaming and not fresh_y)(*args)
        else:
            ub = np.empty((self.plan.block_dim, self.plan.ub_bytes), np.uint8)
            kernels.staged_kernel(*flags)(*args, self.plan.core_offsets, ub, _ub_layout(self.plan))
        if "y" in r:
            np.copyto(y, y_out)


def _layout(call: CheckedCall, plan: tiling.TilePlan) -> tuple[int, dict[str, Region]]:
    """Workspace bytes and regions: the system workspace, then converted scale/offset and staging."""
    if call.numel == 0:
        return 0, {}
    regions, cursor = {}, plan.workspace_size

    def take(name, nbytes):
        nonlocal cursor
        regions[name] = Region(cursor, nbytes)
        cursor += _align(nbytes)

    lanes = _lanes(_source_name(call), call.per_channel)
    if _needs_preparing(call.scale, call.sqrt_mode, lanes):
        take("scale", call.scale.size * 4)
    if call.offset is not None and _needs_preparing(call.offset, False, lanes):
        take("offset", call.offset.size * 4)
    if not call.x.is_contiguous():
        take("x", call.x.array.nbytes)
    if not call.y.is_contiguous():
        take("y", call.y.array.nbytes)
    return cursor, regions


class AclOpExecutor:
    """A checked call bound to its ``Launch`` (tile plan, workspace layout). Runs once unless made repeatable.

    ``mode`` "fused" runs each tile straight from x to y; "ub" stages it through per-core UB scratch.
    """

    def __init__(self, call: CheckedCall, launch: Launch):
        self.call = call
        self.launch_plan = launch
        self.repeatable = False
        self.spent = False
        self._lock = threading.Lock()

    @property
    def plan(self) -> tiling.TilePlan:
        return self.launch_plan.plan

    @property
    def mode(self) -> str:
        return self.launch_plan.mode

    @property
    def workspace_size(self) -> int:
        return self.launch_plan.workspace_size

    @property
    def staged(self) -> tuple[str, ...]:
        """Which tensors pass through workspace staging."""
        return tuple(name for name in ("x", "y") if name in self.launch_plan.regions)

    def claim(self) -> None:
        """Mark a launch; refuse a spent executor."""
        with self._lock:
            if self.spent and not self.repeatable:
                raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                                 "executor: already run; an executor runs once unless "
                                 "aclSetAclOpExecutorRepeatable(executor) was called")
            self.spent = True

    def check_workspace(self, workspace, workspace_size: int) -> np.ndarray | None:
        """The workspace as writable bytes, or an error if it is missing or short."""
        if self.workspace_size == 0:
            return None
        if workspace is None:
            raise AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR,
                             f"workspace: expected {self.workspace_size} bytes, got None")
        try:
            buffer = workspace if isinstance(workspace, np.ndarray) else np.frombuffer(workspace, np.uint8)
        except TypeError:
            raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "workspace: expected a writable buffer "
                             f"(numpy uint8 array or bytearray), got {type(workspace).__name__}") from None
        if buffer.ndim != 1 or not buffer.flags.c_contiguous or not buffer.flags.writeable:
            raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                             "workspace: expected a writable, contiguous 1-D byte buffer")
        buffer = buffer.view(np.uint8)
        try:
            workspace_size = operator.index(workspace_size)
        except TypeError:
            raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "workspaceSize: expected the integer from "
                             f"GetWorkspaceSize ({self.workspace_size}), got {workspace_size!r}") from None
        if workspace_size < self.workspace_size or buffer.nbytes < self.workspace_size:
            raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                             f"workspace: expected at least {self.workspace_size} bytes, got workspaceSize "
                             f"{workspace_size} and a buffer of {buffer.nbytes}")
        call = self.call
        for name, t in (("x", call.x), ("scale", call.scale), ("offset", call.offset), ("y", call.y)):
            if t is not None and overlaps(buffer[:self.workspace_size], t.array):
                raise AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                                 f"workspace: expected memory apart from the tensors, but it overlaps {name}")
        return buffer

    def run(self, workspace: np.ndarray | None, fresh_y: bool = False) -> None:
        """Execute the bound call with ``workspace`` (already checked by ``launch``); ``fresh_y`` as in
        ``Launch.run``."""
        call = self.call
        self.launch_plan.run(call.x.array, call.scale.array, None if call.offset is None else call.offset.array,
                             call.y.array, workspace, fresh_y)

    def launch(self, workspace, workspace_size: int) -> np.ndarray | None:
        """Check the workspace and claim the executor: everything that may refuse a launch, nothing written."""
        buffer = self.check_workspace(workspace, workspace_size)
        self.claim()
        return buffer


def prepare(x, scale, offset, dst_type, sqrt_mode, y, *, platform="Ascend910B", strategy="cann", mode="fused",
            y_name="y") -> AclOpExecutor:
    """Validate and plan one call; raise ``AclnnError`` if CANN would refuse it.

    ``strategy`` (a name or ``tiling.Strategy``) and ``mode`` are ours, not CANN's: a bad one raises
    ValueError (TypeError for a wrong type) before the tensors are checked.
    """
    profile = platforms.get(platform)
    strategy = tiling.Strategy.of(strategy)
    if mode not in MODES:
        raise ValueError(f"mode: expected 'fused' or 'ub', got {mode!r}")
    call = check_call(x, scale, offset, dst_type, sqrt_mode, y, profile, y_name=y_name)
    problem = tiling.Problem(call.y.shape, call.x.dtype, call.scale.size, call.scale.dtype,
                             call.offset is not None, call.dst_type, call.sqrt_mode)
    return AclOpExecutor(call, Launch.of(call, tiling.plan_problem(problem, profile, strategy), mode))


class Stream:
    """Work runs in submission order on one worker thread; ``synchronize()`` waits and reports failures.

    A failed job does not stop later ones; ``synchronize()`` returns the first failure's status since
    the previous synchronize (its message via ``aclGetRecentErrMsg``) and then starts clean.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._jobs: list = []
        self._pending = 0
        self._failure: AclnnError | None = None
        self._worker: threading.Thread | None = None
        self._closed = False

    def submit(self, job) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("stream: closed")
            self._jobs.append(job)
            self._pending += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="antiquant-stream", daemon=True)
                self._worker.start()
            self._cond.notify_all()

    def _drain(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.pop(0)
            failure = None
            try:
                job()
            except AclnnError as err:
                failure = err
            except Exception as err:  # a kernel or staging fault: reported, not raised in a worker
                failure = AclnnError(Status.ACLNN_ERR_RUNTIME_ERROR, f"stream job failed: {err!r}")
            with self._cond:
                if failure is not None and self._failure is None:
                    self._failure = failure
                self._pending -= 1
                self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def synchronize(self) -> Status:
        """Wait for all submitted work; return ACLNN_SUCCESS or the first failure's status."""
        with self._cond:
            while self._pending:
                self._cond.wait()
            failure, self._failure = self._failure, None
        return Status.ACLNN_SUCCESS if failure is None else _fail(failure)

    def close(self) -> Status:
        """Finish pending work and stop the worker (aclrtDestroyStream)."""
        status = self.synchronize()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return status

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def aclnnAscendAntiQuantGetWorkspaceSize(x, scale, offset, dstType, sqrtMode, y, *, platform="Ascend910B",
                                         strategy="cann", mode="fused"):
    """Phase 1: ``(workspace_size, executor, status)``; on failure ``(0, None, status)``.

    ``strategy`` and ``mode`` (keyword-only, ours) pick the tile plan and whether tiles are UB-staged.
    """
    try:
        executor = prepare(x, scale, offset, dstType, sqrtMode, y, platform=platform, strategy=strategy,
                           mode=mode)
    except AclnnError as err:
        return 0, None, _fail(err)
    return executor.workspace_size, executor, Status.ACLNN_SUCCESS


def aclnnAscendAntiQuant(workspace, workspace_size, executor, stream) -> Status:
    """Phase 2: run ``executor`` on ``stream`` (``None``: synchronously). Refusals return at once."""
    if not isinstance(executor, AclOpExecutor):
        return _fail(AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR,
                                f"executor: expected the executor from GetWorkspaceSize, got {executor!r}"))
    if stream is not None and not isinstance(stream, Stream):
        return _fail(AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                                f"stream: expected a Stream or None, got {type(stream).__name__}"))
    if stream is not None and stream.closed:
        return _fail(AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "stream: closed; pass an open Stream or None"))
    try:
        buffer = executor.launch(workspace, workspace_size)
    except AclnnError as err:
        return _fail(err)
    if stream is None:
        try:
            executor.run(buffer)
        except Exception as err:
            return _fail(AclnnError(Status.ACLNN_ERR_RUNTIME_ERROR, f"execution failed: {err!r}"))
        return Status.ACLNN_SUCCESS
    stream.submit(lambda: executor.run(buffer))
    return Status.ACLNN_SUCCESS


def aclSetAclOpExecutorRepeatable(executor) -> Status:
    """Let ``executor`` run more than once."""
    if not isinstance(executor, AclOpExecutor):
        return _fail(AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR,
                                f"executor: expected an AclOpExecutor, got {executor!r}"))
    executor.repeatable = True
    return Status.ACLNN_SUCCESS
