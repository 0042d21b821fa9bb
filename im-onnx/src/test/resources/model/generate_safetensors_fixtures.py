#!/usr/bin/python3
"""Writes the golden safetensors fixtures that the Java tests read (independent reference).

Run from this directory with Debian's torch (python3-torch, 1.13; no `safetensors` package):

    /usr/bin/python3 generate_safetensors_fixtures.py

The safetensors format is implemented here directly (struct + json, per the spec); tensor bytes
come from torch tensors, and float16/bfloat16 narrowing is torch's own (round to nearest even),
so the Java conversions are checked against a different implementation. Outputs:

- golden.safetensors: tensors of every dtype, laid out in name order (not the order im4j writes)
  with a __metadata__ entry and an unpadded header.
- golden.json: for each tensor its dtype, shape, stored bit patterns, and the float32 bit
  patterns torch widens them to; for F16/BF16 also the float32 inputs torch narrowed.
- layout.safetensors: the floating tensors of golden.safetensors laid out as the Rust crate's
  writer does (descending dtype class, then name; compact header, __metadata__ first, padded with
  spaces to a multiple of 8 bytes): im4j's writer must produce these bytes exactly.
- rounding.json: float32 inputs (edge cases, ties, random) and torch's float16 and bfloat16
  results, as bit patterns.
"""
import json
import struct

import torch

torch.manual_seed(20261123)


def f32_bits(t):
    return [int(x) for x in t.to(torch.float32).contiguous().view(torch.int32).tolist()]


def u16_bits(t):
    return [int(x) & 0xFFFF for x in t.contiguous().view(torch.int16).tolist()]


def raw_bytes(t):
    # little-endian machine (x86-64); numpy has no bfloat16, so go through int16 views
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.contiguous().view(torch.int16).numpy().tobytes()
    return t.contiguous().numpy().tobytes()


CODES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
         torch.int64: "I64", torch.int32: "I32"}

specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 1e-8, 6e-8, 3.0e-5,
                         float("inf"), float("-inf"), 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11,
                         1.0 + 2 ** -8, 3.3895e38, 1e-40], dtype=torch.float32)

sources = {
    "a.f32": torch.randn(2, 3, dtype=torch.float32),
    "b.f16": specials.reshape(4, 4),
    "c.bf16": torch.cat([specials[:10], torch.randn(5)]).reshape(3, 5),
    "d.i64": torch.tensor([-1, 0, 2 ** 40 + 3], dtype=torch.int64),
    "e.i32": torch.tensor([[7, -8]], dtype=torch.int32),
    "f.empty": torch.zeros(0, 3, dtype=torch.float32),
    "g.scalar": torch.tensor(3.25, dtype=torch.float32),
}
stored = {
    "a.f32": sources["a.f32"],
    "b.f16": sources["b.f16"].to(torch.float16),
    "c.bf16": sources["c.bf16"].to(torch.bfloat16),
    "d.i64": sources["d.i64"],
    "e.i32": sources["e.i32"],
    "f.empty": sources["f.empty"],
    "g.scalar": sources["g.scalar"],
}

header = {"__metadata__": {"format": "pt", "source": "generate_safetensors_fixtures.py"}}
buffer = bytearray()
expected = {}
for name in sorted(stored):
    t = stored[name]
    data = raw_bytes(t)
    header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape),
                    "data_offsets": [len(buffer), len(buffer) + len(data)]}
    buffer += data
    entry = {"dtype": CODES[t.dtype], "shape": list(t.shape)}
    if t.dtype in (torch.float16, torch.bfloat16):
        entry["bits"] = u16_bits(t.flatten())
        entry["f32_bits"] = f32_bits(t.flatten())
        entry["source_f32_bits"] = f32_bits(sources[name].flatten())
    elif t.dtype == torch.float32:
        entry["bits"] = f32_bits(t.flatten())
        entry["f32_bits"] = entry["bits"]
    else:
        entry["values"] = [int(x) for x in t.flatten().tolist()]
    expected[name] = entry

header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
with open("golden.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header_bytes)))
    f.write(header_bytes)
    f.write(bytes(buffer))
with open("golden.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")

# Rounding: ties and near-ties for both formats, subnormal boundaries, overflow, random values.
edge = []
for base in [1.0, 1.5, 2.0 ** -14, 2.0 ** -20, 1024.0, 65504.0, 3.0e38, 2.0 ** -126]:
    b = torch.tensor(base, dtype=torch.float32).view(torch.int32).item()
    for delta in [0, 1, 2 ** 12 - 1, 2 ** 12, 2 ** 12 + 1, 2 ** 13 + 2 ** 12,
                  2 ** 15 - 1, 2 ** 15, 2 ** 15 + 1, 2 ** 16 + 2 ** 15]:
        edge.append(b + delta)
edge += [0x33000000, 0x33000001, 0x337FFFFF, 0x33800000, 0x477FEFFF, 0x477FF000, 0x7F7FFFFF,
         0x7F800000, 0x7FC00000, 0x00000001, 0x007FFFFF]
edge_t = torch.tensor(edge, dtype=torch.int32).view(torch.float32)
rand = torch.cat([torch.randn(60) * 100, torch.randn(60) * 1e-5, torch.rand(60) * 7e4])
values = torch.cat([edge_t, -edge_t, rand]).to(torch.float32)
rounding = {"f32": f32_bits(values),
            "f16": u16_bits(values.to(torch.float16)),
            "bf16": u16_bits(values.to(torch.bfloat16))}
with open("rounding.json", "w") as f:
    json.dump(rounding, f, separators=(",", ":"))
    f.write("\n")

# The Rust crate's writer layout, for im4j's writer to reproduce byte for byte. Its Dtype enum
# order puts F32 after BF16 after F16; tensors are sorted by descending dtype, then by name.
RUST_ORDER = {"F16": 0, "BF16": 1, "I32": 2, "F32": 3, "I64": 4}
floating = [n for n in stored if stored[n].dtype.is_floating_point]
floating.sort(key=lambda n: (-RUST_ORDER[CODES[stored[n].dtype]], n))
layout = {"__metadata__": {"format": "pt"}}
buffer = bytearray()
for name in floating:
    data = raw_bytes(stored[name])
    layout[name] = {"dtype": CODES[stored[name].dtype], "shape": list(stored[name].shape),
                    "data_offsets": [len(buffer), len(buffer) + len(data)]}
    buffer += data
header_bytes = json.dumps(layout, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
header_bytes += b" " * (-len(header_bytes) % 8)
with open("layout.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header_bytes)))
    f.write(header_bytes)
    f.write(bytes(buffer))
