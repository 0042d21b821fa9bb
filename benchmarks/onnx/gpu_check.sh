#!/usr/bin/env bash
# The GPU check (issue 17), for a machine with an NVIDIA GPU: build with the CUDA natives, run
# the CUDA-tagged tests (CudaTrainingTest: a run on CUDA equals the CPU run, both runtimes), then
# one timed training run of the Qwen2-0.5B shape per runtime and of the Qwen2-1.5B LoRA case on
# GPU 0, with the device memory sampled by nvidia-smi every 200 ms. Prints the RESULT lines and
# the peak device memory.
#
# Needs: an NVIDIA driver, the CUDA/cuDNN libraries bytedeco's linux-x86_64-gpu natives were built
# for, JDK 17+, Maven with the dependencies of `mvn -Pcuda` in ~/.m2 (the run is offline when
# OFFLINE=1: GPU machines often have no network). About 3-5 minutes on one recent GPU.
# Usage: benchmarks/onnx/gpu_check.sh   env: ROWS (8) SEQ (256) STEPS (6) OFFLINE (0)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${ROWS:-8}"
seq_len="${SEQ:-256}"
steps="${STEPS:-6}"
offline=()
[ "${OFFLINE:-0}" = 1 ] && offline=(-o)
cd "$root"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
mvn -B -q "${offline[@]}" -Pcuda -DskipTests package
mvn -B "${offline[@]}" -Pcuda test -pl im-onnx -Dgroups=cuda -Dsurefire.failIfNoSpecifiedTests=false \
  | grep -E 'Tests run:|FAIL|Skipped' || true
jar="$here/target/benchmarks-onnx.jar"
# shape, then TrainStepBench's flags: full fine-tuning per runtime, then issue 16's LoRA case
# (Qwen2-1.5B, r 16, the frozen base in float32 and in BF16, fed from host buffers every step)
cases=(
  "qwen2-0.5b --runtime=training-api"
  "qwen2-0.5b --runtime=portable"
  "qwen2-1.5b --runtime=training-api --lora-r=16 --lora-base-dtype=f32"
  "qwen2-1.5b --runtime=training-api --lora-r=16 --lora-base-dtype=bf16"
)
for c in "${cases[@]}"; do
  read -r shape flags <<<"$c"
  samples="$(mktemp)"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$samples" &
  sampler=$!
  out="$(mktemp -d)"
  # shellcheck disable=SC2086 # flags is a list
  java -XX:MaxDirectMemorySize=64g -cp "$jar" dev.im4j.bench.onnx.TrainStepBench \
    "$here/configs/$shape.json" "$steps" "$rows" "$seq_len" 8 "$out" \
    --device=cuda $flags | grep '^RESULT' || echo "RESULT failed $c"
  kill "$sampler"
  echo "  peak device memory MiB: $(sort -n "$samples" | tail -1) ($c)"
  rm -rf "$out" "$samples"
done
