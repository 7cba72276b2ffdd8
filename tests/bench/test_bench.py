"""The benchmark suite on tiny sizes: every code path runs, the results have their structure, and a peer
computing something else is caught. No timing is asserted: speed is measured by ``python -m antiquant.bench``."""

import dataclasses
import json
import sys

import numpy as np
import pytest

from antiquant import cli, reference
from antiquant.bench import report
from antiquant.bench.__main__ import write
from antiquant.bench.cases import ALL_CASES, ARCH35_CASES, Case, make_inputs
from antiquant.core.dtypes import RAW_HIFLOAT8
from antiquant.extras import install_hint
from antiquant.bench.peers import NumpyPeer, TorchCompile, TorchEager, mismatch
from antiquant.bench.plot import write_plot
from antiquant.bench.report import COPY, STREAMING_COPY
from antiquant.bench.suite import SECTIONS, parse_threads, preset, run_suite
from antiquant.bench.timing import max_threads, measure_together, repeated
from conftest import assert_same_bits

TIMED = {"median_s", "min_s", "repeats"}


@pytest.fixture(scope="module")
def tiny():
    """One tiny run of every section; torch.compile is exercised apart (it compiles for seconds)."""
    return run_suite(dataclasses.replace(preset("tiny"), peers=("numpy", "torch")), log=lambda message: None)


def _timed(record):
    assert TIMED <= record.keys(), record
    assert 0 < record["min_s"] <= record["median_s"] and record["repeats"] >= 1


def test_results_have_every_section_and_survive_json(tiny):
    again = json.loads(json.dumps(tiny))
    assert again == tiny
    for key in SECTIONS + ("schema", "config", "machine", "versions", "ceiling", "compile", "notes", "duration_s"):
        assert key in tiny
    assert tiny["config"]["name"] == "tiny"
    assert tiny["machine"]["cpus"] >= 1
    assert set(tiny["other_load"]) == set(SECTIONS)
    assert all(share is None or 0 <= share <= 1 for share in tiny["other_load"].values())


def test_dram_section_measures_every_case_against_the_ceiling(tiny):
    """Percentages are of the streaming-store copy (the physical ceiling); the plain-store one is measured
    beside it."""
    counts = tiny["config"]["threads"]
    assert sorted((c["impl"], c["threads"]) for c in tiny["ceiling"]) == sorted(
        (impl, t) for impl in (COPY, STREAMING_COPY) for t in counts)
    ours = [r for r in tiny["dram"] if r["impl"] == "antiquant" and r["variant"] == "out"]
    assert {(r["case"], r["threads"]) for r in ours} == {(c.label, t) for c in ALL_CASES + ARCH35_CASES
                                                         for t in counts}
    for r in ours:
        _timed(r)
        ceiling = next(c for c in tiny["ceiling"] if c["threads"] == r["threads"] and c["impl"] == STREAMING_COPY)
        assert r["pct_ceiling"] == pytest.approx(100 * r["gbps"] / ceiling["gbps"])
        assert r["exact"] is True and r["traffic_bytes"] >= tiny["config"]["stream_bytes"]
    peers = [r for r in tiny["dram"] if r["impl"] == "numpy+ml_dtypes"]
    assert {r["case"] for r in peers} == set(tiny["config"]["dram_peer_cases"])


def test_peers_are_checked_and_timed_in_llm_row_and_sweep(tiny):
    torch_present = "torch" in tiny["versions"]
    for section in ("llm", "row", "sweep"):
        impls = {r["impl"] for r in tiny[section]}
        assert {"antiquant", "numpy+ml_dtypes"} <= impls
        assert ("torch eager" in impls) == torch_present
        for r in tiny[section]:
            _timed(r)
            assert r.get("exact", True) is True
    if not torch_present:
        assert any("torch eager skipped" in note for note in tiny["notes"])
    row_calls = {(r["impl"], r["variant"]) for r in tiny["row"]}
    assert {("antiquant two-phase", "GetWorkspaceSize + run"),
            ("antiquant two-phase", "repeatable executor, run only"),
            ("widening copy int8->int16", "out"), ("antiquant", "out"), ("antiquant", "alloc")} <= row_calls
    assert {r["threads"] for r in tiny["row"] if r["impl"] == "antiquant"} == set(tiny["config"]["threads"])
    sizes = {(r["size_bytes"], r["threads"], r["impl"]) for r in tiny["sweep"]}
    for size in tiny["config"]["sweep_bytes"]:
        for t in tiny["config"]["threads"]:
            assert (size, t, "antiquant") in sizes and (size, t, "widening copy int8->int16") in sizes


def test_fresh_process_reports_cold_and_warm_apart(tiny):
    assert [r["cache"] for r in tiny["fresh"]] == ["cold", "warm"]
    for r in tiny["fresh"]:
        # importing antiquant (numpy, Numba, the kernels' IR) is timed, not taken before the clock starts
        assert r["import_s"] > 0.05 and r["first_call_s"] > 0 and r["second_call_s"] > 0
        assert r["process_s"] > r["import_s"]


def test_report_prints_every_table(tiny, tmp_path, capsys):
    said = write(tiny, str(tmp_path))
    assert (tmp_path / "results.json").exists() and said[0].startswith("wrote")
    assert report.main([str(tmp_path / "results.json")]) == 0
    text = capsys.readouterr().out
    for title in ("Targets", "Copy ceiling", "DRAM-sized streams", "LLM weight shapes", "One row", "Size sweep",
                  "First call in a fresh process"):
        assert f"### {title}" in text
    assert "int4->fp16 per-channel +offset" in text
    assert report.main([str(tmp_path / "missing.json")]) == 2
    capsys.readouterr()
    assert report.main([str(tmp_path / "results.json"), "--tables", "llm,row", "--level", "4"]) == 0
    text = capsys.readouterr().out
    assert "#### LLM weight shapes" in text and "#### One row" in text and "Targets" not in text
    assert report.main([str(tmp_path / "results.json"), "--tables", "bogus"]) == 2


class OffsetSubtracted(NumpyPeer):
    """A peer with the ONNX convention (subtracting the offset): fast and plausible, and wrong here."""

    name = "offset subtracted"
    key = "wrong"

    def bind(self, inputs, variant):
        return NumpyPeer().bind(dataclasses.replace(inputs, offset=-inputs.offset), variant)


def test_a_wrong_peer_is_reported_not_timed():
    config = dataclasses.replace(preset("tiny"), sections=("llm",))
    results = run_suite(config, peers=[NumpyPeer(), OffsetSubtracted()], log=lambda message: None)
    wrong = [r for r in results["llm"] if r["impl"] == "offset subtracted"]
    right = [r for r in results["llm"] if r["impl"] == "numpy+ml_dtypes"]
    assert len(wrong) == len(right) == len(config.llm_shapes)
    for r in wrong:
        assert r["exact"] is False and "elements differ" in r["mismatch"]
        assert not TIMED & r.keys()
    assert all(r["exact"] for r in right)
    assert sum("offset subtracted" in note and "not timed" in note for note in results["notes"]) == len(wrong)
    assert "mismatch" in report.llm_table(dict(results, llm=[dict(r, impl="torch.compile") for r in wrong]))


def test_mismatch_names_the_first_difference_nan_included():
    expected = np.array([0x3F80, 0x7FC0, 0x0001], np.uint16)
    assert mismatch(expected.copy(), expected) is None
    assert mismatch(np.array([0x3F80, 0x7FA1, 0x0001], np.uint16), expected) is not None  # another NaN
    assert mismatch(np.array([0x3F80, 0x7FC0, 0x0000], np.uint16), expected) == (
        "1 of 3 elements differ; first at (2,): got 0x0000, expected 0x0001")
    assert mismatch(np.array([0x3F80, 0x7F80, 0x0001], np.uint16), expected) is not None  # inf != NaN
    assert "shape" in mismatch(expected[:2], expected)


@pytest.mark.parametrize("case", ALL_CASES + ARCH35_CASES, ids=lambda c: c.label)
def test_numpy_and_torch_peers_equal_the_reference(case):
    inputs = make_inputs(case, 3, 64, seed=5)
    expected = reference.anti_quant(inputs.x, inputs.scale, inputs.offset, dst_type=inputs.dst_code)
    peers = [NumpyPeer()] + ([TorchEager()] if TorchEager().missing() is None else [])
    for peer in peers:
        if case.source == "hifloat8" and (peer.key == "torch" or inputs.x.dtype == RAW_HIFLOAT8):
            with pytest.raises((ImportError, TypeError), match="en_dtypes|hifloat8"):
                peer.bind(inputs, "alloc")      # torch has no HiFloat8; numpy needs en_dtypes
            continue
        bound = peer.bind(inputs, "alloc")
        assert_same_bits(bound.bits(bound.call()).view(inputs.dst_dtype), expected)


def test_torch_compile_peer_equals_the_reference_and_reports_compile_time():
    pytest.importorskip("torch")
    inputs = make_inputs(Case("int4", "fp16", True, True), 4, 64, seed=3)
    expected = reference.anti_quant(inputs.x, inputs.scale, inputs.offset, dst_type=inputs.dst_code)
    for variant in TorchCompile.variants:
        bound = TorchCompile().bind(inputs, variant)
        assert bound.compile_s > 0
        assert_same_bits(bound.bits(bound.call()).view(np.float16), expected)


def test_plot_is_written_or_skipped_with_a_reason(tiny, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "results.png"
    assert write_plot(tiny, str(path)) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    skipped = write_plot(tiny, str(tmp_path / "none.png"))
    assert skipped == f"matplotlib is not installed ({install_hint('plot')}): plot skipped"
    assert not (tmp_path / "none.png").exists()


def test_antiquant_bench_runs_the_quick_preset_and_prints_tables(tiny, tmp_path, monkeypatch, capsys):
    import antiquant.bench.suite
    asked = []
    monkeypatch.setattr(antiquant.bench.suite, "run_suite", lambda config, **hooks: asked.append(config) or tiny)
    assert cli.main(["bench", "--out", str(tmp_path)]) == 0
    assert asked[0].name == "quick"
    assert "### Targets" in capsys.readouterr().out
    assert (tmp_path / "results.json").exists()
    assert cli.main(["bench", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == tiny["schema"]


def test_bad_thread_counts_are_one_line_user_errors(capsys):
    assert parse_threads("1,1") == (1,)
    if max_threads() >= 2:
        assert parse_threads("2, 1") == (1, 2)
    assert cli.main(["bench", "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threads: expected comma-separated counts between 1 and" in err
    with pytest.raises(ValueError, match="--threads"):
        parse_threads("two")


def test_measure_together_takes_one_sample_of_each_per_round_and_stops_each_on_its_own():
    """Round-robin sampling (the LLM section's side by side timing); a slow call stops at max_time."""
    import time
    order = []
    fast = lambda: order.append("fast")                                  # noqa: E731
    slow = lambda: (order.append("slow"), time.sleep(0.03))              # noqa: E731
    timings = measure_together({"fast": fast, "slow": slow}, min_repeat=4, min_time=0.0, max_time=0.05)
    assert order[:4] == ["fast", "slow", "fast", "slow"]
    assert timings["slow"].samples and len(timings["slow"].samples) == 2  # 0.06 s >= max_time after two
    assert len(timings["fast"].samples) == 4
    assert order.count("fast") == 4 and order.count("slow") == 2


def test_repeated_takes_exactly_the_samples_asked_for():
    calls = []
    timing = repeated(lambda: calls.append(1), 4)
    assert len(timing.samples) == 4 == len(calls) and timing.min <= timing.median
