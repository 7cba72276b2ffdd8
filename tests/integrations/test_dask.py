"""``antiquant.dask``: the operator over Dask arrays (any chunking, lazy), and on a local process cluster."""

import ml_dtypes
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from antiquant import AclnnError, ascend_anti_quant, pack_int4  # noqa: E402
from antiquant.dask import ascend_anti_quant as dask_anti_quant  # noqa: E402
from conftest import assert_same_bits  # noqa: E402

RNG = np.random.default_rng(11)
X8 = RNG.integers(-128, 128, (50, 48), dtype=np.int8)
W32 = pack_int4(RNG.integers(-8, 8, (20, 48)), np.int32)  # y is 20 x 384
X4 = RNG.integers(-8, 8, (20, 48)).astype(ml_dtypes.int4)
SCALE = {n: (RNG.random(n) * 0.1).astype(np.float32) for n in (48, 384)}
OFFSET = {n: RNG.normal(0, 3, n).astype(np.float32) for n in (48, 384)}


@pytest.mark.parametrize("x,chunks", [(X8, (50, 48)), (X8, (7, 48)), (X8, (16, 10)), (W32, (6, 5)), (X4, (5, 12))])
@pytest.mark.parametrize("per_channel,has_offset,dst", [(True, True, 27), (True, False, 1), (False, True, 27)])
def test_chunked_equals_whole(x, chunks, per_channel, has_offset, dst):
    n = x.shape[-1] * (8 if x.dtype == np.int32 else 1)
    scale = SCALE[n] if per_channel else SCALE[n][:1]
    offset = (OFFSET[n] if per_channel else OFFSET[n][:1]) if has_offset else None
    y = dask_anti_quant(da.from_array(x, chunks=chunks), scale, offset, dst_type=dst)
    want = ascend_anti_quant(x, scale, offset, dst_type=dst)
    assert y.shape == want.shape and y.dtype == want.dtype
    assert_same_bits(y.compute(scheduler="threads"), want)


def test_lazy_until_computed():
    calls = []

    def produce(block):
        calls.append(block.shape)
        return block

    x = da.from_array(X8, chunks=(10, 48)).map_blocks(produce, meta=np.empty((0, 0), np.int8))
    y = dask_anti_quant(x, SCALE[48], OFFSET[48])
    assert calls == [] and y.numblocks == (5, 1)
    y.compute(scheduler="sync")
    assert len(calls) == 5


def test_invalid_calls_refused_at_once():
    x = da.from_array(X8, chunks=(10, 10))
    with pytest.raises(AclnnError, match="scale: expected size 1 or y's last dimension 48, got 5"):
        dask_anti_quant(x, np.ones(5, np.float32))
    with pytest.raises(AclnnError, match="offset: expected the same dtype as scale"):
        dask_anti_quant(x, SCALE[48], OFFSET[48].astype(ml_dtypes.bfloat16))
    with pytest.raises(AclnnError, match="x: expected dtype in"):
        dask_anti_quant(x.astype(np.int16), SCALE[48])
    with pytest.raises(TypeError, match="scale/offset: expected numpy arrays"):
        dask_anti_quant(x, [1.0])


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on the loopback interface, always shut down."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, worker_dashboard_address=None) as local:
        yield local


def test_on_a_process_cluster(cluster):
    with distributed.Client(cluster) as client:
        y = dask_anti_quant(da.from_array(X8, chunks=(10, 16)), SCALE[48], OFFSET[48], dst_type="bfloat16")
        got = client.compute(y).result()
        assert len(client.scheduler_info()["workers"]) == 2
    assert_same_bits(got, ascend_anti_quant(X8, SCALE[48], OFFSET[48], dst_type="bfloat16"))


def test_convert_spreads_shards_over_the_cluster(cluster, tmp_path, capsys):
    pytest.importorskip("safetensors")
    import synthetic_msmodelslim as msmodelslim
    from antiquant.cli import main

    src = tmp_path / "in"
    src.mkdir()
    msmodelslim.build(src, seed=7)
    assert main(["convert", str(src), str(tmp_path / "here")]) == 0
    assert main(["convert", str(src), str(tmp_path / "there"), "--scheduler", cluster.scheduler_address]) == 0
    printed = capsys.readouterr().out
    assert "2 shard(s)" in printed and f"on {cluster.scheduler_address}" in printed
    files = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "there").iterdir()) and len(files) == 3
    for name in files:
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes()


# -- Ascend 950: 8-bit float x, per-head and multi-dimensional scales -----------------------------------------

E4M3 = RNG.integers(0, 256, (6, 10, 12), dtype=np.uint8).view(ml_dtypes.float8_e4m3fn)  # every code class
HEAD_SCALE = (RNG.random(10) * 0.1).astype(np.float32)
HEAD_OFFSET = RNG.normal(0, 3, 10).astype(np.float32)


@pytest.mark.parametrize("scale,offset", [
    (HEAD_SCALE, HEAD_OFFSET),                                  # [x[-2]]: per head
    (HEAD_SCALE.reshape(1, 10, 1), HEAD_OFFSET.reshape(1, 10, 1)),   # multi-dim, per head
    (SCALE[48][:12].reshape(1, 1, 12), None),                   # multi-dim, per channel
], ids=["per-head", "per-head-3d", "per-channel-3d"])
@pytest.mark.parametrize("chunks", [(6, 10, 12), (2, 3, 12), (3, 4, 5), (1, 6, 6)])
def test_950_scales_follow_the_blocks(scale, offset, chunks):
    """Blocks split the head axis too (and make square blocks, where a 1-D slice would read as per channel)."""
    y = dask_anti_quant(da.from_array(E4M3, chunks=chunks), scale, offset, dst_type=27, platform="Ascend950PR")
    want = ascend_anti_quant(E4M3, scale, offset, dst_type=27, platform="Ascend950PR")
    assert_same_bits(y.compute(scheduler="threads"), want)


def test_950_rules_refused_at_once():
    with pytest.raises(AclnnError, match="FLOAT scale"):
        dask_anti_quant(da.from_array(E4M3), HEAD_SCALE.astype(ml_dtypes.bfloat16), platform="Ascend950PR")
    with pytest.raises(AclnnError, match="x: expected dtype"):
        dask_anti_quant(da.from_array(E4M3), HEAD_SCALE)            # Ascend910B: no 8-bit float x
