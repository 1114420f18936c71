#!/usr/bin/env bash
# The main job on the bundled default model (models/resnet56-fmnist.onnx, trained by `onnxprune train`
# on Fashion-MNIST; see models/README.md): inspect it, then halve its latency as ONNX Runtime measures
# it on this machine (per-layer latency tables, the latency-saliency knapsack, the least-squares refit,
# one fine-tune epoch distilled from the original), and report what it cost in accuracy.
# Extra arguments go to the prune step (for example --target-latency 2ms, --target-flops 33% or
# --recipe memory); MODELS="a.onnx b.onnx" picks other models (with Fashion-MNIST-shaped inputs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
"$here/ensure-apt.sh" dataset-fashion-mnist
models=(${MODELS:-"$root/models/resnet56-fmnist.onnx"})
target=(--target-latency 50%)
for a in "$@"; do case "$a" in --target-*|--ratio|--max-size|--max-accuracy-drop|--recipe) target=();; esac; done
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  out="$root/artifacts/default/$name"
  mkdir -p "$out"
  echo "== $name"
  "$root/onnxprune" inspect "$model"
  echo
  "$root/onnxprune" "$model" -o "$out/pruned.onnx" "${target[@]}" --data fashion-mnist --report "$out/report.json" "$@"
  echo "pruned model: $out/pruned.onnx; report: $out/report.json"
  echo
done
