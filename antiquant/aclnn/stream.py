"""``Stream``: work runs in submission order on one worker thread, as on an ACL stream."""

from __future__ import annotations

import threading

from ..core.dtypes import AclnnError, Status
from .errors import fail

__all__ = ["Stream"]


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
        return Status.ACLNN_SUCCESS if failure is None else fail(failure)

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
