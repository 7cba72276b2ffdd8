"""antiquant: Huawei Ascend CANN's ``aclnnAscendAntiQuant`` on the CPU, bit-exact and fast.

Two API layers: the CANN two-phase API (``aclnnAscendAntiQuantGetWorkspaceSize`` + ``aclnnAscendAntiQuant``
on a ``Stream``, in ``antiquant.aclnn``) and the Pythonic ``ascend_anti_quant`` over numpy arrays
(``antiquant.core.api``). The names that need the kernels (and so Numba) load on first use, so planning
(``antiquant.tiling``) and the simulator import fast.
"""

import importlib

from .core.dtypes import AclnnError, DataType, Status, pack_int4, unpack_int4
from .core.tensor import AclTensor

__version__ = "0.1.0"

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "ascend_anti_quant": ".core.api",
    "AclOpExecutor": ".aclnn", "Stream": ".aclnn", "aclGetRecentErrMsg": ".aclnn",
    "aclnnAscendAntiQuant": ".aclnn", "aclnnAscendAntiQuantGetWorkspaceSize": ".aclnn",
    "aclSetAclOpExecutorRepeatable": ".aclnn",
}
# Modules loaded on first access (``platforms``, ``reference``: the core's, under their earlier names).
_SUBPACKAGES = ("platforms", "reference", "tiling", "sim", "aclnn", "core", "convert", "integrations", "cli",
                "kernels")

__all__ = [
    "AclnnError", "AclOpExecutor", "AclTensor", "DataType", "Status", "Stream", "aclGetRecentErrMsg",
    "aclnnAscendAntiQuant", "aclnnAscendAntiQuantGetWorkspaceSize", "aclSetAclOpExecutorRepeatable",
    "ascend_anti_quant", "pack_int4", "platforms", "reference", "tiling", "unpack_int4",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))
