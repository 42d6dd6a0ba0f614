#!/bin/bash
# The device command: sets the lent GPU machine up (.gpu/setup-device.sh), runs the benchmark bundle on Dawn, writes $OUT/bench.json and prints the table.
# Usage (repository root): bash bench/gpu/run.sh [bench options, e.g. --quick or --suite matmul,train]
# Carry: [".gpu", "bench/gpu/dist"], both made by bench/gpu/prepare.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
[[ -f bench/gpu/dist/bench.mjs ]] || { echo "run.sh: bench/gpu/dist/bench.mjs is missing: run bench/gpu/prepare.sh and carry bench/gpu/dist" >&2; exit 2; }
[[ -f .gpu/setup-device.sh ]] || { echo "run.sh: .gpu/ is missing: run bench/gpu/prepare.sh and carry .gpu" >&2; exit 2; }
# No NVIDIA driver (a rehearsal on a machine without a GPU): Dawn gets SwiftShader's Vulkan, as the engine itself would pick.
if [[ ! -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json && -z ${VK_ICD_FILENAMES:-} && -f /usr/lib/chromium/vk_swiftshader_icd.json ]]; then
  echo "run.sh: no NVIDIA Vulkan driver here: using SwiftShader (CPU)"
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
# shellcheck source=/dev/null
source .gpu/setup-device.sh || { echo "run.sh: setup-device.sh found no adapter" >&2; exit 3; }
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader > "$out/nvidia-smi.txt" 2>&1
# The GPU's name into the report's environment: Dawn describes an H100 and an H200 alike.
command -v nvidia-smi > /dev/null && BENCH_DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1) && export BENCH_DEVICE
# --time-limit 480: no row starts after 8 min (the device allows 600 s per command); the JSON is rewritten after every row.
node bench/gpu/dist/bench.mjs --node --json "$out/bench.json" --time-limit 480 "$@" 2>&1 | tee "$out/bench.log"
code=${PIPESTATUS[0]}
# A crash (not a failed check, which still prints its table) leaves the rows measured before it in bench.json.
if [[ $code -ne 0 && -f $out/bench.json ]] && ! grep -q '^wrote ' "$out/bench.log"; then
  echo "run.sh: the benchmark exited with $code; the rows measured before that:"
  node bench/gpu/dist/bench.mjs --table "$out/bench.json"
fi
exit "$code"
