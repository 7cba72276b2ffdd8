"""CANN's per-thread "most recent error message" (aclGetRecentErrMsg), set by every failed call."""

from __future__ import annotations

import threading

from ..core.dtypes import AclnnError, Status

__all__ = ["aclGetRecentErrMsg", "fail"]

_recent = threading.local()


def aclGetRecentErrMsg() -> str:
    """The message of this thread's most recent failed call (then cleared), as CANN's aclGetRecentErrMsg."""
    message = getattr(_recent, "message", "")
    _recent.message = ""
    return message


def fail(err: AclnnError) -> Status:
    """Record ``err`` as this thread's recent error; its status, for the caller to return."""
    _recent.message = str(err)
    return err.status
