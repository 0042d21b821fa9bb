#!/usr/bin/env bash
# Forward throughput of CausalLmGraphs on ONNX Runtime CPU versus the PyTorch reference, same
# configs (small ~9.4M, base ~99.5M LLaMA) and shapes (1x512, 8x256), 2 threads each.
# Needs: JDK 17+, Maven (offline works once dependencies are cached), /usr/bin/python3 with torch
# (Debian: apt-get install python3-torch libopenblas0-pthread).
# Usage: benchmarks/onnx/forward_vs_torch.sh [threads] [sizes...]   (default: 2 small base)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads="${1:-2}"
shift || true
sizes=("${@:-small base}")
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
(cd "$root" && mvn -B -q -o -pl benchmarks/onnx -am -DskipTests package >/dev/null)
cp="$here/target/benchmarks-onnx.jar"
echo "date: $(date -u +%FT%TZ)  host: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for size in ${sizes[*]}; do
  java -Xmx4g -cp "$cp" dev.im4j.bench.onnx.ForwardBenchmark "$size" "$threads" | tee -a "$out"
  # torch's environment as in train_vs_torch.sh: OpenBLAS's own pool sized, OpenMP's workers
  # passive (spinning ones starve OpenBLAS's on 2 cores), OpenBLAS's kernels chosen for this CPU
  env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 "$here/bench_forward.py" "$size" "$threads" \
    | tee -a "$out"
done
echo "size shape java_tok/s torch_tok/s java/torch java_rss_MiB torch_rss_MiB"
awk '$1 == "RESULT" { key = $3 " " $4; v[$2, key] = $5; r[$2, key] = $6; keys[key] = 1 }
  END { for (k in keys) printf "%s %s %s %.2f %s %s\n", k, v["java", k], v["torch", k],
        v["java", k] / v["torch", k], r["java", k], r["torch", k] }' "$out" | sort
