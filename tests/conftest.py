"""Shared test helpers: bit-pattern comparison, the platform registry's guard, hypothesis profiles (fixed
seed in CI)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from antiquant.core.dtypes import DST_TYPES, numpy_dtype_of
from antiquant.core.reference import first_difference

settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal shape, dtype and bit patterns, NaNs included (docs/spec.md section 1)."""
    problem = first_difference(actual, expected)
    if problem:
        raise AssertionError(problem)


# dstType code -> y's numpy scalar type (numpy.float16, ml_dtypes.bfloat16)
DST = {int(dt): numpy_dtype_of(dt).type for dt in DST_TYPES}


@pytest.fixture
def platform_registry():
    """``antiquant.core.platforms`` for a test that registers profiles: the registry is put back afterwards,
    so a test's profile neither shows up in ``platforms.names()`` for later tests nor shadows a real one."""
    from antiquant.core import platforms
    saved = dict(platforms._REGISTRY)
    yield platforms
    platforms._REGISTRY.clear()
    platforms._REGISTRY.update(saved)


@pytest.fixture(autouse=True)
def _registry_left_as_found(request):
    """Fail a test that changes the platform registry without ``platform_registry`` (and undo the change)."""
    from antiquant.core import platforms
    before = dict(platforms._REGISTRY)
    yield
    after = dict(platforms._REGISTRY)
    if after != before:
        platforms._REGISTRY.clear()
        platforms._REGISTRY.update(before)
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        pytest.fail(f"{request.node.nodeid} changed the platform registry ({', '.join(changed)}); "
                    f"register profiles through the platform_registry fixture", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "bigmem: needs several GB of free memory; skipped when MemAvailable is lower")


def mem_available() -> int:
    """Bytes of memory the kernel says can be allocated without swapping (/proc/meminfo MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def require_memory(nbytes: int, what: str) -> None:
    """Skip the calling test, saying why, unless ``nbytes`` plus 1 GiB of headroom are available."""
    import pytest
    have, need = mem_available(), nbytes + (1 << 30)
    if have < need:
        pytest.skip(f"{what} needs {need / 2**30:.1f} GiB of free memory, MemAvailable is {have / 2**30:.1f} GiB")


@pytest.fixture(params=["serial", "parallel", "streaming"])
def launch(request, monkeypatch):
    """Run the test with small outputs on the calling thread (the default), on the thread team, and on the
    thread team with streaming stores. Launches cached by earlier tests are set aside: they would keep the
    choice made under other thresholds."""
    from antiquant.core import launch as launching
    monkeypatch.setattr(launching, "_LAUNCHES", {})
    if request.param != "serial":
        monkeypatch.setattr(launching, "PARALLEL_MIN_ELEMENTS", 0)
    if request.param == "streaming":
        monkeypatch.setattr(launching, "STREAMING_MIN_BYTES", 0)
    return request.param


@pytest.fixture
def fake_suite(monkeypatch):
    """The bench's ``run_suite`` replaced (CLI tests): records the preset it was given, logs and finishes
    each section, returns no results."""
    from antiquant.bench import report, suite
    seen = []

    def run_suite(config, log, section_done):
        seen.append(config.name)
        for section in config.sections:
            log(f"{section}: measuring")
            section_done(section)
        return {}
    monkeypatch.setattr(suite, "run_suite", run_suite)
    monkeypatch.setattr(report, "markdown", lambda results: "tables\n")
    return seen
