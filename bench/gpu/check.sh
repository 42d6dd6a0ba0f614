#!/bin/bash
# The one-shot device check for a session with a lent GPU: the shared layer cases on the GPU, the matmul tile sweep, the training-step benchmark; logs and JSON into $OUT.
# Usage (repository root, on the device): bash bench/gpu/check.sh   — carry [".gpu", "bench/gpu/dist"] (bench/gpu/prepare.sh makes both).
# About a minute on an H100 once the machine is up (2026-11-26); each part is time-boxed so the rest still runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
[[ -f bench/gpu/dist/bench.mjs && -f .gpu/setup-device.sh ]] || { echo "check.sh: run bench/gpu/prepare.sh here and carry .gpu and bench/gpu/dist" >&2; exit 2; }
# Not in a pipeline: sourcing in a subshell would lose PATH (node) and the Vulkan variables.
# shellcheck source=/dev/null
source .gpu/setup-device.sh > "$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 3; }
tail -1 "$out/setup.log"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
status=0
timeout 150 node bench/gpu/dist/bench.mjs --cases > "$out/cases.log" 2>&1 || status=1
grep -v '^ok ' "$out/cases.log"
timeout 90 node bench/gpu/dist/bench.mjs --tiles --sizes 1024,2048,4096 --json "$out/tiles.json" 2>&1 | tee "$out/tiles.log"
timeout 45 node bench/gpu/dist/bench.mjs --step --steps 2000 --batch 256 2>&1 | tee "$out/step.log"
exit $status
