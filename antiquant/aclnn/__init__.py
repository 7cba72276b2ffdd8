"""The CANN two-phase API: ``aclnnAscendAntiQuantGetWorkspaceSize`` + ``aclnnAscendAntiQuant`` on a ``Stream``.

``api`` holds the C-style functions, ``executor`` the ``AclOpExecutor`` between the two phases, ``stream``
the ``Stream``, ``errors`` CANN's recent-error message. Everything they run goes through ``core.launch``.
"""

from .api import aclnnAscendAntiQuant, aclnnAscendAntiQuantGetWorkspaceSize, aclSetAclOpExecutorRepeatable
from .errors import aclGetRecentErrMsg
from .executor import AclOpExecutor, prepare
from .stream import Stream

__all__ = ["AclOpExecutor", "Stream", "aclGetRecentErrMsg", "aclnnAscendAntiQuant",
           "aclnnAscendAntiQuantGetWorkspaceSize", "aclSetAclOpExecutorRepeatable", "prepare"]
