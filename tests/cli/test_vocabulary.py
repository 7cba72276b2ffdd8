"""One vocabulary for the command line: dtype names in every spelling, --version, the bare call, bench --quick,
output paths and scheduler addresses refused before any work, the demo's cache note."""

import importlib.metadata
import json
import socket
import threading
import time

import pytest

from antiquant.bench import machine
from antiquant.cli import build_parser, main, version
from antiquant.cli import convert as convert_cli
from antiquant.cli import demo
from antiquant.core import dtypes


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def spellings(datatypes):
    """(every name NAMES gives one of ``datatypes``, the DataType it names)."""
    return [(name, dt) for dt in datatypes
            for name in (dtypes.NAMES[dt].name, dtypes.NAMES[dt].short, *dtypes.NAMES[dt].aliases)]


@pytest.mark.parametrize("flag,datatypes,attr", [("--x-dtype", dtypes.X_TYPES, "x_dtype"),
                                                 ("--scale-dtype", dtypes.SCALE_TYPES, "scale_dtype"),
                                                 ("--dst", dtypes.DST_TYPES, "dst")])
@pytest.mark.parametrize("command", ["plan", "sim", "sweep"])
def test_tiling_commands_take_every_spelling_of_a_dtype(command, flag, datatypes, attr):
    parser = build_parser(command)
    for name, dt in spellings(datatypes):
        for given in (name, name.upper()):
            args = parser.parse_args([command, "64x64", flag, given])
            assert getattr(args, attr) == dtypes.NAMES[dt].name, (flag, given)


def test_convert_takes_every_spelling_of_its_dst():
    parser = build_parser("convert")
    for name, dt in spellings(dtypes.DST_TYPES):
        assert parser.parse_args(["convert", "in", "out", "--dst", name]).dst == dtypes.NAMES[dt].short


def test_both_spellings_give_the_same_plan(capsys):
    short = run(capsys, "plan", "64x4096", "--dst", "bf16", "--scale-dtype", "bf16", "--json")
    long = run(capsys, "plan", "64x4096", "--dst", "bfloat16", "--scale-dtype", "bfloat16", "--json")
    assert short == long and short[0] == 0 and json.loads(short[1])["problem"].startswith("64x4096 int8 -> bfloat16")


def test_a_dtype_of_the_wrong_role_is_refused_in_one_line(capsys):
    code, _, err = run(capsys, "plan", "64x64", "--dst", "float32")
    assert code == 2 and err == ("antiquant plan: error: argument --dst: invalid choice: 'float32' "
                                 "(choose from 'float16', 'bfloat16')\n")


def test_version_is_the_installed_distributions(capsys):
    assert run(capsys, "--version") == (0, f"antiquant {importlib.metadata.version('antiquant')}\n", "")


def test_version_outside_an_install_is_the_packages(monkeypatch):
    import antiquant

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert version() == f"{antiquant.__version__} (not installed)"


def test_a_bare_call_is_a_usage_error_that_shows_the_usage(capsys):
    code, out, err = run(capsys)
    usage, error = err.splitlines()
    assert code == 2 and not out
    assert usage == "usage: antiquant [-h] [--version] {demo,convert,plan,sim,sweep,bench} ..."
    assert error.startswith("antiquant: error: the following arguments are required: {demo,convert,")
    assert error.endswith("`antiquant --help` says what each command does")


def test_a_command_error_stays_one_line(capsys):
    code, _, err = run(capsys, "plan")
    assert code == 2 and err == "antiquant plan: error: the following arguments are required: shape\n"


# -- bench --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,preset", [([], "quick"), (["--quick"], "quick"), (["--full"], "full")])
def test_bench_quick_is_accepted_and_is_the_default(fake_suite, capsys, argv, preset):
    code, out, err = run(capsys, "bench", *argv)
    assert code == 0 and out == "tables\n" and fake_suite == [preset] and "dram: measuring" in err
    assert ("antiquant bench: a quick run" in err) == (preset == "quick")


def test_bench_quick_and_full_exclude_each_other(fake_suite, capsys):
    code, _, err = run(capsys, "bench", "--quick", "--full")
    assert code == 2 and "not allowed with argument --quick" in err and fake_suite == []


# -- output paths, before any work --------------------------------------------------------------------------

@pytest.fixture
def no_work(monkeypatch):
    """Every command's work fails the test: a refusal must come first."""
    from antiquant import sim
    from antiquant.bench import suite

    def work(*args, **kwargs):
        raise AssertionError("the work started before the output path was checked")
    monkeypatch.setattr(sim, "simulate", work)
    monkeypatch.setattr(suite, "run_suite", work)
    monkeypatch.setattr("antiquant.cli.sweep.measure", work)


def bad_paths(tmp):
    a_file = tmp / "a-file"
    a_file.write_text("")
    return {"missing directory": (str(tmp / "nowhere" / "out.x"), f"directory {tmp / 'nowhere'} does not exist"),
            "a directory": (str(tmp), f"{tmp}: is a directory; give a file name"),
            "under a file": (str(a_file / "out.x"), f"directory {a_file} is not a directory")}


@pytest.mark.parametrize("case", ["missing directory", "a directory", "under a file"])
@pytest.mark.parametrize("argv", [["sim", "64x64", "--trace"], ["sim", "64x64", "--plot"],
                                  ["sweep", "64x64", "--plot"]])
def test_output_files_are_checked_before_any_work(no_work, tmp_path, capsys, argv, case):
    if argv[-1] == "--plot":
        pytest.importorskip("matplotlib")
    path, reason = bad_paths(tmp_path)[case]
    code, out, err = run(capsys, *argv, path)
    assert code == 2 and not out
    assert err.startswith(f"antiquant {argv[0]}: error: argument {argv[-1]}: ") and err.endswith(f"{reason}\n")
    assert err.count("\n") == 1


def test_bench_out_is_checked_before_any_work(no_work, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for path, reason in ((a_file, "exists and is not a directory"),
                         (a_file / "deeper", f"directory {a_file} is not a directory")):
        code, _, err = run(capsys, "bench", "--out", str(path))
        assert code == 2 and err == f"antiquant bench: error: argument --out: {path}: {reason}\n"
    from antiquant.bench.__main__ import main as bench_main
    with pytest.raises(SystemExit) as exit_:        # plain argparse: the usage, then the error
        bench_main(["--out", str(a_file)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.endswith(f"error: argument --out: {a_file}: exists and is not a directory\n")


def test_a_new_output_directory_under_a_writable_one_is_taken(tmp_path):
    from antiquant.cli.options import output_dir, output_file
    assert output_dir(str(tmp_path / "new" / "deeper")) == str(tmp_path / "new" / "deeper")
    assert output_file(str(tmp_path / "t.json")) == str(tmp_path / "t.json")
    assert not list(tmp_path.iterdir())      # checking wrote nothing that stays


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_unwritable_directory_is_refused_even_for_root(no_work, capsys):
    code, _, err = run(capsys, "sim", "64x64", "--trace", "/proc/trace.json")
    assert code == 2 and err.startswith("antiquant sim: error: argument --trace: /proc/trace.json: directory /proc "
                                        "is not writable (")


def test_plot_without_matplotlib_is_refused_before_any_work(no_work, monkeypatch, tmp_path, capsys):
    import sys

    from antiquant.extras import install_hint
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run(capsys, "sim", "64x64", "--plot", str(tmp_path / "p.png"))
    assert code == 2 and err == f"antiquant sim: error: argument --plot: plotting needs matplotlib: " \
                                f"{install_hint('plot')}\n"


# -- convert --scheduler ------------------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]      # free once closed: nothing listens there


@pytest.mark.parametrize("address,message", [
    ("nonsense", "--scheduler nonsense: missing port number in address 'nonsense'; expected an address such as "
                 "tcp://host:8786"),
    ("tcp://host", "--scheduler tcp://host: missing port number"),
    ("inproc://x", "--scheduler inproc://x: the command line reaches schedulers over tcp only, got inproc://"),
])
def test_a_malformed_scheduler_address_is_refused_at_once(tmp_path, capsys, address, message):
    pytest.importorskip("distributed")
    pytest.importorskip("safetensors")
    start = time.perf_counter()
    code, _, err = run(capsys, "convert", str(tmp_path / "in"), str(tmp_path / "out"), "--scheduler", address)
    assert time.perf_counter() - start < convert_cli.SCHEDULER_CONNECT_S
    assert code == 2 and err.startswith(f"antiquant convert: error: {message}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_that_does_not_answer_is_refused_within_the_timeout(tmp_path, capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("safetensors")
    port = closed_port()
    address = f"tcp://127.0.0.1:{port}"
    start = time.perf_counter()
    code, _, err = run(capsys, "convert", str(tmp_path / "in"), str(tmp_path / "out"), "--scheduler", address)
    assert time.perf_counter() - start < convert_cli.SCHEDULER_CONNECT_S
    assert code == 2 and err.startswith(f"antiquant convert: error: --scheduler {address}: no scheduler answers "
                                        f"there (") and err.endswith(f"waited at most "
                                                                     f"{convert_cli.SCHEDULER_CONNECT_S} s)\n")


@pytest.fixture
def silent_server():
    """A listening socket that never accepts: connecting succeeds (the kernel's backlog), nothing ever answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def chatty_server():
    """A server that answers every connection with bytes that are not dask's protocol (an HTTP reply)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:     # closed: the test is over
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 64)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_silent_address_is_waited_on_for_the_connect_timeout_only(tmp_path, capsys, monkeypatch, silent_server):
    pytest.importorskip("distributed")
    pytest.importorskip("safetensors")
    monkeypatch.setattr(convert_cli, "SCHEDULER_CONNECT_S", 0.5)
    start = time.perf_counter()
    code, _, err = run(capsys, "convert", str(tmp_path / "in"), str(tmp_path / "out"), "--scheduler", silent_server)
    assert time.perf_counter() - start < 2
    assert code == 2 and err.startswith(f"antiquant convert: error: --scheduler {silent_server}: no scheduler "
                                        f"answers there (") and err.endswith("waited at most 0.5 s)\n")


def test_a_server_that_is_no_scheduler_is_refused(tmp_path, capsys, chatty_server):
    pytest.importorskip("distributed")
    pytest.importorskip("safetensors")
    start = time.perf_counter()
    code, _, err = run(capsys, "convert", str(tmp_path / "in"), str(tmp_path / "out"), "--scheduler", chatty_server)
    assert time.perf_counter() - start < convert_cli.SCHEDULER_CONNECT_S + 1
    assert code == 2 and err.startswith(f"antiquant convert: error: --scheduler {chatty_server}: what answers there "
                                        f"is not a dask scheduler (") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# -- demo ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("caches,note", [
    ({"L1d": 48 << 10, "L2": 1 << 20, "L3": 32 << 20}, "A 4096x11008 weight's x and y (135.3 MB) exceed this CPU's L3 "
                                                      "cache (33.6 MB): these are DRAM speeds."),
    ({"L2": 1 << 20, "L3": 256 << 20}, "A 4096x11008 weight's x and y (135.3 MB) fit this CPU's L3 cache (268.4 MB), "
                                       "so these are cache speeds;\n  `python -m antiquant.bench` measures DRAM-sized "
                                       "streams."),
    ({}, "This CPU's cache sizes are unknown, so these may be cache speeds; `python -m antiquant.bench` measures "
         "DRAM-sized streams."),
])
def test_demo_cache_note_follows_the_shape_and_the_cache(caches, note):
    assert demo.cache_note(4096, 11008, 4096 * 11008 * 3, caches) == note


def test_demo_prints_the_note_of_this_shape_and_this_cpu(capsys, monkeypatch):
    monkeypatch.setattr(demo, "cache_bytes", lambda: {"L2": 100, "L3": 700})     # the int8 case moves 768 bytes
    code, out, _ = run(capsys, "demo", "--rows", "4", "--cols", "64", "--repeat", "1")
    assert code == 0 and "  A 4x64 weight's x and y (0.0 MB) exceed this CPU's L3 cache (0.0 MB)" in out


def test_cache_sizes_come_from_sysfs_or_sysconf(monkeypatch):
    sizes = machine.cache_bytes()
    assert list(sizes.values()) == sorted(sizes.values()) and machine.l3_bytes() == sizes.get("L3")
    monkeypatch.setattr(machine.glob, "glob", lambda pattern: [])
    known = {"SC_LEVEL1_DCACHE_SIZE": 32768, "SC_LEVEL2_CACHE_SIZE": 0, "SC_LEVEL3_CACHE_SIZE": 8 << 20}

    def sysconf(name):
        if name not in known:
            raise ValueError(f"unrecognized configuration name {name}")
        return known[name]
    monkeypatch.setattr(machine.os, "sysconf", sysconf)
    assert machine.cache_bytes() == {"L1d": 32768, "L3": 8 << 20}       # 0: the C library does not know
    known.clear()
    assert machine.cache_bytes() == {} and machine.l3_bytes() is None
