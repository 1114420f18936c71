#!/usr/bin/env bash
# Benchmark: training throughput (images/s) and peak memory of `onnxprune train`'s trainer vs
# PyTorch 1.13 (Debian's python3-torch) on CIFAR-style ResNet-20 and ResNet-56, batch 128,
# 2 threads, side by side in one run (issue 4: at least as fast as PyTorch). Appends the table
# to tools/bench/results/train-throughput.md. Takes about 2 minutes per round.
# Usage: tools/bench/train-throughput.sh [ROUNDS] [STEPS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/prepare-test-data.sh"
dotnet build "$here/OnnxPrune.Bench/OnnxPrune.Bench.csproj" -c Release -o "$root/artifacts/bench" --nologo -v q -clp:ErrorsOnly >&2
cd "$root"
ONNXPRUNE_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" dotnet artifacts/bench/OnnxPrune.Bench.dll train-throughput "${1:-3}" "${2:-10}" tools/bench/results/train-throughput.md
