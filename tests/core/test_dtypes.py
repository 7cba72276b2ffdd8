import ml_dtypes
import numpy as np
import pytest

from antiquant import AclnnError, DataType, Status, pack_int4, unpack_int4
from antiquant.core.dtypes import (DST_TYPES, DTYPE_NAMES, NAMES, RAW_HIFLOAT8, datatype_of, names_of, nibbles_per,
                                   numpy_dtype_of)


def test_datatype_codes_are_canns():
    expected = dict(FLOAT=0, FLOAT16=1, INT8=2, INT32=3, UINT8=4, INT16=6, UINT16=7, UINT32=8, INT64=9,
                    UINT64=10, DOUBLE=11, BOOL=12, BF16=27, INT4=29)
    for name, code in expected.items():
        assert DataType[name] == code
        assert DataType["ACL_" + name] is DataType[name]


def test_status_codes_are_canns():
    assert Status.ACLNN_SUCCESS == 0
    assert Status.ACLNN_ERR_PARAM_NULLPTR == 161001
    assert Status.ACLNN_ERR_PARAM_INVALID == 161002
    assert Status.ACLNN_ERR_RUNTIME_ERROR == 361001
    assert Status.ACLNN_ERR_INNER == 561000
    assert Status.ACLNN_ERR_INNER_NULLPTR == 561103


def test_aclnn_error_carries_status():
    err = AclnnError(Status.ACLNN_ERR_PARAM_INVALID, "x: bad")
    assert err.status is Status.ACLNN_ERR_PARAM_INVALID
    assert "161002" in str(err) and "x: bad" in str(err)


def test_numpy_dtype_mapping():
    assert datatype_of(np.int8) == DataType.INT8
    assert datatype_of(ml_dtypes.int4) == DataType.INT4
    assert datatype_of(ml_dtypes.bfloat16) == DataType.BF16
    assert datatype_of(np.complex64) is None


def test_nibble_order_low_first_in_bytes():
    # element 2k in the low nibble, 2k+1 in the high nibble, two's complement
    assert pack_int4(np.array([1, -2], np.int8)).tolist() == [0xE1]
    assert unpack_int4(np.array([0xE1], np.uint8)).tolist() == [1, -2]


def test_nibble_order_low_first_in_int32():
    word = pack_int4(np.arange(8, dtype=np.int8), np.int32)
    assert word.view(np.uint32).tolist() == [0x76543210]
    assert unpack_int4(np.array([-0x01234568], np.int32)).tolist() == [-8, -7, -6, -5, -4, -3, -2, -1]


@pytest.mark.parametrize("container", [np.uint8, np.int8, np.int32])
def test_every_int4_value_round_trips(container):
    per = nibbles_per(container)
    values = np.array(np.meshgrid(*[np.arange(-8, 8)] * 2)).reshape(2, -1).T.astype(np.int8)  # every pair
    values = np.tile(values, (1, per // 2))
    packed = pack_int4(values, container)
    assert packed.dtype == container and packed.shape == (256, 1)
    np.testing.assert_array_equal(unpack_int4(packed), values)


def test_pack_accepts_ml_dtypes_int4():
    v = np.arange(-8, 8, dtype=np.int8)
    np.testing.assert_array_equal(pack_int4(v.astype(ml_dtypes.int4)), pack_int4(v))


def test_pack_rejects_out_of_range_and_odd():
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(np.array([8, 0], np.int8))
    with pytest.raises(ValueError, match="multiple of 2"):
        pack_int4(np.array([1, 2, 3], np.int8))


def test_the_name_table_agrees_with_numpy_and_safetensors():
    """Each DataType's name is numpy's (and torch's) for its storage, and its safetensors code as wide.
    (Without en_dtypes, HIFLOAT8 is stored as the unnamed raw-code stand-in.)"""
    from antiquant.convert.safetensors_writer import DTYPE_BYTES
    for dt, names in NAMES.items():
        assert numpy_dtype_of(dt).name == names.name or numpy_dtype_of(dt) == RAW_HIFLOAT8
        assert all(DTYPE_NAMES[n] is dt for n in (names.name, names.short, *names.aliases))
        if names.safetensors:
            assert DTYPE_BYTES[names.safetensors] == numpy_dtype_of(dt).itemsize
    assert names_of(DST_TYPES) == {"float16": DataType.FLOAT16, "bfloat16": DataType.BF16}
    assert names_of(DST_TYPES, "short") == {"fp16": DataType.FLOAT16, "bf16": DataType.BF16}
