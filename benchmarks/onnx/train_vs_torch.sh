#!/usr/bin/env bash
# Training-step throughput of im4j's Trainer (TrainStepBench) versus PyTorch (train_vs_torch.py)
# on Hugging Face config.json shapes with seeded random weights: same model, random ids, AdamW
# lr 2e-5, fp32, rows x seqLen tokens per step and threads. Per shape it runs im4j, torch, im4j,
# torch, ... (REPEATS pairs, interleaved so drift hits both), each under /usr/bin/time -v for the
# peak RSS, the JVM with its default flags unless IM4J_JAVA_OPTS is set. A 2048x2048 fp32 matmul
# peak (torch, same threads) is measured before and after the shapes; MFU = 6 * params * tokens/s
# / the higher of the two (params: every parameter, a tied head counted once); with LORA_R, 4 *
# params (forward and input gradients; the frozen base has no weight gradients).
#
# Shapes: the names of benchmarks/onnx/configs/*.json (published SmolLM2-135M, SmolLM2-360M and
# Qwen2-0.5B configs; llama-smoke-10m, a ~9.6M LLaMA for a quick check; llama-51m, ~51M: vocab
# 32k, hidden 512, 12 layers); or paths to files.
#
# Needs: JDK 17+, Maven (offline works once dependencies are cached), /usr/bin/time and Debian's
# /usr/bin/python3 with torch: apt-get install -y python3-torch libopenblas0-pthread time
# (CI does not need them; this script installs nothing).
#
# Usage: benchmarks/onnx/train_vs_torch.sh [shape...]   (default: llama-smoke-10m)
#   env: STEPS (6) ROWS (2) SEQ (256) THREADS (2) REPEATS (2) IM4J_JAVA_OPTS (empty: JVM defaults)
#        GRADIENT_CHECKPOINTING (0; 1: both sides recompute each decoder layer in the backward)
#        LORA_R (0: full fine-tuning; N: both sides train rank-N LoRA adapters, alpha 8, on every
#        attention and MLP projection, the base frozen)
#        LORA_BASE_DTYPE (f32; bf16 or f16: with LORA_R, im4j holds the frozen base in that dtype,
#        the peer keeps float32)
#        RUNTIME (training-api; portable: im4j trains on its portable runtime)
#        PEER_OPENBLAS_CORETYPE (empty: OpenBLAS detects the CPU; see torch_env below)
#        BUILD (1: package benchmarks/onnx first; 0: use the jar as it is)
#        RESULTS (a folder for the logs; default a new temporary one, printed at the end)
# Commands used for docs/benchmarks.md: see its section "Training against PyTorch".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
steps="${STEPS:-6}"
rows="${ROWS:-2}"
seq_len="${SEQ:-256}"
threads="${THREADS:-2}"
repeats="${REPEATS:-2}"
java_opts="${IM4J_JAVA_OPTS:-}"
flags=()
[ "${GRADIENT_CHECKPOINTING:-0}" = 1 ] && flags=(--gradient-checkpointing)
[ "${LORA_R:-0}" != 0 ] && flags+=("--lora-r=${LORA_R}")
python=/usr/bin/python3
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(llama-smoke-10m)

missing=()
[ -x /usr/bin/time ] || missing+=("/usr/bin/time")
"$python" -c "import torch" 2>/dev/null || missing+=("torch for $python")
command -v java >/dev/null || missing+=("java")
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "install (Debian): apt-get install -y python3-torch libopenblas0-pthread time" >&2
  exit 2
fi

if [ "${BUILD:-1}" = 1 ]; then
  (cd "$root" && mvn -B -q -o -pl benchmarks/onnx -am -DskipTests package >/dev/null)
fi
jar="$here/target/benchmarks-onnx.jar"
results="${RESULTS:-$(mktemp -d /tmp/train-vs-torch.XXXXXX)}"
mkdir -p "$results"
table="$results/runs.tsv"
: >"$table"
# torch: set_num_threads sizes its OpenMP pool, but Debian's torch multiplies through OpenBLAS
# (openblas-pthread), whose own pool needs OPENBLAS_NUM_THREADS; and OpenMP's workers spin after
# each parallel region and starve OpenBLAS's: on 2 cores PASSIVE halves the smoke shape's step
# (0.55 s -> 0.26 s). An inherited OPENBLAS_CORETYPE is dropped: OpenBLAS picks its kernels for
# this CPU unless PEER_OPENBLAS_CORETYPE names some (OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU
# halves the peak and so understates both the peer and the MFU). ORT reads none of these.
torch_env=(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
  OMP_WAIT_POLICY=PASSIVE)
if [ -n "${PEER_OPENBLAS_CORETYPE:-}" ]; then
  torch_env+=(OPENBLAS_CORETYPE="$PEER_OPENBLAS_CORETYPE")
fi

echo "date: $(date -u +%FT%TZ)  host: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB," \
  "load: $(cut -d' ' -f1-3 /proc/loadavg)  java: $(java -version 2>&1 | head -1)" \
  " torch: $("$python" -c 'import torch; print(torch.__version__)')"
echo "steps $steps, rows $rows, seqLen $seq_len, threads $threads, repeats $repeats," \
  "IM4J_JAVA_OPTS='${java_opts}', gradient checkpointing ${GRADIENT_CHECKPOINTING:-0}, LoRA rank ${LORA_R:-0}, LoRA base ${LORA_BASE_DTYPE:-f32}, runtime ${RUNTIME:-training-api}, inherited OPENBLAS_CORETYPE '${OPENBLAS_CORETYPE:-}'" \
  "(torch gets '${PEER_OPENBLAS_CORETYPE:-}'), logs $results"

peak() {
  local core
  core="$("${torch_env[@]}" OPENBLAS_VERBOSE=2 "$python" -c 'import torch' 2>&1 | grep -o 'Core: .*' || true)"
  echo "$("${torch_env[@]}" "$python" "$here/train_vs_torch.py" peak "$threads") (OpenBLAS ${core:-?})" \
    | tee -a "$results/peak.txt"
}

# run_one <kind> <shape name> <repeat> <command...>: one run under /usr/bin/time -v; appends
# "shape kind repeat status params tokens_per_s rss_kib first_step_s median_step_s" to runs.tsv.
run_one() {
  local kind="$1" name="$2" r="$3"
  shift 3
  local out="$results/$name.$kind.$r.out" err="$results/$name.$kind.$r.err" status=ok line
  /usr/bin/time -v "$@" >"$out" 2>"$err" || status="failed"
  line="$(grep '^RESULT' "$out" || true)"
  [ -n "$line" ] || status="failed"
  if [ "$status" = failed ]; then
    if grep -q 'OutOfMemoryError' "$err"; then
      status="OOM($(grep -m1 -o 'OutOfMemoryError[^"]*' "$err" | cut -c1-60))"
    elif grep -q 'terminated by signal' "$err"; then # 9: most likely the kernel's OOM killer
      status="killed($(grep -m1 -o 'signal [0-9]*' "$err"))"
    else
      status="failed(rc $(grep -m1 -o 'non-zero status [0-9]*' "$err" | grep -o '[0-9]*$' || echo '?'))"
    fi
    echo "  $kind #$r: $status; see $err" >&2
  else
    echo "  $line"
  fi
  local rss
  rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$err")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$r" "${status// /_}" \
    "$(field params "$line")" "$(field tokens_per_s "$line")" "${rss:--}" \
    "$(field first_step_s "$line")" "$(field median_step_s "$line")" >>"$table"
}

# field <key> <RESULT line>: the value of key=value, or - if absent.
field() {
  local v
  v="$(tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}')"
  echo "${v:--}"
}

peak
for shape in "${shapes[@]}"; do
  config="$shape"
  [ -f "$config" ] || config="$here/configs/$shape.json"
  [ -f "$config" ] || { echo "no config $shape (nor $config)" >&2; exit 2; }
  name="$(basename "$config" .json)"
  echo "== $name"
  for r in $(seq 1 "$repeats"); do
    # shellcheck disable=SC2086 # IM4J_JAVA_OPTS is a list of JVM flags
    run_one im4j "$name" "$r" java $java_opts -cp "$jar" dev.im4j.bench.onnx.TrainStepBench \
      "$config" "$steps" "$rows" "$seq_len" "$threads" "$results/$name.im4j-out" "${flags[@]}" \
      "--runtime=${RUNTIME:-training-api}" "--lora-base-dtype=${LORA_BASE_DTYPE:-f32}"
    rm -rf "$results/$name.im4j-out" # its checkpoint and artifacts: the model's size, twice over
    run_one torch "$name" "$r" "${torch_env[@]}" "$python" "$here/train_vs_torch.py" \
      "$config" "$steps" "$rows" "$seq_len" "$threads" "${flags[@]}"
  done
done
peak

gflops="$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^gflops=/) {split($i, a, "="); if (a[2] > m) m = a[2]}}
  END {print m}' "$results/peak.txt")"
echo
echo "per shape: median over successful repeats; ratio = im4j / torch; matmul peak $gflops GFLOP/s"
awk -F'\t' -v peak="$gflops" -v per_param="$([ "${LORA_R:-0}" != 0 ] && echo 4 || echo 6)" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
  function show(v, fmt) { return v == "" ? "-" : sprintf(fmt, v) }
  function mfu(tps, p) { return (tps == "" || p == "") ? "-" : sprintf("%.1f%%", 100 * per_param * p * tps / (peak * 1e9)) }
  {
    if (!($1 in seen)) { seen[$1] = 1; order[++shapes] = $1 }
    k = $1 SUBSEP $2
    runs[k]++
    if ($4 == "ok") {
      ok[k]++; params[$1] = $5
      tps[k] = tps[k] " " $6; rss[k] = rss[k] " " ($7 / 1024); first[k] = first[k] " " $8
    } else if (!(k in fails)) {
      fails[k] = $4
    } 
  }
  END {
    for (s = 1; s <= shapes; s++) {
      n = order[s]; i = n SUBSEP "im4j"; t = n SUBSEP "torch"
      ti = median(tps[i]); tt = median(tps[t]); ri = median(rss[i]); rt = median(rss[t])
      fi = median(first[i]); ft = median(first[t])
      printf "\n%s (%s params; ok runs: im4j %d/%d, torch %d/%d)\n", n, params[n], ok[i], runs[i], ok[t], runs[t]
      if (i in fails) printf "  im4j failures: %s\n", fails[i]
      if (t in fails) printf "  torch failures: %s\n", fails[t]
      printf "  %-22s %12s %12s %8s\n", "", "im4j", "torch", "ratio"
      printf "  %-22s %12s %12s %8s\n", "tokens/s", show(ti, "%.1f"), show(tt, "%.1f"), ratio(ti, tt)
      printf "  %-22s %12s %12s %8s\n", "peak RSS MiB", show(ri, "%.0f"), show(rt, "%.0f"), ratio(ri, rt)
      printf "  %-22s %12s %12s %8s\n", "first step s", show(fi, "%.2f"), show(ft, "%.2f"), ratio(fi, ft)
      printf "  %-22s %12s %12s\n", "MFU", mfu(ti, params[n]), mfu(tt, params[n])
    }
  }' "$table"
echo
echo "runs: $table"
