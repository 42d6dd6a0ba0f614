#!/bin/bash
# Trains the CLI's candidate recipes on the full Fashion-MNIST on a lent GPU (fast), to choose the default recipe that SwiftShader then runs once in full.
# Usage (repository root, after source .gpu/setup-device.sh): bash bench/gpu/recipes.sh DATA_DIR OUT_DIR
# DATA_DIR holds the dataset's four files (.gz, or .xz unpacked here); writes OUT_DIR/recipes.jsonl, one JSON summary per
# recipe (and each run's outputs under OUT_DIR/rN: keep OUT_DIR off the device's $OUT, whose files come back 8 at most).
set -uo pipefail
data=$1
out=$2
mkdir -p "$out" /tmp/fashion-mnist
for f in "$data"/*; do
  case $f in
    *.xz) python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" "$f" "/tmp/fashion-mnist/$(basename "$f" .xz)" ;;
    *) cp "$f" /tmp/fashion-mnist/ ;;
  esac
done
# Most promising first: the run is time-boxed, and recipes.jsonl keeps what finished.
recipes=(
  "--hidden 512,256 --batchnorm --dropout 0.2 --lr 2e-3 --lr-decay 0.85 --epochs 12 --batch 128"
  "--hidden 256,128 --batchnorm --dropout 0.2 --lr 2e-3 --lr-decay 0.85 --epochs 15 --batch 128"
  "--hidden 512,256 --batchnorm --dropout 0.3 --lr 2e-3 --lr-decay 0.85 --epochs 15 --batch 128"
  "--hidden 384,192 --batchnorm --dropout 0.2 --lr 2e-3 --lr-decay 0.85 --epochs 15 --batch 128"
  "--hidden 512,256 --no-batchnorm --dropout 0.2 --lr 1e-3 --lr-decay 0.9 --epochs 15 --batch 128"
  "--hidden 256,128 --batchnorm --dropout 0.1 --lr 2e-3 --lr-decay 0.9 --epochs 20 --batch 128"
  "--hidden 512,256 --batchnorm --dropout 0.2 --lr 2e-3 --lr-decay 0.85 --epochs 12 --batch 256"
  "--hidden 512,256 --batchnorm --dropout 0.2 --lr 1e-3 --lr-decay 0.9 --epochs 15 --batch 128 --reg 1e-4"
)
# A rehearsal (no GPU) replaces the recipes' sizes with tiny ones: RECIPE_EXTRA="--limit 2000 --epochs 1 --hidden 16".
i=0
for recipe in "${recipes[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  line=$(node dist/cli.js train --data /tmp/fashion-mnist $recipe ${RECIPE_EXTRA:-} --quiet --out "$out/r$i" 2> "$out/r$i.err" | tail -1)
  echo "{\"recipe\": \"$recipe\", \"summary\": $line}" | tee -a "$out/recipes.jsonl"
done
