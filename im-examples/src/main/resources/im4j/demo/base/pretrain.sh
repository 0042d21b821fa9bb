#!/bin/sh
# Rebuilds the demo's pretrained base model (this folder's config.json and model.safetensors).
# Run from the repository root after `apt-get install -y wordnet-base` and
# `mvn -B -q -DskipTests package`; about 45 minutes on 2 cores. WORK (default target/base-model)
# holds the corpus and the run; the result is copied here. Deterministic on a given machine.
set -eu
HERE=im-examples/src/main/resources/im4j/demo/base
WORK=${WORK:-target/base-model}
mkdir -p "$WORK"
python3 im-examples/src/main/resources/im4j/demo/wordnet/make_corpus.py "$WORK/corpus.jsonl"
# The last 1,000 rows are held out to draw the pretraining curve; the rest is trained on.
head -n -1000 "$WORK/corpus.jsonl" > "$WORK/train.jsonl"
tail -n 1000 "$WORK/corpus.jsonl" > "$WORK/eval.jsonl"
java -jar im-examples/target/im4j.jar train \
  --data "$WORK/train.jsonl" --eval-data "$WORK/eval.jsonl" --format text \
  --tokenizer im-examples/target/classes/im4j/demo/tokenizer --config "$HERE/config.json" \
  --packing --max-length 256 --batch-size 64 --epochs 2 --lr 1.5e-3 --max-grad-norm 1.0 \
  --reduction token-mean --eval-every 200 --save-every 400 --seed 42 --threads 2 \
  --save-dtype bf16 --out "$WORK/run" --overwrite
cp "$WORK/run/model/model.safetensors" "$HERE/model.safetensors"
cp "$WORK/run/curves.png" "$HERE/pretraining-curves.png"
