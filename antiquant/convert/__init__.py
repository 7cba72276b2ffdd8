"""Checkpoint conversion: msModelSlim W8A16/W4A16 safetensors checkpoints dequantized by the operator
(``msmodelslim``), written tensor by tensor (``safetensors_writer``). ``antiquant convert`` is its CLI."""

from .msmodelslim import (DST, Copy, Dequant, ShardJob, convert_shard, dequantize_msmodelslim, output_bytes, plan,
                          safe_open, write_index)

__all__ = ["dequantize_msmodelslim", "plan", "convert_shard", "write_index", "output_bytes", "safe_open",
           "ShardJob", "Copy", "Dequant", "DST"]
