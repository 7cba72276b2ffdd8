"""Ascend platform profiles (docs/spec.md section 6): core counts, UB size, workspace, bandwidth, allowed dtypes,
and the architecture whose validation rules and host tiling the operator follows on them.

Profiles are frozen records in a registry; users add their own with ``register``. Figures marked approx. in
docs/spec.md are public figures kept as data: override them with ``Platform.with_overrides`` (or
``dataclasses.replace``) and ``register``. The pipeline model's parameters (``antiquant.sim``) live here too,
each with its source in ``Platform.sources``.
"""

from __future__ import annotations

import dataclasses
import threading

from .dtypes import DataType

__all__ = ["Platform", "get", "register", "names", "ARCHITECTURES", "SIM_FIELDS", "TUNABLE_FIELDS"]

MIB = 1 << 20

# The architectures antiquant has rules and a host tiling for (``antiquant.core.validation`` and
# ``antiquant.tiling`` each keep one module per entry). arch22: Atlas A2 and A3 (NpuArch DAV_2201), whose rules
# Atlas inference (310P, DAV_2002) shares with its own dtype lists. arch35: Ascend 950 (DAV_3510, "regbase").
ARCHITECTURES = ("arch22", "arch35")

# Where each modelled figure comes from. "assumed" figures are engineering estimates: calibrate them against
# msprof traces of the real operator and override them.
_SOURCES = (
    ("npu_arch", "CANN aclplatformNpuArch of the product (docs/spec.md section 6)"),
    ("vector_cores", "docs/spec.md section 6 (vector cores per product)"),
    ("ub_bytes", "docs/spec.md section 6 (Unified Buffer per vector core)"),
    ("hbm_bytes_per_s", "docs/spec.md section 6 (approx., public peak memory bandwidth)"),
    ("clock_hz", "approx., public AI-core clock of the product"),
    ("launch_us", "assumed: host launch of one aclnn kernel, a few microseconds"),
    ("transfer_latency_us", "assumed: fixed cost of one DataCopy (issue, queue sync, first bytes from GM)"),
    ("mte2_bytes_per_cycle", "assumed: one core's GM->UB (MTE2) rate when HBM is not the limit"),
    ("mte3_bytes_per_cycle", "assumed: one core's UB->GM (MTE3) rate when HBM is not the limit"),
    ("vector_repeat_cycles", "assumed: cycles per 256-byte vector repeat (docs/spec.md section 6: 256 B per repeat)"),
    ("vector_issue_cycles", "assumed: fixed cycles per vector instruction (up to 255 repeats each)"),
)

# The figures the pipeline model reads beyond the plan; the tunable ones also change plans.
SIM_FIELDS = ("hbm_bytes_per_s", "clock_hz", "launch_us", "transfer_latency_us",
              "mte2_bytes_per_cycle", "mte3_bytes_per_cycle", "vector_repeat_cycles", "vector_issue_cycles")
TUNABLE_FIELDS = ("vector_cores", "ub_bytes", *SIM_FIELDS)


@dataclasses.dataclass(frozen=True, eq=False)
class Platform:
    """What one Ascend product offers the operator.

    Profiles compare and hash by identity: plan and launch caches key on the profile object, so a profile
    registered anew under an old name is a new key.
    """

    name: str
    products: str
    arch: str
    npu_arch: int
    vector_cores: int
    ub_bytes: int
    sys_workspace_bytes: int
    hbm_bytes_per_s: float
    clock_hz: float
    x_dtypes: tuple[DataType, ...]
    scale_dtypes: tuple[DataType, ...]
    y_dtypes: tuple[DataType, ...]
    launch_us: float = 5.0
    transfer_latency_us: float = 0.3
    mte2_bytes_per_cycle: float = 128.0
    mte3_bytes_per_cycle: float = 128.0
    vector_repeat_cycles: float = 1.0
    vector_issue_cycles: float = 16.0
    sources: tuple[tuple[str, str], ...] = _SOURCES

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"Platform {self.name!r}: arch must be one of {', '.join(ARCHITECTURES)}, "
                             f"got {self.arch!r}")
        for field in ("vector_cores", "ub_bytes", "hbm_bytes_per_s", "clock_hz", "mte2_bytes_per_cycle",
                      "mte3_bytes_per_cycle", "vector_repeat_cycles"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Platform {self.name!r}: {field} must be positive, got {getattr(self, field)}")
        for field in ("launch_us", "transfer_latency_us", "vector_issue_cycles"):
            if not getattr(self, field) >= 0:
                raise ValueError(f"Platform {self.name!r}: {field} must be >= 0, got {getattr(self, field)}")
        if self.sys_workspace_bytes < 0:
            raise ValueError(f"Platform {self.name!r}: sys_workspace_bytes must be >= 0")
        for field in ("x_dtypes", "scale_dtypes", "y_dtypes"):
            object.__setattr__(self, field, tuple(DataType(d) for d in getattr(self, field)))
        object.__setattr__(self, "sources", tuple(tuple(pair) for pair in self.sources))

    def source(self, field: str) -> str:
        """Where the figure in ``field`` comes from."""
        return dict(self.sources).get(field, "not recorded")

    def with_overrides(self, **values) -> "Platform":
        """A copy with some figures replaced (``TUNABLE_FIELDS``); their source becomes "override". Without
        overrides, the profile itself (so caches keyed on it still hit)."""
        if not values:
            return self
        unknown = sorted(set(values) - set(TUNABLE_FIELDS))
        if unknown:
            raise ValueError(f"platform override: expected a field among {', '.join(TUNABLE_FIELDS)}, "
                             f"got {', '.join(unknown)}")
        values = {k: int(v) if k in ("vector_cores", "ub_bytes") else float(v) for k, v in values.items()}
        sources = dict(self.sources)
        sources.update((k, f"override ({v:g}; {self.name} has {getattr(self, k):g})") for k, v in values.items())
        return dataclasses.replace(self, **values, sources=tuple(sources.items()))


_A2_X = (DataType.INT4, DataType.INT8, DataType.INT32)
# Ascend 950's x list adds the 8-bit floats (docs/spec.md section 8.1); their scale must be FLOAT, a rule of
# the arch35 validation, not of the list.
_950_X = (*_A2_X, DataType.HIFLOAT8, DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN)
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
        raise TypeError(f"platform: expected a name such as 'Ascend910B' or a Platform, got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"platform: unknown platform {name!r}; known: {', '.join(names())}") from None


def names() -> list[str]:
    """Registered profile names."""
    return sorted(_REGISTRY)


# Clock: Ascend 910B AI-core clock ~1.8 GHz, 310P ~1.08 GHz (approx., public figures).
_A2 = register(Platform(
    name="Ascend910B",
    products="Atlas A2 training / Atlas 800I A2 inference (910B1, 910B2)",
    arch="arch22", npu_arch=2201,
    vector_cores=48, ub_bytes=196_608, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=1.6e12, clock_hz=1.8e9,
    x_dtypes=_A2_X, scale_dtypes=_A2_SCALE, y_dtypes=_A2_Y,
))
# The smaller Atlas A2 parts: the same core, fewer vector cores, less HBM bandwidth.
register(dataclasses.replace(_A2, name="Ascend910B4", products="Atlas A2 (910B3, 910B4)", vector_cores=40,
                             hbm_bytes_per_s=0.8e12))
register(Platform(
    name="Ascend310P",
    products="Atlas inference series (310P3)",
    arch="arch22", npu_arch=2002,
    vector_cores=8, ub_bytes=262_144, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=204.8e9, clock_hz=1.08e9,
    x_dtypes=(DataType.INT8,), scale_dtypes=(DataType.FLOAT,), y_dtypes=(DataType.FLOAT16,),
))
# Atlas A3 (910C: two dies, each its own device to CANN as Ascend910_93): NpuArch 2201 like A2, so CANN applies
# A2's lists, rules and tiling (docs/spec.md section 8.7). Per die: 24 AI cores with 48 vector cores and A2's UB;
# 1.6 TB/s of the package's approx. 3.2 TB/s HBM (public figures).
register(dataclasses.replace(_A2, name="Ascend910_93", products="Atlas A3 training / inference (910C, per die)",
                             sources=_A2.sources + (("products", "Atlas A3 shares NpuArch 2201 with A2: same rules "
                                                                 "and tiling (docs/spec.md section 8.7)"),)))

# Ascend 950 (arch35). Huawei publishes no vector-core count or UB size for it: the cores are those of
# upstream's arch35 tiling unit tests (48), the UB the 248 KiB of asc-tools' ascend950pr_9599 CPU-debug profile
# (docs/spec.md section 8.8 point 5); the worked plans of section 8.6.8 use 196,608 B (``with_overrides``).
# HBM: 950PR's HiBL 1.0 at 1.6 TB/s, 950DT's HiZQ 2.0 at 4 TB/s (Huawei Connect 2025, approx.).
_950_SOURCES = dict(_SOURCES)
_950_SOURCES.update(
    npu_arch="CANN DAV_3510 (docs/spec.md section 8.1)",
    vector_cores="approx.: the core count of upstream's arch35 tiling unit tests (no public figure)",
    ub_bytes="approx.: asc-tools' ascend950pr_9599 CPU-debug profile, 253,952 B (no public figure)",
    hbm_bytes_per_s="approx., Huawei Connect 2025: 950PR HiBL 1.0 1.6 TB/s, 950DT HiZQ 2.0 4 TB/s",
    clock_hz="assumed: 910B's AI-core clock (no public figure)",
)
_950 = register(Platform(
    name="Ascend950PR",
    products="Ascend 950PR (prefill / recommendation)",
    arch="arch35", npu_arch=3510,
    vector_cores=48, ub_bytes=253_952, sys_workspace_bytes=16 * MIB,
    hbm_bytes_per_s=1.6e12, clock_hz=1.8e9,
    x_dtypes=_950_X, scale_dtypes=_A2_SCALE, y_dtypes=_A2_Y,
    sources=tuple(_950_SOURCES.items()),
))
register(dataclasses.replace(_950, name="Ascend950DT", products="Ascend 950DT (decode / training)",
                             hbm_bytes_per_s=4.0e12))
