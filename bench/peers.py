"""The implementations measured side by side, each bound to one call's inputs, and the bit-for-bit check.

Peers are written the obvious way a user would (numpy + ml_dtypes, PyTorch eager, torch.compile) and
imported lazily: a missing one is reported, never an error. Every peer's output is compared with
antiquant's bit for bit before it is timed, so a peer computing something else is reported, not timed.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from antiquant.core.dtypes import FLOAT8_TYPES, NAMES, RAW_HIFLOAT8, DataType, datatype_of
from antiquant.core.reference import first_difference
from antiquant.extras import install_hint

from .cases import Inputs
from .timing import sample

__all__ = ["Bound", "Impl", "Antiquant", "NumpyPeer", "TorchEager", "TorchCompile", "PEERS", "mismatch"]

_SHIFTS = np.arange(0, 32, 4, dtype=np.int32)

# mismatch(bits, expected_bits): None, or a line saying where the uint16 bit patterns first differ, NaNs included
mismatch = first_difference


@dataclasses.dataclass
class Bound:
    """A zero-argument call returning its output, and how to read that output as uint16 bits."""

    call: Callable[[], object]
    bits: Callable[[object], np.ndarray]
    compile_s: float | None = None  # first call's time when it compiles (torch.compile)


class Impl:
    """One implementation: ``variants`` it offers ("out" into a preallocated output, "alloc")."""

    name = ""
    key = ""
    variants: tuple[str, ...] = ("alloc",)

    def missing(self) -> str | None:
        """Why it cannot run here (a package not installed), or None."""
        return None

    def bind(self, inputs: Inputs, variant: str) -> Bound:
        raise NotImplementedError


def _numpy_bits(y) -> np.ndarray:
    return y.view(np.uint16)


class Antiquant(Impl):
    """``ascend_anti_quant`` into ``out``, or allocating: "alloc" drops each result before the next call, so
    the next output reuses its memory (``antiquant.core.launch.new_output``); "alloc-kept" keeps it alive through the next
    call, so every output is fresh memory, as when a caller keeps its results."""

    name = key = "antiquant"
    variants = ("out", "alloc", "alloc-kept")

    def bind(self, inputs: Inputs, variant: str) -> Bound:
        from antiquant import ascend_anti_quant
        x, s, o, dst, where = inputs.x, inputs.scale, inputs.offset, inputs.dst_code, inputs.platform
        if variant == "out":
            out = inputs.empty_out()
            return Bound(lambda: ascend_anti_quant(x, s, o, dst_type=dst, out=out, platform=where), _numpy_bits)
        if variant == "alloc-kept":
            kept = []

            def call():
                # the previous result lives until now
                kept[:] = [ascend_anti_quant(x, s, o, dst_type=dst, platform=where)]
                return kept[0]
            return Bound(call, _numpy_bits)
        return Bound(lambda: ascend_anti_quant(x, s, o, dst_type=dst, platform=where), _numpy_bits)


def numpy_dequant(x: np.ndarray, scale: np.ndarray, offset: np.ndarray | None, dst: np.dtype) -> np.ndarray:
    """The obvious numpy + ml_dtypes code: unpack int4 by shift and mask, widen (ml_dtypes / en_dtypes decode
    the 8-bit floats), add, multiply, cast."""
    if x.dtype == np.int32:
        nibbles = (x[..., None] >> _SHIFTS) & 15
        x = ((nibbles ^ 8) - 8).reshape(*x.shape[:-1], x.shape[-1] * 8)
    v = x.astype(np.float32)
    if offset is not None:
        v = v + offset
    return (v * scale).astype(dst)


class NumpyPeer(Impl):
    name = "numpy+ml_dtypes"
    key = "numpy"

    def bind(self, inputs: Inputs, variant: str) -> Bound:
        if inputs.x.dtype == RAW_HIFLOAT8:
            raise ImportError(f"numpy has no HiFloat8 decode without en_dtypes ({install_hint('hif8')})")
        (s, o), x, dst = inputs.broadcast_scale(), inputs.x, inputs.dst_dtype
        return Bound(lambda: numpy_dequant(x, s, o, dst), _numpy_bits)


def _torch():
    import torch
    return torch


def torch_dequant(x, scale, offset, dst):
    """The same computation in PyTorch (eager, or traced by torch.compile)."""
    torch = _torch()
    if x.dtype == torch.int32:
        shifts = torch.arange(0, 32, 4, dtype=torch.int32, device=x.device)
        nibbles = (x.unsqueeze(-1) >> shifts) & 15
        x = ((nibbles ^ 8) - 8).reshape(*x.shape[:-1], x.shape[-1] * 8)
    v = x.to(torch.float32)
    if offset is not None:
        v = v + offset
    return (v * scale).to(dst)


def torch_dequant_into(x, scale, offset, out):
    """``torch_dequant`` written into a preallocated ``out`` (copy_), which inductor fuses into one store."""
    out.copy_(torch_dequant(x, scale, offset, out.dtype))
    return out


def _torch_bits(y) -> np.ndarray:
    return y.view(_torch().int16).numpy().view(np.uint16)


def _torch_x(x: np.ndarray):
    """x as a torch tensor: the 8-bit floats through their bytes (numpy has no such dtypes for torch)."""
    torch = _torch()
    code = datatype_of(x.dtype)
    if code in FLOAT8_TYPES:
        name = NAMES[code].name
        if not hasattr(torch, name):
            raise TypeError(f"torch has no {name} dtype")
        return torch.from_numpy(x.view(np.uint8)).view(getattr(torch, name))
    return torch.from_numpy(x)


def _torch_args(inputs: Inputs):
    torch = _torch()
    scale, offset = inputs.broadcast_scale()
    offset = None if offset is None else torch.from_numpy(offset)
    dst = getattr(torch, NAMES[DataType(inputs.dst_code)].name)
    return _torch_x(inputs.x), torch.from_numpy(scale), offset, dst


class TorchEager(Impl):
    name = "torch eager"
    key = "torch"

    def missing(self) -> str | None:
        try:
            _torch()
        except ImportError:
            return "torch is not installed (pip install torch==2.13.0)"
        return None

    def bind(self, inputs: Inputs, variant: str) -> Bound:
        x, s, o, dst = _torch_args(inputs)
        return Bound(lambda: torch_dequant(x, s, o, dst), _torch_bits)


class TorchCompile(TorchEager):
    """Inductor, static shapes, one graph; recompiled per shape and dtype (the first call is timed apart)."""

    name = "torch.compile"
    key = "compile"
    variants = ("out", "alloc")

    def bind(self, inputs: Inputs, variant: str) -> Bound:
        torch = _torch()
        x, s, o, dst = _torch_args(inputs)
        torch._dynamo.reset()  # a fresh static graph per binding: no recompile limit, no dynamic shapes
        if variant == "out":
            out = torch.empty(inputs.y_shape, dtype=dst)
            fn = torch.compile(torch_dequant_into, dynamic=False, fullgraph=True)
            call = lambda: fn(x, s, o, out)  # noqa: E731
        else:
            fn = torch.compile(torch_dequant, dynamic=False, fullgraph=True)
            call = lambda: fn(x, s, o, dst)  # noqa: E731
        return Bound(call, _torch_bits, compile_s=sample(call))


PEERS = {peer.key: peer for peer in (NumpyPeer(), TorchEager(), TorchCompile())}
