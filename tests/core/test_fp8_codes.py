"""The 8-bit float x dtypes of Ascend 950 (docs/spec.md section 8.1): their codes, names and numpy storage,
raw bytes labelled as them, and their refusal on today's platforms (Atlas A2, 310P), which do not list them."""

import ml_dtypes
import numpy as np
import pytest

from antiquant import (AclnnError, AclTensor, DataType, Status, aclGetRecentErrMsg, aclnnAscendAntiQuantGetWorkspaceSize,
                       ascend_anti_quant)
from antiquant.core import dtypes
from antiquant.core.dtypes import DTYPE_NAMES, FLOAT8_TYPES, NAMES, RAW_HIFLOAT8, datatype_of, numpy_dtype_of

CODES = np.arange(256, dtype=np.uint8)
ML_DTYPES = {DataType.FLOAT8_E5M2: ml_dtypes.float8_e5m2, DataType.FLOAT8_E4M3FN: ml_dtypes.float8_e4m3fn}


@pytest.fixture
def without_en_dtypes(monkeypatch):
    """dtypes as they are where en_dtypes is not installed; the lazily built tables are rebuilt after."""
    monkeypatch.setattr(dtypes, "_en_dtypes_hifloat8", lambda: None)
    dtypes._numpy_to_acl.cache_clear()
    dtypes._acl_to_numpy.cache_clear()
    yield
    monkeypatch.undo()
    dtypes._numpy_to_acl.cache_clear()
    dtypes._acl_to_numpy.cache_clear()


def test_codes_are_canns():
    for name, code in dict(HIFLOAT8=34, FLOAT8_E5M2=35, FLOAT8_E4M3FN=36).items():
        assert DataType[name] == code
        assert DataType["ACL_" + name] is DataType[name]
        assert DataType(code).short == name
    assert FLOAT8_TYPES == (DataType.HIFLOAT8, DataType.FLOAT8_E5M2, DataType.FLOAT8_E4M3FN)


def test_names():
    assert {n: DTYPE_NAMES[n] for n in ("hifloat8", "hif8", "hifp8")} == dict.fromkeys(("hifloat8", "hif8", "hifp8"),
                                                                                      DataType.HIFLOAT8)
    assert DTYPE_NAMES["float8_e5m2"] is DTYPE_NAMES["fp8_e5m2"] is DTYPE_NAMES["e5m2"] is DataType.FLOAT8_E5M2
    assert DTYPE_NAMES["float8_e4m3fn"] is DTYPE_NAMES["fp8_e4m3fn"] is DTYPE_NAMES["e4m3fn"] is DataType.FLOAT8_E4M3FN
    assert NAMES[DataType.FLOAT8_E5M2].safetensors == "F8_E5M2"
    assert NAMES[DataType.FLOAT8_E4M3FN].safetensors == "F8_E4M3"  # safetensors' F8_E4M3 is torch's e4m3fn
    assert NAMES[DataType.HIFLOAT8].safetensors is None


def test_ml_dtypes_float8_map_both_ways():
    for dt, np_type in ML_DTYPES.items():
        assert datatype_of(np_type) is dt
        assert numpy_dtype_of(dt) == np.dtype(np_type)
        assert numpy_dtype_of(dt).name == NAMES[dt].name


def test_other_float8_formats_have_no_code():
    for name in ("float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz", "float8_e4m3", "float8_e3m4"):
        if hasattr(ml_dtypes, name):
            assert datatype_of(getattr(ml_dtypes, name)) is None, name


def test_en_dtypes_hifloat8_maps_both_ways():
    en_dtypes = pytest.importorskip("en_dtypes", reason="en_dtypes (antiquant[hif8]) is not installed")
    assert datatype_of(en_dtypes.hifloat8) is DataType.HIFLOAT8
    assert numpy_dtype_of(DataType.HIFLOAT8) == np.dtype(en_dtypes.hifloat8)
    assert numpy_dtype_of(DataType.HIFLOAT8).name == "hifloat8"
    assert datatype_of(RAW_HIFLOAT8) is DataType.HIFLOAT8  # the stand-in keeps its label too


def test_without_en_dtypes_hifloat8_is_stored_as_raw_codes(without_en_dtypes):
    assert numpy_dtype_of(DataType.HIFLOAT8) == RAW_HIFLOAT8
    assert datatype_of(RAW_HIFLOAT8) is DataType.HIFLOAT8
    t = AclTensor.from_numpy(CODES, dtype=DataType.HIFLOAT8)
    assert t.dtype is DataType.HIFLOAT8 and t.array.dtype == RAW_HIFLOAT8
    assert np.array_equal(t.array.view(np.uint8), CODES)


@pytest.mark.parametrize("dt", FLOAT8_TYPES, ids=lambda d: d.short)
@pytest.mark.parametrize("storage", [np.uint8, np.int8])
def test_raw_bytes_are_labelled_without_a_copy(dt, storage):
    raw = CODES.view(storage).reshape(4, 64)[:, ::2]  # strided too: labelling never needs contiguity
    t = AclTensor.from_numpy(raw, dtype=dt)
    assert (t.dtype, t.shape, t.packed) == (dt, (4, 32), False)
    assert t.array.dtype == numpy_dtype_of(dt) and datatype_of(t.array.dtype) is dt
    assert t.array.ctypes.data == raw.ctypes.data and t.array.strides == raw.strides
    assert np.array_equal(t.array.view(np.uint8), raw.view(np.uint8))
    assert AclTensor.from_numpy(t.array).dtype is dt  # and the view is recognised by itself


@pytest.mark.parametrize("dt", list(ML_DTYPES), ids=lambda d: d.short)
def test_ml_dtypes_arrays_are_taken_as_they_are(dt):
    a = CODES.view(ML_DTYPES[dt])
    t = AclTensor.from_numpy(a)
    assert t.dtype is dt and t.array is a
    assert AclTensor.from_numpy(a, dtype=dt).array is a


def test_mismatched_labels_are_refused():
    with pytest.raises(TypeError, match="dtype FLOAT8_E4M3FN does not match the array's FLOAT8_E5M2"):
        AclTensor.from_numpy(CODES.view(ml_dtypes.float8_e5m2), dtype=DataType.FLOAT8_E4M3FN)
    with pytest.raises(TypeError, match="dtype HIFLOAT8 does not match the array's FLOAT; .*one code per byte"):
        AclTensor.from_numpy(np.zeros(4, np.float32), dtype=DataType.HIFLOAT8)
    with pytest.raises(TypeError, match="dtype FLOAT8_E5M2 does not match the array's INT32"):
        AclTensor.from_numpy(np.zeros(4, np.int32), dtype=DataType.FLOAT8_E5M2)


# -- today's platforms do not list them: 161002, naming x ---------------------------------------------------

def float8_xs(dt):
    """x of dtype ``dt`` as users hold it: raw codes labelled, and (where numpy has one) a typed array."""
    raw = AclTensor.from_numpy(np.full((2, 8), 0x38, np.uint8), dtype=dt)
    return [raw, raw.array]


@pytest.mark.parametrize("platform, listed", [("Ascend910B", "{INT4, INT8, INT32}"), ("Ascend310P", "{INT8}")])
@pytest.mark.parametrize("dt", FLOAT8_TYPES, ids=lambda d: d.short)
def test_refused_on_arch22_with_161002_naming_x(dt, platform, listed):
    want = f"x: expected dtype in {listed} on {platform}, got {dt.short}"
    for x in float8_xs(dt):
        with pytest.raises(AclnnError) as err:
            ascend_anti_quant(x, np.ones(8, np.float32), platform=platform)
        assert err.value.status is Status.ACLNN_ERR_PARAM_INVALID and err.value.args[0] == want
    y = AclTensor.from_numpy(np.zeros((2, 8), np.float16))
    size, executor, status = aclnnAscendAntiQuantGetWorkspaceSize(
        float8_xs(dt)[0], AclTensor.from_numpy(np.ones(8, np.float32)), None, 1, False, y, platform=platform)
    assert (size, executor, status) == (0, None, Status.ACLNN_ERR_PARAM_INVALID)
    assert aclGetRecentErrMsg() == f"ACLNN_ERR_PARAM_INVALID (161002): {want}"


def test_refused_without_en_dtypes_too(without_en_dtypes):
    x = AclTensor.from_numpy(np.zeros((2, 8), np.uint8), dtype=DataType.HIFLOAT8)
    with pytest.raises(AclnnError, match=r"x: expected dtype in \{INT4, INT8, INT32\} on Ascend910B, got HIFLOAT8"):
        ascend_anti_quant(x, np.ones(8, np.float32))


@pytest.mark.parametrize("dt", FLOAT8_TYPES, ids=lambda d: d.short)
def test_a_float8_scale_is_refused_naming_scale(dt):
    with pytest.raises(AclnnError, match=rf"scale: expected dtype in \{{FLOAT, BF16\}} on Ascend910B, got {dt.short}"):
        ascend_anti_quant(np.zeros((2, 8), np.int8), AclTensor.from_numpy(np.full(8, 0x38, np.uint8), dtype=dt))
