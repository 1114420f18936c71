#!/usr/bin/env bash
# Benchmark: the latency model's predictions against the measured latency of pruned models (issue 15:
# median absolute error 10% or less on every model of docs/pruning-coverage.md). Each MODEL is a
# name from the coverage list (looked up in the model cache) or a path to an .onnx file; without
# any, the whole coverage list (exports the three largest torchvision models too, about 1 GB).
# Naming models writes a partial table. Rewrites tools/bench/results/latency-model.md (keeping its
# findings block). LATENCY_BENCH_LAYERS=1 prints every layer's widths and probe times to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
source "$root/tools/common.sh"
source "$here/coverage.sh"
partial=()
[ $# -eq 0 ] || partial=(--partial)
coverage_select "$@"
paths=()
for m in "${models[@]}"; do
  if [ -f "$m" ]; then paths+=("$(cd "$(dirname "$m")" && pwd)/$(basename "$m")")
  elif [ -f "$ONNXPRUNE_CACHE/models/$m.onnx" ]; then paths+=("$ONNXPRUNE_CACHE/models/$m.onnx")
  else die "no model '$m': give a path or a name from the coverage list (run tools/prepare-test-data.sh first)"; fi
done
dotnet build "$here/OnnxPrune.Bench/OnnxPrune.Bench.csproj" -c Release -o "$root/artifacts/bench" --nologo -v q -clp:ErrorsOnly >&2
cd "$root"
dotnet artifacts/bench/OnnxPrune.Bench.dll latency-model tools/bench/results/latency-model.md "${partial[@]}" "${paths[@]}"
