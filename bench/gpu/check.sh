#!/bin/bash
# The one-shot device check for a session with a lent GPU: the matmul tile sweep (then its best three with Dawn's robustness off), the split-K sweep, the training-step benchmark, the benchmark suites with the peers, the shared layer cases; logs and JSON into $OUT.
# Usage (repository root, on the device): bash bench/gpu/check.sh [tiles] [split] [step] [bench] [cases]   (default: all) — carry [".gpu", "bench/gpu/dist"] (bench/gpu/prepare.sh makes both).
# Each part is time-boxed so the rest still runs; the boxes sum to 540 s, under a device command's 600 s limit with the setup (measured: all five ~3.5 min on an H100; the sweep first, as it matters most).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
[[ -f bench/gpu/dist/bench.mjs && -f .gpu/setup-device.sh ]] || { echo "check.sh: run bench/gpu/prepare.sh here and carry .gpu and bench/gpu/dist" >&2; exit 2; }
# Not in a pipeline: sourcing in a subshell would lose PATH (node) and the Vulkan variables.
# shellcheck source=/dev/null
source .gpu/setup-device.sh > "$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 3; }
tail -1 "$out/setup.log"
clocks=
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv,noheader
  # The GPU's name into the bench report's environment: Dawn describes an H100 and an H200 alike.
  BENCH_DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1) && export BENCH_DEVICE
  # SM clock, power and temperature twice a second while the kernels run (is the GPU throttling?).
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv -lms 500 > "$out/clocks.csv" 2>&1 &
  clocks=$!
fi
parts=" ${*:-tiles split step bench cases} "
status=0
if [[ $parts == *" tiles "* ]]; then
  timeout 150 node bench/gpu/dist/bench.mjs --tiles --sizes 1024,2048,4096 --json "$out/tiles.json" 2>&1 | tee "$out/tiles.log"
  # The three fastest at 4096 again with Dawn's robustness transform off: how much the bounds clamps cost.
  best=$(node -e 'const r=require(process.argv[1]).rows.filter(r=>r.size===4096).sort((a,b)=>b.gflops-a.gflops).slice(0,3);console.log(r.map(r=>r.tile.replace(/ \([0-9x]+\)$/,"")).join(","))' "$out/tiles.json" 2>/dev/null)
  [[ -n $best ]] && timeout 40 node bench/gpu/dist/bench.mjs --tiles --sizes 4096 --only "$best" --dawn enable-dawn-features=disable_robustness --json "$out/tiles-unrobust.json" 2>&1 | tee "$out/tiles-unrobust.log"
fi
if [[ $parts == *" split "* ]]; then
  timeout 60 node bench/gpu/dist/bench.mjs --tiles --split --json "$out/split.json" > "$out/split.log" 2>&1
  tail -1 "$out/split.log"
fi
if [[ $parts == *" step "* ]]; then
  timeout 30 node bench/gpu/dist/bench.mjs --step --steps 2000 --batch 256 2>&1 | tee "$out/step.log"
fi
if [[ $parts == *" bench "* ]]; then
  timeout 170 node bench/gpu/dist/bench.mjs --node --json "$out/bench.json" --time-limit 140 > "$out/bench.log" 2>&1 || status=1
  sed -n '/^suite /,/^$/p' "$out/bench.log" | grep -E '^(suite|matmul|train)'
  grep -E '^checks|FAIL' "$out/bench.log"
fi
if [[ $parts == *" cases "* ]]; then
  timeout 90 node bench/gpu/dist/bench.mjs --cases > "$out/cases.log" 2>&1 || status=1
  grep -v '^ok ' "$out/cases.log"
fi
if [[ -n $clocks ]]; then kill "$clocks" 2> /dev/null; fi
[[ -f $out/clocks.csv ]] && awk -F', ' 'NR > 1 { n++; s += $2; if (min == "" || $2 + 0 < min) min = $2 + 0 } END { if (n) printf "SM clock over %d samples: mean %.0f MHz, min %d MHz\n", n, s / n, min }' "$out/clocks.csv"
exit $status
