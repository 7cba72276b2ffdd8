"""What the numbers were measured on: CPU, caches, memory, library versions (read from Linux and the imports)."""

from __future__ import annotations

import glob
import importlib.metadata
import os
import platform
import re
import resource
import subprocess
import time

__all__ = ["describe", "versions", "cache_bytes", "l3_bytes", "OtherLoad"]

_FLAGS = ("avx2", "f16c", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_fp16", "amx_bf16")


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _lscpu() -> dict[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if v}


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}   # sysfs writes cache sizes as "48K", "32768K"
# os.sysconf's names for the same sizes (glibc's), where sysfs is missing
_SYSCONF_CACHES = {"L1d": "SC_LEVEL1_DCACHE_SIZE", "L2": "SC_LEVEL2_CACHE_SIZE", "L3": "SC_LEVEL3_CACHE_SIZE"}


def cache_bytes() -> dict[str, int]:
    """CPU 0's data caches in bytes, smallest first ({"L1d": ..., "L2": ..., "L3": ...}): from Linux's sysfs,
    else from ``os.sysconf`` where the C library knows them; empty where neither says."""
    sizes = {}
    for index in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        kind, level = _read(f"{index}/type").strip(), _read(f"{index}/level").strip()
        match = re.fullmatch(r"(\d+)([KMG]?)", _read(f"{index}/size").strip())
        if kind != "Instruction" and level and match:
            sizes[f"L{level}{'d' if kind == 'Data' else ''}"] = int(match[1]) * _SIZE_UNITS[match[2]]
    if not sizes:
        for name, key in _SYSCONF_CACHES.items():
            try:
                value = os.sysconf(key)
            except (ValueError, OSError):   # a name this system's C library does not have
                continue
            if value > 0:
                sizes[name] = value
    return dict(sorted(sizes.items(), key=lambda item: item[1]))


def l3_bytes() -> int | None:
    """CPU 0's L3 cache in bytes (None when the system does not say)."""
    return cache_bytes().get("L3")


def describe() -> dict:
    """CPU model, cores, caches, memory and the vector ISA flags that matter for this kernel."""
    info = _lscpu()
    cpuinfo = _read("/proc/cpuinfo")
    flags = set(re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)[1].split()) if "flags" in cpuinfo else set()
    mem = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo"), re.M)
    return {
        "cpu": info.get("Model name") or platform.processor(),
        "cpus": os.cpu_count(),
        "threads_per_core": info.get("Thread(s) per core"),
        "hypervisor": info.get("Hypervisor vendor"),
        "l1d": info.get("L1d cache"), "l2": info.get("L2 cache"), "l3": info.get("L3 cache"),
        "l3_bytes": l3_bytes(),
        "mem_total_bytes": int(mem[1]) * 1024 if mem else None,
        "isa": [f for f in _FLAGS if f in flags],
        "os": platform.platform(),
        "loadavg_start": os.getloadavg()[0],  # other processes on a shared machine make numbers noisy
    }


def versions(*, torch: bool) -> dict:
    """Versions of Python and the libraries measured (torch only if it was imported by the run)."""
    names = ["numpy", "numba", "llvmlite", "ml_dtypes", "antiquant"] + (["torch"] if torch else [])
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            module = __import__(name)
            out[name] = getattr(module, "__version__", "unknown")
    try:
        import llvmlite.binding as llvm
        out["llvm_host_cpu"] = llvm.get_host_cpu_name()
    except ImportError:
        pass
    return out


class OtherLoad:
    """How much of the CPUs other processes used between ``start()`` and ``share()`` (0.0 to 1.0).

    All CPUs' busy time from /proc/stat, less this process's and its children's CPU time. On a shared
    machine a busy neighbour stalls every multi-threaded call (a thread waits for a descheduled peer), so
    each section's share is recorded beside its numbers. None where /proc/stat is not readable.
    """

    def start(self) -> "OtherLoad":
        self._begin = self._sample()
        return self

    @staticmethod
    def _sample():
        fields = _read("/proc/stat").split("\n", 1)[0].split()
        if not fields or fields[0] != "cpu":
            return None
        ticks = [int(v) for v in fields[1:]]
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
        own = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for f in ("ru_utime", "ru_stime"))
        return time.perf_counter(), busy, own

    def share(self) -> float | None:
        end = self._sample()
        if self._begin is None or end is None:
            return None
        wall = (end[0] - self._begin[0]) * (os.cpu_count() or 1)
        others = (end[1] - self._begin[1]) - (end[2] - self._begin[2])
        return min(1.0, max(0.0, others / wall)) if wall > 0 else None
