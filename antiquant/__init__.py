"""antiquant: Huawei Ascend CANN's ``aclnnAscendAntiQuant`` on the CPU, bit-exact and fast.

Two API layers: the CANN two-phase API (``aclnnAscendAntiQuantGetWorkspaceSize`` + ``aclnnAscendAntiQuant``
on a ``Stream``) and the Pythonic ``ascend_anti_quant`` over numpy arrays.
"""

from . import platforms, reference, tiling
from .aclnn import (
    AclOpExecutor,
    Stream,
    aclGetRecentErrMsg,
    aclnnAscendAntiQuant,
    aclnnAscendAntiQuantGetWorkspaceSize,
    aclSetAclOpExecutorRepeatable,
)
from .api import ascend_anti_quant
from .dtypes import AclnnError, DataType, Status, pack_int4, unpack_int4
from .tensor import AclTensor

__version__ = "0.1.0"

__all__ = [
    "AclnnError", "AclOpExecutor", "AclTensor", "DataType", "Status", "Stream", "aclGetRecentErrMsg",
    "aclnnAscendAntiQuant", "aclnnAscendAntiQuantGetWorkspaceSize", "aclSetAclOpExecutorRepeatable",
    "ascend_anti_quant", "pack_int4", "platforms", "reference", "tiling", "unpack_int4",
]
