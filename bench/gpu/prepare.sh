#!/bin/bash
# Prepares a GPU-machine run, here: builds bench/gpu/dist/bench.mjs (peers bundled in) and packs node + the webgpu package into .gpu/.
# Usage, from anywhere: bash bench/gpu/prepare.sh   (then a device call runs bench/gpu/run.sh with carry [".gpu", "bench/gpu/dist"])
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[[ -d node_modules/vite && -d node_modules/webgpu && -d node_modules/@tensorflow/tfjs-core ]] || npm ci
node node_modules/vite/bin/vite.js build --config bench/gpu/vite.config.ts
pack=${PACK_RUNTIME:-$root/../shared/gpu/pack-runtime.sh}
[[ -f $pack ]] || { echo "prepare: $pack not found (set PACK_RUNTIME to shared/gpu/pack-runtime.sh)" >&2; exit 2; }
# The bundle already holds tfjs and jax-js: the runtime needs only node and webgpu (Dawn), which the script always packs.
bash "$pack"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
# What a device call carries: the tracked and untracked-but-not-ignored files, plus .gpu and the bundle.
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carried=$(du -cb .gpu bench/gpu/dist | tail -1 | cut -f1)
echo "working tree $((tree / 1048576)) MiB + carried $((carried / 1048576)) MiB = $(((tree + carried) / 1048576)) MiB (limit 64 MiB)"
