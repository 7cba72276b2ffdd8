"""Convert an msModelSlim W8A16/W4A16 checkpoint into a float16/bfloat16 safetensors checkpoint.

The input format is msModelSlim's (Ascend/msmodelslim, docs/en/feature_guide/traditional_quantization_v0/
quantized_weight_format.md and docs/en/feature_guide/quick_quantization_v1/quantization_result.md): a
directory with ``quant_model_weight*.safetensors`` (sharded, with an index json, when large) and
``quant_model_description*.json``, which maps every tensor name to its quantization type ("FLOAT",
"W8A16", ...) beside a few global keys (``model_quant_type``, ``version``, ``group_size`` ...). A quantized
Linear stores ``weight`` int8 [n, k], ``weight_scale`` float32 [n] (per channel) or [n, k / group_size]
(per group) and ``weight_offset`` of the same shape, and ``deq_weight = (weight - weight_offset) *
weight_scale`` row by row (group by group). W4A16 weights are stored alike, one int4 value per int8 element
in [-8, 7] (the Chinese edition of the format document, section "W8A16, W4A16量化"); msModelSlim does not
document a packed int4 layout for them, so a W4A16 weight outside [-8, 7] is refused.

The output holds every dequantized weight under its own name, drops ``*_scale``/``*_offset``, copies every
other tensor byte for byte, and keeps the input's sharding (``model-0000i-of-0000N.safetensors`` plus
``model.safetensors.index.json``; a single shard is ``model.safetensors``). It is written tensor by tensor
in row blocks, one shard per ``convert_shard`` call (here or on a Dask worker); ``antiquant convert``
(``antiquant.cli.convert``) writes them into a hidden directory renamed to OUTPUT only when complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from pathlib import Path

import ml_dtypes  # noqa: F401  (registers numpy's "bfloat16", which safetensors' numpy reader relies on)
import numpy as np

from ..core.api import ascend_anti_quant
from ..core.dtypes import DST_TYPES, NAMES, AclnnError, dst_type_code, names_of, numpy_dtype_of
from ..extras import install_hint
from .safetensors_writer import DTYPE_BYTES, SafetensorsWriter

__all__ = ["dequantize_msmodelslim", "plan", "convert_shard", "write_index", "output_bytes", "safe_open",
           "ShardJob", "Copy", "Dequant", "DST"]

QUANTIZED = ("W8A16", "W4A16")
# Description keys that describe the whole model, not a tensor (quantization_result.md, "Global Metadata Fields").
GLOBAL_KEYS = frozenset({"model_quant_type", "version", "group_size", "kv_quant_type", "kv_cache_type",
                         "fa_quant_type", "reduce_quant_type", "metadata", "optional"})
SCALE_DTYPES = ("F32", "F16", "BF16")  # widening any of them to float32 is exact
BLOCK_ELEMENTS = 1 << 24  # rows are read, converted and written in blocks of about this many elements
CHUNK_ELEMENTS = 1 << 22  # elements per operator call in dequantize_msmodelslim (its transposed buffers)
TILE = 128  # rows and columns per transposing copy
DST = {short: NAMES[dt].safetensors for short, dt in names_of(DST_TYPES, "short").items()}  # --dst -> safetensors code


@dataclasses.dataclass(frozen=True)
class Copy:
    """A tensor passed through unchanged."""

    name: str
    path: str
    dtype: str
    shape: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Dequant:
    """A quantized weight [n, k] and where its scale and offset live (any shard)."""

    name: str
    path: str
    shape: tuple[int, int]
    scale: tuple[str, str]
    offset: tuple[str, str] | None
    int4: bool


@dataclasses.dataclass(frozen=True)
class ShardJob:
    """One output shard: its file name, its tensors in file order, and the destination dtype ("bf16"/"fp16")."""

    filename: str
    items: tuple
    dst: str


def safe_open():
    try:
        from safetensors import safe_open
    except ImportError:
        raise ValueError(f"antiquant convert needs safetensors: {install_hint('convert')}") from None
    return safe_open


def _open(path, stack: contextlib.ExitStack | None = None):
    try:
        handle = safe_open()(str(path), framework="numpy")
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
    except Exception as err:  # safetensors raises its own error type for a damaged header
        raise ValueError(f"{path}: not a valid safetensors file ({str(err).splitlines()[0]})") from None
    return stack.enter_context(handle) if stack is not None else handle


def _transpose_into(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src.T`` in square tiles: numpy walks a whole transposed view with cache and TLB misses."""
    rows, cols = src.shape
    for r in range(0, rows, TILE):
        for c in range(0, cols, TILE):
            np.copyto(dst[c:c + TILE, r:r + TILE], src[r:r + TILE, c:c + TILE].T)


def dequantize_msmodelslim(weight: np.ndarray, scale: np.ndarray, offset: np.ndarray | None = None, *,
                           dst_type="bfloat16") -> np.ndarray:
    """msModelSlim's ``(weight - offset) * scale`` for an int8 [n, k] weight, bit-exact, by our operator.

    ``scale``/``offset``: [n] or [n, 1] per channel, [n, G] per group of k / G columns; float32, float16 or
    bfloat16. The operator takes its scale along the last axis, so the weight, seen as [n * G, k / G] (one
    scale per row), is transposed chunk by chunk into a reused buffer, dequantized there, and transposed
    back into the result; the offset is negated (exact) because the operator adds it.
    """
    n, k = weight.shape
    out = np.empty((n, k), numpy_dtype_of(dst_type_code(dst_type)))
    if weight.size == 0:
        return out
    scales = np.asarray(scale).astype(np.float32, copy=False).reshape(-1)
    rows = scales.size  # n * G
    cols = k // (rows // n)
    offsets = None if offset is None else np.negative(np.asarray(offset).astype(np.float32).reshape(-1))
    x = np.ascontiguousarray(weight).reshape(rows, cols)
    y = out.view(np.uint16).reshape(rows, cols)
    chunk = min(rows, max(1, CHUNK_ELEMENTS // cols))
    x_buffer, y_buffer = np.empty(chunk * cols, np.int8), np.empty(chunk * cols, np.uint16)
    for r0 in range(0, rows, chunk):
        r1 = min(rows, r0 + chunk)
        xt = x_buffer[:(r1 - r0) * cols].reshape(cols, r1 - r0)
        yt = y_buffer[:(r1 - r0) * cols].reshape(cols, r1 - r0)
        _transpose_into(xt, x[r0:r1])
        ascend_anti_quant(xt, scales[r0:r1], None if offsets is None else offsets[r0:r1], dst_type=out.dtype,
                          out=yt.view(out.dtype))
        _transpose_into(y[r0:r1], yt)
    return out


def _description(src: Path) -> dict[str, str]:
    files = sorted(src.glob("quant_model_description*.json"))
    if not files:
        raise ValueError(f"{src}: no quant_model_description*.json found (not an msModelSlim checkpoint?)")
    types: dict[str, str] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not readable JSON ({err})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of tensor name -> quantization type, "
                             f"got {type(data).__name__}")
        for name, kind in data.items():
            if name in GLOBAL_KEYS:
                continue
            if not isinstance(kind, str):
                raise ValueError(f"{path}: {name!r}: expected a quantization type string, got {kind!r}")
            if types.setdefault(name, kind) != kind:
                raise ValueError(f"{path}: {name!r} is {kind!r} here but {types[name]!r} in another description")
    return types


def _check_indexes(src: Path) -> None:
    """Every shard an index json names must exist: a missing shard is refused before anything is written."""
    for index in sorted(src.glob("*.index.json")):
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            files = set(weight_map.values())
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{index}: not a readable index json with a weight_map ({err})") from None
        for name in sorted(files):
            if not (src / str(name)).is_file():
                raise ValueError(f"{index}: names shard {name!r}, which is missing from {src}")


def _inventory(shards) -> tuple[dict, dict]:
    """name -> (path, dtype, shape) over all shards, and path -> names in file order."""
    infos, order = {}, {}
    for path in shards:
        with _open(path) as handle:
            names = list(handle.keys())
            for name in names:
                view = handle.get_slice(name)
                dtype, shape = view.get_dtype(), tuple(int(d) for d in view.get_shape())
                if name in infos:
                    raise ValueError(f"{path}: tensor {name!r} is also in {infos[name][0]}")
                if dtype not in DTYPE_BYTES:
                    raise ValueError(f"{path}: tensor {name!r} has dtype {dtype}, which antiquant convert cannot copy")
                infos[name] = (str(path.absolute()), dtype, shape)  # workers may run elsewhere
        order[str(path)] = names
    return infos, order


def _dequant_item(name: str, kind: str, infos: dict) -> Dequant:
    path, dtype, shape = infos[name]
    if dtype != "I8" or len(shape) != 2:
        raise ValueError(f"{name}: a {kind} weight must be int8 [n, k], got {dtype} {list(shape)}")
    n, k = shape
    spath, sdtype, sshape = infos[name + "_scale"]
    groups = 1 if len(sshape) == 1 else (sshape[1] if len(sshape) == 2 else 0)
    if sshape[:1] != (n,) or groups < 1 or k % groups or sdtype not in SCALE_DTYPES:
        raise ValueError(f"{name}_scale: expected float32 [{n}] or [{n}, k / group_size] with k = {k}, "
                         f"got {sdtype} {list(sshape)}")
    offset = None
    if name + "_offset" in infos:
        opath, odtype, oshape = infos[name + "_offset"]
        if oshape != sshape or odtype not in SCALE_DTYPES:
            raise ValueError(f"{name}_offset: expected {name}_scale's shape {list(sshape)} and a float dtype, "
                             f"got {odtype} {list(oshape)}")
        offset = (opath, name + "_offset")
    return Dequant(name, path, (n, k), (spath, name + "_scale"), offset, kind == "W4A16")


def plan(src, dst: str = "bf16") -> list[ShardJob]:
    """Read the description and the shards' headers (no tensor data) and plan the output shards.

    Everything a header can reveal is refused here, before anything is written: missing or damaged
    files, tensors without a description entry (or entries without a tensor), unknown quantization
    types, and weights, scales or offsets of the wrong dtype or shape.
    """
    src = Path(src)
    if not src.is_dir():
        raise ValueError(f"INPUT {src}: no such directory")
    shards = sorted(src.glob("quant_model_weight*.safetensors"))
    if not shards:
        raise ValueError(f"{src}: no quant_model_weight*.safetensors found (not an msModelSlim checkpoint?)")
    _check_indexes(src)
    types = _description(src)
    infos, order = _inventory(shards)
    for name in types:
        if name not in infos:
            raise ValueError(f"{src}: the description lists tensor {name!r}, but no shard holds it (missing shard?)")
    quantized = set()
    for name, (path, _, _) in infos.items():
        kind = types.get(name)
        if kind is None:
            raise ValueError(f"{path}: tensor {name!r} has no entry in the quant_model_description json")
        if kind not in QUANTIZED and kind != "FLOAT":
            raise ValueError(f"{name}: quantization type {kind!r} is not supported "
                             f"(antiquant convert handles {', '.join(QUANTIZED)} and FLOAT)")
        if kind in QUANTIZED and name + "_scale" in infos:
            quantized.add(name)
    parameters = {name + suffix for name in quantized for suffix in ("_scale", "_offset")}
    jobs = []
    for path, names in order.items():
        items = []
        for name in names:
            if name in parameters:
                continue
            if name in quantized:
                items.append(_dequant_item(name, types[name], infos))
            elif infos[name][1] == "I8" and types[name] in QUANTIZED:
                raise ValueError(f"{name}: int8 weight tagged {types[name]} has no {name}_scale")
            else:
                items.append(Copy(name, *infos[name]))
        if items:
            jobs.append(items)
    if not jobs:
        raise ValueError(f"{src}: no tensors to write")
    if len(jobs) == 1:
        return [ShardJob("model.safetensors", tuple(jobs[0]), dst)]
    return [ShardJob(f"model-{i:05d}-of-{len(jobs):05d}.safetensors", tuple(items), dst)
            for i, items in enumerate(jobs, 1)]


def _row_blocks(rows: int, row_elements: int):
    step = max(1, BLOCK_ELEMENTS // max(1, row_elements))
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


def _float32(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float32, copy=False)


def _dequantized(item: Dequant, handles, dst: str):
    n, k = item.shape
    scale = _float32(handles(item.scale[0]).get_tensor(item.scale[1])).reshape(n, -1)
    offset = None
    if item.offset is not None:
        offset = _float32(handles(item.offset[0]).get_tensor(item.offset[1])).reshape(n, -1)
    weight = handles(item.path).get_slice(item.name)
    for r0, r1 in _row_blocks(n, k):
        block = weight[r0:r1]
        if item.int4 and block.size and (block.min() < -8 or block.max() > 7):
            raise ValueError(f"{item.name}: W4A16 weight holds values outside [-8, 7]; msModelSlim stores one int4 "
                             "per int8 and documents no packed layout, so it is refused")
        yield dequantize_msmodelslim(block, scale[r0:r1], None if offset is None else offset[r0:r1],
                                     dst_type=dst)


def _copied(item: Copy, handles):
    handle = handles(item.path)
    if not item.shape:
        yield handle.get_tensor(item.name)
        return
    view = handle.get_slice(item.name)
    for r0, r1 in _row_blocks(item.shape[0], math.prod(item.shape[1:])):
        yield view[r0:r1]


def convert_shard(job: ShardJob, directory, progress=None) -> tuple[str, list[str], int]:
    """Write one output shard into ``directory``; returns (file name, tensor names, data bytes).

    Runs in this process or on a Dask worker. A failure removes the partial file.
    """
    target = Path(directory) / job.filename
    code = DST[job.dst]
    entries = [(it.name, code if isinstance(it, Dequant) else it.dtype, it.shape) for it in job.items]
    try:
        with contextlib.ExitStack() as stack:
            opened = {}

            def handles(path):
                if path not in opened:
                    opened[path] = _open(path, stack)
                return opened[path]

            with SafetensorsWriter(target, entries, {"format": "pt"}) as writer:
                for item in job.items:
                    if isinstance(item, Dequant):
                        pieces = _dequantized(item, handles, job.dst)
                    else:
                        pieces = _copied(item, handles)
                    try:
                        for piece in pieces:
                            writer.append(item.name, piece)
                            if progress is not None:
                                progress(piece.nbytes)
                    except (AclnnError, ValueError, TypeError, OSError):
                        raise
                    except Exception as err:  # e.g. safetensors failing on a tensor's data
                        raise ValueError(f"{item.path}: cannot read {item.name} ({str(err).splitlines()[0]})") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return job.filename, [it.name for it in job.items], writer.nbytes


def write_index(directory: Path, results) -> None:
    weight_map = {name: filename for filename, names, _ in results for name in names}
    index = {"metadata": {"total_size": sum(nbytes for *_, nbytes in results)},
             "weight_map": dict(sorted(weight_map.items()))}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


def output_bytes(job: ShardJob) -> int:
    return sum(DTYPE_BYTES[DST[job.dst] if isinstance(it, Dequant) else it.dtype] * math.prod(it.shape)
               for it in job.items)
