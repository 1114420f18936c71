#!/usr/bin/env bash
# Regenerates docs/pruning-coverage.md: every model of issue 3's coverage list pruned to
# --target-flops 50%, with MACs, params and ONNX Runtime latency before/after, time and the
# exactness check. Exports the three largest torchvision models too (about 1 GB of cache).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
"$here/prepare-test-data.sh"
source "$here/common.sh"
models="$ONNXPRUNE_CACHE/models"
/usr/bin/python3 "$here/export_torchvision.py" "$models" wide_resnet50_2 vgg11_bn alexnet >/dev/null
dotnet build "$here/bench/OnnxPrune.Bench/OnnxPrune.Bench.csproj" -c Release -o "$root/artifacts/bench" --nologo -v q -clp:ErrorsOnly >&2
mkdir -p "$root/docs"
cd "$root"
dotnet artifacts/bench/OnnxPrune.Bench.dll prune-table "$models" docs/pruning-coverage.md \
  resnet18 resnet50 resnext50_32x4d wide_resnet50_2 mobilenet_v2 mobilenet_v3_small efficientnet_b0 densenet121 \
  shufflenet_v2_x1_0 squeezenet1_1 googlenet mnasnet1_0 regnet_x_400mf regnet_y_400mf vgg11_bn alexnet \
  blazeface-front-128 blazeface-back-256 ppocr-mobile-v2-cls
