"""A synthetic msModelSlim checkpoint, written with safetensors' own writer, and its expected dequantization.

Layout per msModelSlim's quantized weight format document: int8 ``weight`` [n, k], float32 ``weight_scale``
and ``weight_offset`` [n] (per channel) or [n, k / group_size] (per group), a description json of tensor
name -> type, shards named quant_model_weight*.safetensors with an index json.
"""

import json

import ml_dtypes
import numpy as np

Q = "model.layers.0.self_attn.q_proj.weight"     # W8A16 per channel, scale [n]
K = "model.layers.0.self_attn.k_proj.weight"     # W8A16 per channel, scale [n, 1], no offset (symmetric)
DOWN = "model.layers.0.mlp.down_proj.weight"     # W8A16 per group of 16
UP = "model.layers.0.mlp.up_proj.weight"         # W4A16 per group of 8, its offset stored in the other shard
FLOATS = ("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "lm_head.weight",
          "model.layers.0.self_attn.q_proj.bias")


def quantized(rng, n, k, groups, lo=-128, hi=128, offset=True):
    weight = rng.integers(lo, hi, (n, k), dtype=np.int8)
    shape = (n,) if groups == 0 else (n, groups)
    # scales over several magnitudes, offsets fractional: every rounding path is exercised
    scale = (rng.random(shape) * rng.choice([1e-3, 0.02, 3.0], shape)).astype(np.float32)
    off = rng.normal(0, 6, shape).astype(np.float32) if offset else None
    return weight, scale, off


def build(root, seed=0, shards=2):
    """Write the checkpoint into ``root``; return {name: tensor} of everything written."""
    rng = np.random.default_rng(seed)
    from safetensors.numpy import save_file

    t = {}
    t[Q], t[Q + "_scale"], t[Q + "_offset"] = quantized(rng, 48, 32, 0)
    w, s, _ = quantized(rng, 40, 32, 1, offset=False)
    t[K], t[K + "_scale"] = w, s
    t[DOWN], t[DOWN + "_scale"], t[DOWN + "_offset"] = quantized(rng, 40, 64, 4)
    t[UP], t[UP + "_scale"], t[UP + "_offset"] = quantized(rng, 24, 32, 4, -8, 8)
    t[FLOATS[0]] = rng.standard_normal((64, 32)).astype(ml_dtypes.bfloat16)
    t[FLOATS[1]] = rng.standard_normal(32).astype(np.float32)
    t[FLOATS[2]] = rng.standard_normal((16, 32)).astype(np.float16)
    t[FLOATS[3]] = rng.standard_normal(48).astype(np.float32)
    types = {name: "FLOAT" for name in FLOATS}
    types.update({name: "W8A16" for name in t if name.startswith((Q, K, DOWN))})
    types.update({name: "W4A16" for name in t if name.startswith(UP)})
    types[FLOATS[3]] = "W8A16"  # msModelSlim tags a quantized Linear's float bias with the Linear's type
    description = {"model_quant_type": "W8A16", "version": "1.0.0", "group_size": 16, "metadata": {}, **types}
    (root / "quant_model_description_w8a16.json").write_text(json.dumps(description, indent=1))
    first = [FLOATS[0], Q, Q + "_scale", Q + "_offset", FLOATS[1], FLOATS[3], UP + "_offset", K, K + "_scale"]
    parts = [first, [name for name in t if name not in first]] if shards == 2 else [list(t)]
    names = [f"quant_model_weight_w8a16-{i:05d}-of-{len(parts):05d}.safetensors" for i in range(1, len(parts) + 1)]
    if shards == 1:
        names = ["quant_model_weight_w8a16.safetensors"]
    weight_map = {}
    for filename, part in zip(names, parts):
        save_file({name: t[name] for name in part}, str(root / filename))
        weight_map.update({name: filename for name in part})
    if shards > 1:
        (root / "quant_model_weight_w8a16.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": weight_map}))
    return t


def expected(t, name, dst=ml_dtypes.bfloat16):
    """msModelSlim's ``(weight - offset) * scale``, in float32 numpy, rounded once to ``dst`` by ml_dtypes."""
    w = t[name].astype(np.float32)
    n, k = w.shape
    scale = t[name + "_scale"].reshape(n, -1, 1)
    off = t.get(name + "_offset", np.zeros_like(t[name + "_scale"])).reshape(n, -1, 1)
    groups = scale.shape[1]
    return ((w.reshape(n, groups, k // groups) - off) * scale).reshape(n, k).astype(dst)
