"""Write a safetensors file tensor by tensor, so no more than one block of data is ever in memory.

The format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header mapping each
name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the data that follows, in
order, without gaps) plus an optional ``"__metadata__"`` of strings, then the raw little-endian data.
The header is space-padded to a multiple of 8 bytes, as the reference implementation does.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

__all__ = ["DTYPE_BYTES", "SafetensorsWriter"]

# safetensors dtype code -> bytes per element
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}


class SafetensorsWriter:
    """Declare every tensor up front, then ``append`` their data in that order, in as many pieces as wanted."""

    def __init__(self, path, entries, metadata: dict[str, str] | None = None):
        """``entries``: (name, dtype code, shape) in file order."""
        header, self._sizes, offset = {}, [], 0
        if metadata:
            header["__metadata__"] = dict(metadata)
        for name, dtype, shape in entries:
            size = DTYPE_BYTES[dtype] * math.prod(shape)
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
            self._sizes.append((name, size))
            offset += size
        self.nbytes = offset
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        self._file = open(path, "wb")
        self._file.write(struct.pack("<Q", len(text)) + text)
        self._index, self._left = 0, self._sizes[0][1] if self._sizes else 0
        self._skip_empty()

    def _skip_empty(self) -> None:
        while self._index < len(self._sizes) and self._left == 0:
            self._index += 1
            self._left = self._sizes[self._index][1] if self._index < len(self._sizes) else 0

    def append(self, name: str, data: np.ndarray) -> None:
        """The next bytes of tensor ``name`` (C order); raises if they overrun or belong to another tensor."""
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        if self._index >= len(self._sizes) or self._sizes[self._index][0] != name or raw.size > self._left:
            expected = self._sizes[self._index][0] if self._index < len(self._sizes) else "nothing"
            raise ValueError(f"safetensors writer: got {raw.size} bytes of {name!r}, expected at most "
                             f"{self._left} bytes of {expected!r}")
        self._file.write(raw.data)
        self._left -= raw.size
        self._skip_empty()

    def close(self) -> None:
        """Close the file; raises if a declared tensor is still short of data."""
        self._file.close()
        if self._index < len(self._sizes):
            raise ValueError(f"safetensors writer: {self._sizes[self._index][0]!r} is missing {self._left} bytes")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self._file.close()
