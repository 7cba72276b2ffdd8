"""The tiling commands: plan, sim, sweep; and their user errors (one line on stderr, exit 2)."""

import json
import time

import pytest

from antiquant import tiling
from antiquant.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_matches_the_library(capsys):
    code, out, err = run(capsys, "plan", "100x20000", "--json")
    assert code == 0 and not err
    data = json.loads(out)
    plan = tiling.plan((100, 20000), x_dtype="int8", scale_size=20000, scale_dtype="float32", has_offset=False,
                       dst_type="float16", sqrt_mode=False)
    assert data["tiling_data"] == plan.tiling_data and data["tiling_key"] == 1 and data["block_dim"] == 34
    assert bytes.fromhex(data["tiling_bytes"]) == plan.to_bytes()
    assert data["ub_bytes"] == plan.ub_bytes and [r["name"] for r in data["ub_map"]] == ["x", "y", "scale", "tmp"]
    assert [c["tiles"] for c in data["per_core"]] == [6] * 33 + [2]
    assert data["estimated_us"] > 0 and data["bound"] and any("-41" in n for n in data["notes"])
    assert data["tiles"] == 200 and data["estimate_skipped"] is None


def test_plan_text(capsys):
    code, out, _ = run(capsys, "plan", "256x96", "--offset", "--dst", "bfloat16", "--strategy", "cann")
    assert code == 0
    assert "tiling key 6 (PER_CHANNEL_NDDMA, offset), block dim 7" in out
    assert "baseN 37" in out and "lcmN 2" in out and "baseLenEx 3584" in out
    assert "cores 0-5" in out and "core 6" in out and "UB map (2 buffers" in out and "estimated NPU time" in out


def test_plan_with_parameters(capsys):
    code, out, _ = run(capsys, "plan", "64x4096", "--x-dtype", "int32", "--per-tensor", "--strategy", "row-batched",
                       "--buffers", "3", "--ub-budget", "32768", "--platform", "Ascend910B4", "--json")
    data = json.loads(out)
    assert code == 0 and data["buffers"] == 3 and data["ub_budget"] == 32768 and data["ub_bytes"] <= 32768
    # row-batched: 64 rows over 40 cores -> 2 rows per core on ceil(64 / 2) = 32 cores
    assert data["platform"] == "Ascend910B4" and data["block_dim"] == 32 and data["tiling_key"] == 0


def test_plan_of_a_huge_shape_is_quick_and_skips_the_estimate(capsys):
    build_parser()      # imports every command's module: not the plan's time
    start = time.perf_counter()
    code, out, err = run(capsys, "plan", "99999999999x99999999999")
    assert time.perf_counter() - start < 0.5 and code == 0 and not err
    assert "blockFactor 2083333334" in out and f"tiles: {99999999999 * 8223685}" in out
    assert "cores 0-46" in out and "largest tile 1 x 12160" in out and "UB map (2 buffers; 194560" in out
    assert "estimated NPU time skipped: the plan has 822368499991776315 tiles, more than the simulator's limit" in out
    code, out, _ = run(capsys, "plan", "99999999999x99999999999", "--json")
    data = json.loads(out)
    assert data["tiles"] == 822368499991776315 and data["estimated_us"] is None and data["estimate_skipped"]


def test_sim_writes_trace_and_plot(capsys, tmp_path):
    trace = tmp_path / "trace.json"
    args = ["sim", "1024x16384", "--offset", "--trace", str(trace), "--set", "hbm_bytes_per_s=0.8e12"]
    pytest.importorskip("matplotlib")
    plot = tmp_path / "timeline.png"
    args += ["--plot", str(plot)]
    code, out, err = run(capsys, *args)
    assert code == 0 and not err
    assert "47 cores" in out and "-bound" in out and "override (8e+11" in out
    events = json.loads(trace.read_text())["traceEvents"]
    assert sum(e["ph"] == "X" for e in events) == 1 + 3 * 2048   # launch + three pipes per tile
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_sweep_table_and_json(capsys, tmp_path):
    code, out, err = run(capsys, "sweep", "6x700", "--x-dtype", "int4", "--offset", "--strategies",
                         "cann,equal-bytes", "--buffers", "1,2", "--ub-budgets", "16384,196608", "--repeat", "1")
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines[0].startswith("antiquant sweep: 6x700 int4 -> float16") and "CPU fused ms" in lines[1]
    rows = [line for line in lines[2:] if line.split()[0] in ("cann", "equal-bytes")]
    assert len(rows) == 8 and all(line.endswith("yes") for line in rows)
    pytest.importorskip("matplotlib")
    plot = tmp_path / "sweep.png"
    code, out, _ = run(capsys, "sweep", "6x700", "--strategies", "column-split", "--buffers", "2", "--repeat", "1",
                       "--json", "--plot", str(plot))
    (row,) = json.loads(out)
    assert row["strategy"] == "column-split" and row["exact_fused"] and row["exact_ub"] and row["npu_us"] > 0
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_sweep_reports_configurations_that_do_not_fit(capsys):
    code, out, _ = run(capsys, "sweep", "64x64", "--repeat", "0", "--buffers", "2", "--ub-budgets", "300000")
    assert code == 0 and out.count("does not fit: ub_budget: expected at most") == len(tiling.STRATEGIES)


@pytest.mark.parametrize("argv,message", [
    (["plan", "4096xabc"], "shape: expected 1 to 8 positive sizes"),
    (["plan", "64x64", "--strategy", "fastest"], "argument --strategy: invalid choice"),
    (["plan", "64x64", "--buffers", "4"], "buffers: expected 1, 2 or 3"),
    (["plan", "64x64", "--ub-budget", "999999"], "ub_budget: expected at most Ascend910B's UB"),
    (["plan", "64x60", "--x-dtype", "int32"], "shape: int32 x holds 8 values per word"),
    (["plan", "64x64", "--platform", "Ascend310P", "--dst", "bfloat16"], "--dst: Ascend310P supports float16"),
    (["plan", "64x64", "--platform", "nope"], "unknown platform 'nope'"),
    (["sim", "64x64", "--set", "hbm_bytes_per_s=fast"], "--set: expected FIELD=NUMBER"),
    (["sim", "64x64", "--set", "warp=2"], "platform override: expected a field among"),
    (["sim", "64x64", "--buffers", "two"], "argument --buffers: invalid int value"),
    (["sweep", "64x64", "--buffers", "1,x"], "--buffers: expected comma-separated integers"),
    (["sweep", "64x64", "--repeat", "-1"], "--repeat: expected 0 or more runs"),
    (["sim", "99999999999x99999999999"], "the plan has 822368499991776315 tiles, more than the simulator's limit"),
    (["plan", "99999999999x99999999999", "--per-tensor"], "beyond int64"),
])
def test_user_errors_are_one_line_with_exit_2(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exc:       # argparse's own checks exit from parse_args
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_closed_pipe_is_not_an_error(monkeypatch, capsys):
    """`antiquant plan ... | head`: the reader leaving early ends the command quietly."""
    from antiquant import cli

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["plan", "64x512"]) == 0
    assert "error" not in capsys.readouterr().err


# -- Ascend 950 ------------------------------------------------------------------------------------------------

def test_plan_on_950_per_head_matches_the_library(capsys):
    code, out, err = run(capsys, "plan", "64x8x256", "--platform", "Ascend950PR", "--x-dtype", "hifloat8",
                         "--per-head", "--offset", "--json")
    assert code == 0 and not err
    data = json.loads(out)
    plan = tiling.plan((64, 8, 256), x_dtype="hifloat8", scale_shape=(8,), scale_dtype="float32", has_offset=True,
                       dst_type="float16", sqrt_mode=False, platform="Ascend950PR")
    assert data["tiling_data"] == dict(plan.tiling_data) and data["tiling_key"] == plan.tiling_key
    assert data["tiling_key"] % 8 == tiling.RegbaseMode.PER_HEAD and data["tiling_key"] & 8   # with offset
    assert "per-head float32 scale" in data["problem"] and len(bytes.fromhex(data["tiling_bytes"])) == 12 * 8


def test_plan_text_names_arch35_modes(capsys):
    code, out, _ = run(capsys, "plan", "64x8x256", "--platform", "Ascend950PR", "--scale-shape", "1x8x1")
    assert code == 0 and "(PER_HEAD" in out and "12 x int64" in out
    code, out, _ = run(capsys, "plan", "64x4096", "--platform", "Ascend950PR", "--x-dtype", "float8_e4m3fn")
    assert code == 0 and "(PER_CHANNEL" in out


@pytest.mark.parametrize("x_dtype", ["hifloat8", "float8_e5m2", "float8_e4m3fn", "int4"])
def test_sweep_on_950_runs_bit_exact(capsys, x_dtype):
    code, out, err = run(capsys, "sweep", "6x4x64", "--platform", "Ascend950PR", "--x-dtype", x_dtype,
                         "--per-head", "--offset", "--repeat", "1", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows and all(r["exact_fused"] and r["exact_ub"] for r in rows if "error" not in r)


def test_sim_on_950(capsys, tmp_path):
    trace = tmp_path / "t.json"
    code, out, err = run(capsys, "sim", "1024x4096", "--platform", "Ascend950DT", "--x-dtype", "float8_e5m2",
                         "--trace", str(trace))
    assert code == 0 and not err and json.loads(trace.read_text())["traceEvents"]


@pytest.mark.parametrize("argv,message", [
    (["plan", "64x64", "--x-dtype", "hifloat8"], "--x-dtype: Ascend910B supports int8, int4, int32"),
    (["plan", "64", "--platform", "Ascend950PR", "--per-head"], "--per-head: a per-head scale runs along"),
    (["plan", "64x64", "--platform", "Ascend950PR", "--scale-shape", "0"], "--scale-shape: expected 1 to 8"),
])
def test_950_user_errors(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
