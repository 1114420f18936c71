#!/usr/bin/env bash
# Benchmark (issues 12 and 13): peak resident memory of `onnxprune prune` on the bundled ResNet-56 with
# 1,024 Fashion-MNIST calibration images, for the activation criterion (activations streamed, only
# per-channel sums kept), the gradient criteria, and the least-squares refit, against l1 without
# recovery (which loads the same data: the process's baseline). Peak RSS from GNU time (whole process).
# Usage: tools/bench/calibration-memory.sh [CALIBRATION_IMAGES]. Writes tools/bench/results/calibration-memory.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist time
n="${1:-1024}"
model="$root/models/resnet56-fmnist.onnx"
out="$(mktemp -d /tmp/calmem.XXXXXX)"
trap 'rm -rf "$out"' EXIT
"$root/onnxprune" --help >/dev/null # build first, outside the measurement
row() { # label args...
  local label="$1"; shift
  /usr/bin/time -f "%M %e" -o "$out/time" "$root/onnxprune" "$model" -o "$out/pruned.onnx" --target-flops 50% --skip-latency \
    --data fashion-mnist --calibration-images "$n" "$@" >/dev/null 2>&1
  read -r kb secs < "$out/time"
  echo "| $label | \`$*\` | $((kb / 1024)) | $secs |"
}
{
  echo "# Peak memory of data-driven pruning (ResNet-56, $n calibration images)"
  echo
  echo "Rerun: \`tools/bench/calibration-memory.sh $n\`. $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores."
  echo "Peak RSS of the whole \`onnxprune\` process (GNU time), which also holds the 60,000 Fashion-MNIST training images it samples from (about 190 MB as floats)."
  echo
  echo "| run | options | peak RSS MB | wall s |"
  echo "|---|---|---|---|"
  row "baseline (l1, no recovery)" --criterion l1 --recover none
  row "activation" --criterion activation --recover none
  row "taylor" --criterion taylor --recover none
  row "sosp-h" --criterion sosp-h --recover none
  row "refit recovery" --criterion l1 --recover refit
} > "$here/results/calibration-memory.md"
cat "$here/results/calibration-memory.md"
