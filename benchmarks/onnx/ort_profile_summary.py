#!/usr/bin/env python3
"""Summarises ONNX Runtime profiles written by TrainStepBench --ort-profile=PREFIX.

The training session's profile is the largest PREFIX_*.json file and the optimizer session's the
smallest (ONNX Runtime names each by the second its session started; at the shapes this is used
for, opening the training session takes seconds, so the two names differ). Prints the duration
of every run of each, then, for the last training run, the kernel time per op type and the
matrix products grouped by shapes with their GFLOP/s.

Usage: ort_profile_summary.py PREFIX
Plain Python 3 (json only); CI does not run it.
"""
import collections
import glob
import json
import math
import os
import sys


def runs(events):
    return [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]


def shapes(arg):
    return [list(x.values())[0] for x in arg]


def main(prefix):
    files = sorted(glob.glob(prefix + "_*.json"), key=os.path.getsize)
    if len(files) < 2:
        sys.exit(f"expected a training and an optimizer profile named {prefix}_*.json")
    training = json.load(open(files[-1]))
    optimizer = json.load(open(files[0]))
    print("training runs s: ", [round(e["dur"] / 1e6, 2) for e in runs(training)])
    print("optimizer runs s:", [round(e["dur"] / 1e6, 2) for e in runs(optimizer)])
    last = runs(training)[-1]
    begin, end = last["ts"], last["ts"] + last["dur"]
    per_op = collections.Counter()
    products = collections.defaultdict(lambda: [0, 0, 0])  # microseconds, flops, count
    for e in training:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if not begin <= e["ts"] <= end:
            continue
        op = e["args"].get("op_name")
        per_op[op] += e["dur"]
        if op in ("Gemm", "MatMul", "FusedMatMul"):
            a, b = shapes(e["args"]["input_type_shape"])[:2]
            out = shapes(e["args"]["output_type_shape"])[0]
            batch = math.prod(out[:-2]) if len(out) > 2 else 1
            inner = round(math.sqrt(math.prod(a) * math.prod(b) / (math.prod(out) * batch)))
            key = (op, str(a), str(b), str(out))
            products[key][0] += e["dur"]
            products[key][1] += 2 * math.prod(out) * inner
            products[key][2] += 1
    total = sum(per_op.values())
    print(f"last training run: {last['dur'] / 1e6:.2f} s, kernels {total / 1e6:.2f} s")
    for op, us in per_op.most_common(15):
        print(f"  {op:24s} {us / 1e6:7.3f} s {100 * us / total:5.1f} %")
    print("matrix products (op, A, B, output, count, seconds, GFLOP/s):")
    for (op, a, b, out), (us, flops, n) in sorted(products.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {op:12s} {a:18s} {b:18s} {out:20s} {n:4d} {us / 1e6:7.3f} {flops / us / 1e3:7.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
