#!/usr/bin/python3
"""Reads a model directory written by im4j with torch and a separate reader of the format.

    /usr/bin/python3 check_model_directory.py DIR [EXPECTED.json]

Not run by the build (CI has no torch): a manual interop check. It parses config.json, the index
(if any) and every shard per the safetensors spec, checks the tensors tile each buffer, decodes
each tensor with torch (F32/F16/BF16), and prints name, dtype, shape and the float64 sum of its
values. With EXPECTED.json ({name: sum}) it compares sums to 1e-6 relative and exits 1 on any
difference.
"""
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def read_file(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buffer = raw[8 + n:]
    assert header.get("__metadata__", {}).get("format") == "pt", path
    entries = sorted((v["data_offsets"], k, v) for k, v in header.items() if k != "__metadata__")
    end = 0
    out = {}
    for (begin, stop), name, info in entries:
        assert begin == end, (path, name, begin, end)
        dtype, size = DTYPES[info["dtype"]]
        numel = 1
        for d in info["shape"]:
            numel *= d
        assert stop - begin == numel * size, (path, name)
        t = torch.frombuffer(bytearray(buffer[begin:stop]), dtype=dtype) if numel else torch.zeros(0)
        out[name] = (info["dtype"], info["shape"], float(t.to(torch.float64).sum()))
        end = stop
    assert end == len(buffer), (path, end, len(buffer))
    return out


def main():
    directory = sys.argv[1]
    config = json.load(open(os.path.join(directory, "config.json")))
    print("model_type", config["model_type"], "architectures", config["architectures"])
    index = os.path.join(directory, "model.safetensors.index.json")
    tensors = {}
    if os.path.exists(os.path.join(directory, "model.safetensors")):
        tensors = read_file(os.path.join(directory, "model.safetensors"))
    else:
        weight_map = json.load(open(index))["weight_map"]
        for shard in sorted(set(weight_map.values())):
            for name, value in read_file(os.path.join(directory, shard)).items():
                assert weight_map[name] == shard, name
                tensors[name] = value
        assert set(tensors) == set(weight_map)
    for name in sorted(tensors):
        print(name, *tensors[name])
    if len(sys.argv) > 2:
        expected = json.load(open(sys.argv[2]))
        bad = [n for n in expected
               if abs(expected[n] - tensors[n][2]) > 1e-6 * max(1.0, abs(expected[n]))]
        assert set(expected) == set(tensors), sorted(set(expected) ^ set(tensors))
        if bad:
            print("MISMATCH", bad)
            sys.exit(1)
        print("OK", len(expected), "tensors match")


if __name__ == "__main__":
    main()
