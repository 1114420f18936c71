#!/usr/bin/env bash
# Benchmark: OnnxPrune load + IR + save of torchvision resnet18 (45 MB) against onnx.load +
# onnx.save of Debian's Python onnx on the same file, interleaved in one run.
# Appends the table to tools/bench/results/load-save.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/prepare-test-data.sh"
source "$root/tools/common.sh"
dotnet build "$here/OnnxPrune.Bench/OnnxPrune.Bench.csproj" -c Release -o "$root/artifacts/bench" --nologo -v q -clp:ErrorsOnly >&2
cd "$root"
dotnet artifacts/bench/OnnxPrune.Bench.dll load-save "$ONNXPRUNE_CACHE/models/resnet18.onnx" "${1:-21}" tools/bench/results/load-save.md
