"""Ascend platform profiles (SPEC section 6): core counts, UB size, workspace, bandwidth and allowed dtypes.

Profiles are frozen records in a registry; users add their own with ``register``. Figures marked approx. in
the SPEC are public figures kept as data: override them with ``dataclasses.replace`` and ``register``.
"""

from __future__ import annotations

import dataclasses
import threading

from .dtypes import DataType

__all__ = ["Platform", "get", "register", "names"]

MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Platform:
    """What one Ascend product offers the operator."""

    name: str
    products: str
    vector_cores: int
    ub_bytes: int
    sys_workspace_bytes: int
    hbm_bytes_per_s: float
    clock_hz: float
    x_dtypes: tuple[DataType, ...]
    scale_dtypes: tuple[DataType, ...]
    y_dtypes: tuple[DataType, ...]

    def __post_init__(self):
        for field in ("vector_cores", "ub_bytes"):
            if getattr(self, field) <= 0:
                raise ValueError(f"Platform {self.name!r}: {field} must be positive, got {getattr(self, field)}")
        if self.sys_workspace_bytes < 0:
            raise ValueError(f"Platform {self.name!r}: sys_workspace_bytes must be >= 0")
        for field in ("x_dtypes", "scale_dtypes", "y_dtypes"):
            object.__setattr__(self, field, tuple(DataType(d) for d in getattr(self, field)))


_A2_X = (DataType.INT4, DataType.INT8, DataType.INT32)
_A2_SCALE = (DataType.FLOAT, DataType.BF16)
_A2_Y = (DataType.FLOAT16, DataType.BF16)

_REGISTRY: dict[str, Platform] = {}
_LOCK = threading.Lock()


def register(platform: Platform, *, replace: bool = False) -> Platform:
    """Add a profile under its name; an existing name needs ``replace=True``."""
    if not isinstance(platform, Platform):
        raise TypeError(f"register() takes a Platform, got {type(platform).__name__}")
    with _LOCK:
        if platform.name in _REGISTRY and not replace:
            raise ValueError(f"platform {platform.name!r} is already registered; pass replace=True to override it")
        _REGISTRY[platform.name] = platform
    return platform


def get(name: str | Platform) -> Platform:
    """The profile called ``name`` (a Platform passes through)."""
    if isinstance(name, Platform):
        return name
    if not isinstance(name, str):
        raise TypeError(f"platform must be a name such as 'Ascend910B' or a Platform, got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; known: {', '.join(names())}") from None


def names() -> list[str]:
    """Registered profile names."""
    return sorted(_REGISTRY)


# Clock: Ascend 910B AI-core clock ~1.8 GHz, 310P ~1.08 GHz (approx., public figures).
register(Platform(
    name="Ascend910B",
    products="Atlas A2 training / Atlas 800I A2 inference (910B1, 910B2)",
    vector_cores=48, ub_bytes=196_608, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=1.6e12, clock_hz=1.8e9,
    x_dtypes=_A2_X, scale_dtypes=_A2_SCALE, y_dtypes=_A2_Y,
))
register(Platform(
    name="Ascend910B4",
    products="Atlas A2 (910B3, 910B4)",
    vector_cores=40, ub_bytes=196_608, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=0.8e12, clock_hz=1.8e9,
    x_dtypes=_A2_X, scale_dtypes=_A2_SCALE, y_dtypes=_A2_Y,
))
register(Platform(
    name="Ascend310P",
    products="Atlas inference series (310P3)",
    vector_cores=8, ub_bytes=262_144, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=204.8e9, clock_hz=1.08e9,
    x_dtypes=(DataType.INT8,), scale_dtypes=(DataType.FLOAT,), y_dtypes=(DataType.FLOAT16,),
))
