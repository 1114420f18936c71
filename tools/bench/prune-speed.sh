#!/usr/bin/env bash
# Benchmark: analysis + pruning + save of torchvision resnet50 to --target-flops 50% (issue 3:
# under 1 second). Appends the table to tools/bench/results/prune-speed.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/prepare-test-data.sh"
source "$root/tools/common.sh"
dotnet build "$here/OnnxPrune.Bench/OnnxPrune.Bench.csproj" -c Release -o "$root/artifacts/bench" --nologo -v q -clp:ErrorsOnly >&2
cd "$root"
dotnet artifacts/bench/OnnxPrune.Bench.dll prune-speed "$ONNXPRUNE_CACHE/models/resnet50.onnx" "${1:-9}" tools/bench/results/prune-speed.md
