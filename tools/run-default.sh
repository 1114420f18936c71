#!/usr/bin/env bash
# The main job on the bundled default models (models/resnet20-fmnist.onnx and
# models/resnet56-fmnist.onnx, trained by `onnxprune train` on Fashion-MNIST; see
# models/README.md): for each, inspect it, measure its test accuracy, prune it to half its MACs
# (data-free, with the latency check), and measure what the pruned model costs and scores.
# Extra arguments go to the prune step (for example --target-params 40% or --criterion l2);
# MODELS="a.onnx b.onnx" picks other models.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
"$here/ensure-apt.sh" dataset-fashion-mnist
models=(${MODELS:-"$root/models/resnet20-fmnist.onnx" "$root/models/resnet56-fmnist.onnx"})
target=(--target-flops 50%)
for a in "$@"; do case "$a" in --target-*|--ratio) target=();; esac; done
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  out="$root/artifacts/default/$name"
  mkdir -p "$out"
  echo "== $name"
  "$root/onnxprune" inspect "$model"
  echo
  "$root/onnxprune" evaluate "$model" --data fashion-mnist
  echo
  "$root/onnxprune" "$model" -o "$out/pruned.onnx" "${target[@]}" --report "$out/report.json" "$@"
  echo
  echo "pruned, before any fine-tuning (data-free pruning removes the channels with the smallest filters; accuracy is recovered by fine-tuning):"
  "$root/onnxprune" evaluate "$out/pruned.onnx" --data fashion-mnist
  echo "pruned model: $out/pruned.onnx; report: $out/report.json"
  echo
done
