"""``AclOpExecutor``: what phase 1 hands to phase 2, a checked call bound to its ``Launch``.

It checks the caller's workspace (size, writability, no overlap with the tensors) and counts its runs: once,
as in CANN, unless made repeatable.
"""

from __future__ import annotations

import operator
import threading

import numpy as np

from ..core.dtypes import AclnnError, Status
from ..core.launch import Launch, prepare as prepare_launch
from ..core.validation import CheckedCall, overlaps
from ..tiling import TilePlan

__all__ = ["AclOpExecutor", "prepare"]


class AclOpExecutor:
    """A checked call bound to its ``Launch`` (tile plan, workspace layout). Runs once unless made repeatable.

    ``mode`` "fused" runs each tile straight from x to y; "ub" stages it through per-core UB scratch.
    """

    def __init__(self, call: CheckedCall, launch: Launch):
        self.call = call
        self.bound = launch
        self.repeatable = False
        self.spent = False
        self._lock = threading.Lock()

    @property
    def plan(self) -> TilePlan:
        return self.bound.plan

    @property
    def mode(self) -> str:
        return self.bound.mode

    @property
    def workspace_size(self) -> int:
        return self.bound.workspace_size

    @property
    def staged(self) -> tuple[str, ...]:
        """Which tensors pass through workspace staging."""
        return tuple(name for name in ("x", "y") if name in self.bound.regions)

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
        self.bound.run(call.x.array, call.scale.array, None if call.offset is None else call.offset.array,
                             call.y.array, workspace, fresh_y)

    def launch(self, workspace, workspace_size: int) -> np.ndarray | None:
        """Check the workspace and claim the executor: everything that may refuse a launch, nothing written."""
        buffer = self.check_workspace(workspace, workspace_size)
        self.claim()
        return buffer


def prepare(x, scale, offset, dst_type, sqrt_mode, y, *, platform="Ascend910B", strategy="cann",
            mode="fused") -> AclOpExecutor:
    """Validate and plan one call (``core.launch.prepare``) and bind an executor to it."""
    return AclOpExecutor(*prepare_launch(x, scale, offset, dst_type, sqrt_mode, y, platform=platform,
                                          strategy=strategy, mode=mode))
