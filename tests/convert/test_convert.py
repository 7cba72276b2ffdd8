"""``antiquant convert``: a synthetic msModelSlim checkpoint converted and checked bit for bit; CLI failures."""

import json
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

pytest.importorskip("safetensors")

from safetensors import safe_open  # noqa: E402

import synthetic_msmodelslim as msmodelslim  # noqa: E402
from antiquant.convert import msmodelslim as convert  # noqa: E402
from antiquant.cli import main  # noqa: E402
from antiquant.convert.safetensors_writer import SafetensorsWriter  # noqa: E402
from antiquant.extras import install_hint  # noqa: E402
from conftest import assert_same_bits  # noqa: E402
from synthetic_msmodelslim import DOWN, FLOATS, K, Q, UP, expected  # noqa: E402

QUANTIZED = (Q, K, DOWN, UP)


@pytest.fixture
def checkpoint(tmp_path):
    src = tmp_path / "w8a16"
    src.mkdir()
    return src, msmodelslim.build(src)


def read_dir(directory):
    """{name: array} over every safetensors file in ``directory``, read by safetensors itself."""
    tensors = {}
    for path in sorted(directory.glob("*.safetensors")):
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():
                tensors[name] = f.get_tensor(name)
    return tensors


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name)


def test_multi_shard_checkpoint_bit_for_bit(checkpoint, tmp_path, capsys):
    src, t = checkpoint
    out = tmp_path / "float"
    assert main(["convert", str(src), str(out)]) == 0
    assert "4 weights dequantized to bf16, 4 tensors copied, 2 shard(s)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]
    got = read_dir(out)
    assert sorted(got) == sorted(QUANTIZED + FLOATS)  # every _scale/_offset gone
    for name in QUANTIZED:
        assert_same_bits(got[name], expected(t, name))
    for name in FLOATS:
        assert got[name].dtype == t[name].dtype and got[name].tobytes() == t[name].tobytes()
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert index["weight_map"][FLOATS[0]] == "model-00001-of-00002.safetensors"  # sharded like the input
    assert index["weight_map"][UP] == "model-00002-of-00002.safetensors"
    assert index["metadata"]["total_size"] == sum(a.nbytes for a in got.values())
    assert leftovers(tmp_path) == []


def test_plan_reads_headers_only_and_names_files_absolutely(checkpoint, monkeypatch):
    src, _ = checkpoint
    monkeypatch.chdir(src.parent)
    jobs = convert.plan(src.name, "fp16")  # a relative INPUT: cluster workers may run in another directory
    assert [job.filename for job in jobs] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    items = {it.name: it for job in jobs for it in job.items}
    assert all(Path(it.path).is_absolute() for it in items.values())
    assert isinstance(items[UP], convert.Dequant) and items[UP].int4 and items[UP].offset[0] == str(shard(src, 0))
    assert isinstance(items[FLOATS[3]], convert.Copy)  # a float bias tagged W8A16 is copied


def test_single_shard_to_float16_in_small_row_blocks(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    src.mkdir()
    t = msmodelslim.build(src, seed=3, shards=1)
    # several read blocks per tensor, operator chunks and transposing tiles that end mid-way
    monkeypatch.setattr(convert, "BLOCK_ELEMENTS", 100)
    monkeypatch.setattr(convert, "CHUNK_ELEMENTS", 50)
    monkeypatch.setattr(convert, "TILE", 3)
    assert main(["convert", str(src), str(tmp_path / "out"), "--dst", "fp16"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.safetensors"]
    got = read_dir(tmp_path / "out")
    for name in QUANTIZED:
        assert_same_bits(got[name], expected(t, name, np.float16))


@pytest.mark.parametrize("n,k,groups", [(33, 96, 3), (1, 8, 0), (7, 64, 64), (130, 260, 2), (5, 40, 1)])
def test_dequantize_helper_matches_the_formula(n, k, groups, monkeypatch):
    monkeypatch.setattr(convert, "CHUNK_ELEMENTS", 1000)  # several operator calls, a partial last one
    monkeypatch.setattr(convert, "TILE", 16)
    rng = np.random.default_rng(n * k + groups)
    w, s, o = msmodelslim.quantized(rng, n, k, groups)
    t = {"w": w, "w_scale": s, "w_offset": o}
    assert_same_bits(convert.dequantize_msmodelslim(w, s, o), expected(t, "w"))
    assert_same_bits(convert.dequantize_msmodelslim(w, s, dst_type="float16"),
                     expected({"w": w, "w_scale": s}, "w", np.float16))
    low = {"w": w, "w_scale": s.astype(ml_dtypes.bfloat16), "w_offset": o.astype(np.float16)}  # widened exactly
    assert_same_bits(convert.dequantize_msmodelslim(w, low["w_scale"], low["w_offset"]),
                     expected({key: v.astype(np.float32) if key != "w" else v for key, v in low.items()}, "w"))
    assert convert.dequantize_msmodelslim(w[:0], s[:0], o[:0]).shape == (0, k)


def run_failing(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("antiquant convert: error: ") and "Traceback" not in err
    return err


def describe(src, **changes):
    path = next(src.glob("quant_model_description*.json"))
    data = json.loads(path.read_text())
    data.update(changes)
    data = {name: kind for name, kind in data.items() if kind is not None}  # None deletes an entry
    path.write_text(json.dumps(data))


def shard(src, i):
    return sorted(src.glob("quant_model_weight*.safetensors"))[i]


BREAKAGES = {
    "missing input": (lambda src: src.rename(src.with_name("elsewhere")), "no such directory"),
    "garbage shard": (lambda src: shard(src, 1).write_bytes(b"\x00" * 40), "not a valid safetensors file"),
    "truncated shard": (lambda src: shard(src, 0).write_bytes(shard(src, 0).read_bytes()[:-100]),
                        "not a valid safetensors file"),
    "missing shard": (lambda src: shard(src, 1).unlink(), "which is missing"),
    "missing shard, no index": (lambda src: (next(src.glob("*.index.json")).unlink(), shard(src, 1).unlink()),
                                "no shard holds it"),
    "no description": (lambda src: next(src.glob("quant_model_description*.json")).unlink(),
                       "no quant_model_description"),
    "corrupt description": (lambda src: next(src.glob("quant_model_description*.json")).write_text("{oops"),
                            "not readable JSON"),
    "unknown quant type": (lambda src: describe(src, **{DOWN: "W8A8", DOWN + "_scale": "W8A8"}),
                           "quantization type 'W8A8' is not supported"),
    "tensor without entry": (lambda src: describe(src, **{FLOATS[0]: None}), "has no entry in the"),
    "type not a string": (lambda src: describe(src, **{FLOATS[0]: 3}), "expected a quantization type string"),
    "int8 weight without scale": (lambda src: _drop_scale(src), f"int8 weight tagged W8A16 has no {K}_scale"),
    "scale of the wrong shape": (lambda src: _replace(src, 1, DOWN + "_scale", np.ones((40, 5), np.float32)),
                                 f"{DOWN}_scale: expected float32 [40] or [40, k / group_size] with k = 64"),
    "weight not int8": (lambda src: _replace(src, 1, DOWN, np.ones((40, 64), np.int16)), "must be int8 [n, k]"),
}


def _replace(src, i, name, value):
    """Rewrite shard ``i`` with tensor ``name`` replaced (None: removed)."""
    from safetensors.numpy import save_file

    path = shard(src, i)
    with safe_open(str(path), framework="numpy") as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    tensors[name] = value
    save_file({key: v for key, v in tensors.items() if v is not None}, str(path))


def _drop_scale(src):
    _replace(src, 0, K + "_scale", None)
    describe(src, **{K + "_scale": None})


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_checkpoints_fail_in_one_line(breakage, checkpoint, tmp_path, capsys):
    src, _ = checkpoint
    damage, message = BREAKAGES[breakage]
    damage(src)
    err = run_failing(["convert", str(src), str(tmp_path / "out")], capsys)
    assert message in err
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_existing_output_is_refused_and_left_alone(checkpoint, tmp_path, capsys):
    src, _ = checkpoint
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert "already exists" in run_failing(["convert", str(src), str(out)], capsys)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    out.joinpath("keep.txt").unlink()  # an empty directory is taken
    assert main(["convert", str(src), str(out)]) == 0


def test_failure_while_writing_leaves_nothing(checkpoint, tmp_path, capsys):
    src, t = checkpoint
    bad = t[UP].copy()
    bad[-1, -1] = 100  # not an int4 value: found only once the data is read, after shard 1 is written
    _replace(src, 1, UP, bad)
    assert "outside [-8, 7]" in run_failing(["convert", str(src), str(tmp_path / "out")], capsys)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_interrupt_leaves_nothing(checkpoint, tmp_path, monkeypatch, capsys):
    src, _ = checkpoint
    calls = []
    original = SafetensorsWriter.append

    def append(self, name, data):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original(self, name, data)

    monkeypatch.setattr(SafetensorsWriter, "append", append)
    assert main(["convert", str(src), str(tmp_path / "out")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_missing_extra_is_one_line(checkpoint, tmp_path, monkeypatch, capsys):
    src, _ = checkpoint
    monkeypatch.setitem(sys.modules, "safetensors", None)  # makes `import safetensors` fail
    err = run_failing(["convert", str(src), str(tmp_path / "out")], capsys)
    assert f"antiquant convert needs safetensors: {install_hint('convert')}\n" in err
    assert not (tmp_path / "out").exists()


def test_scheduler_without_dask_is_one_line(checkpoint, tmp_path, monkeypatch, capsys):
    src, _ = checkpoint
    monkeypatch.setitem(sys.modules, "distributed", None)
    err = run_failing(["convert", str(src), str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert f"--scheduler needs Dask: {install_hint('dask')}\n" in err and leftovers(tmp_path) == []


def test_writer_refuses_data_out_of_order(tmp_path):
    entries = [("a", "F32", (2,)), ("b", "I8", (3,))]
    with pytest.raises(ValueError, match="expected at most 8 bytes of 'a'"):
        with SafetensorsWriter(tmp_path / "x.safetensors", entries) as writer:
            writer.append("b", np.zeros(3, np.int8))
    writer = SafetensorsWriter(tmp_path / "y.safetensors", entries)
    writer.append("a", np.ones(2, np.float32))
    with pytest.raises(ValueError, match="'b' is missing 3 bytes"):
        writer.close()
