"""The CANN two-phase API, pyACL style (values first, status last), on the CPU.

``aclnnAscendAntiQuantGetWorkspaceSize`` validates, plans and binds an executor; ``aclnnAscendAntiQuant``
runs it on a ``Stream`` using the caller's workspace (docs/spec.md section 4).
"""

from __future__ import annotations

from ..core.dtypes import AclnnError, Status
from .errors import fail
from .executor import AclOpExecutor, prepare
from .stream import Stream

__all__ = ["aclnnAscendAntiQuantGetWorkspaceSize", "aclnnAscendAntiQuant", "aclSetAclOpExecutorRepeatable"]


def aclnnAscendAntiQuantGetWorkspaceSize(x, scale, offset, dstType, sqrtMode, y, *, platform="Ascend910B",
                                         strategy="cann", mode="fused"):
    """Phase 1: ``(workspace_size, executor, status)``; on failure ``(0, None, status)``.

    ``strategy`` and ``mode`` (keyword-only, ours) pick the tile plan and whether tiles are UB-staged.
    """
    try:
        executor = prepare(x, scale, offset, dstType, sqrtMode, y, platform=platform, strategy=strategy,
                           mode=mode)
    except AclnnError as err:
        return 0, None, fail(err)
    return executor.workspace_size, executor, Status.ACLNN_SUCCESS


def aclnnAscendAntiQuant(workspace, workspace_size, executor, stream) -> Status:
    """Phase 2: run ``executor`` on ``stream`` (``None``: synchronously). Refusals return at once."""
    if not isinstance(executor, AclOpExecutor):
        return fail(AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR,
                                f"executor: expected the executor from GetWorkspaceSize, got {executor!r}"))
    if stream is not None and not isinstance(stream, Stream):
        return fail(AclnnError(Status.ACLNN_ERR_PARAM_INVALID,
                                f"stream: expected a Stream or None, got {type(stream).__name__}"))
    if stream is not None and stream.closed:
        return fail(AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "stream: closed; pass an open Stream or None"))
    try:
        buffer = executor.launch(workspace, workspace_size)
    except AclnnError as err:
        return fail(err)
    if stream is None:
        try:
            executor.run(buffer)
        except Exception as err:
            return fail(AclnnError(Status.ACLNN_ERR_RUNTIME_ERROR, f"execution failed: {err!r}"))
        return Status.ACLNN_SUCCESS
    stream.submit(lambda: executor.run(buffer))
    return Status.ACLNN_SUCCESS


def aclSetAclOpExecutorRepeatable(executor) -> Status:
    """Let ``executor`` run more than once."""
    if not isinstance(executor, AclOpExecutor):
        return fail(AclnnError(Status.ACLNN_ERR_PARAM_NULLPTR,
                                f"executor: expected an AclOpExecutor, got {executor!r}"))
    executor.repeatable = True
    return Status.ACLNN_SUCCESS
