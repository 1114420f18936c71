#!/usr/bin/env bash
# Benchmark (issue 12): accuracy right after pruning, and the scoring's wall time, for every
# criterion x allocation on the bundled ResNet-56 (models/resnet56-fmnist.onnx) at --target-flops 50%,
# scored on Fashion-MNIST training images, measured on the 10,000 test images by ONNX Runtime.
# Usage: tools/bench/saliency.sh [CALIBRATION_IMAGES]   (default 1024). Rewrites docs/saliency-comparison.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist
n="${1:-1024}"
model="$root/models/resnet56-fmnist.onnx"
out="$(mktemp -d /tmp/saliency.XXXXXX)"
trap 'rm -rf "$out"' EXIT
doc="$root/docs/saliency-comparison.md"
py=/usr/bin/python3
row() { # criterion allocation extra-args...
  local c="$1" a="$2"; shift 2
  local labels="-" name="$c-$a"
  case " $* " in *" --no-labels "*) labels="no (the model's predictions)"; name="$name-nolabels";; *" --data "*) labels="yes";; esac
  "$root/onnxprune" "$model" -o "$out/$name.onnx" --target-flops 50% --criterion "$c" --allocation "$a" --skip-latency \
    --report "$out/$name.json" "$@" >/dev/null
  local acc secs macs
  acc="$("$root/onnxprune" evaluate "$out/$name.onnx" --data fashion-mnist --json | "$py" -c 'import json,sys; print("%.2f" % (100*json.load(sys.stdin)["accuracy"]))')"
  read -r secs macs < <("$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.0f" % r["analysis_ms"], "%.1f%%" % (100.0*r["after"]["macs"]/r["before"]["macs"]))' "$out/$name.json")
  echo "| $c | $a | $labels | $macs | $acc | $secs |"
}
{
  echo "# Saliency criteria on the bundled ResNet-56: accuracy right after pruning"
  echo
  echo "Rerun: \`tools/bench/saliency.sh $n\` (this file is rewritten). $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores."
  echo "Model: models/resnet56-fmnist.onnx (93.30% top-1). Every row: \`onnxprune MODEL -o OUT --target-flops 50% --criterion C --allocation A\`"
  echo "(data-driven rows add \`--data fashion-mnist --calibration-images $n\`: a seeded, class-balanced sample of the training images),"
  echo "then \`onnxprune evaluate OUT --data fashion-mnist\` on the 10,000 test images. No fine-tuning, no recovery."
  echo "Analysis time is the report's analysis_ms: channel analysis plus scoring (for taylor and sosp-h the gradient runs, for activation the forward runs, on ORT)."
  echo
  echo "| criterion | allocation | labels | MACs kept | top-1 % | analysis ms |"
  echo "|---|---|---|---|---|---|"
  for a in global uniform; do
    row l1 "$a"; row l2 "$a"; row random "$a"
    row taylor "$a" --data fashion-mnist --calibration-images "$n"
    row sosp-h "$a" --data fashion-mnist --calibration-images "$n"
    row activation "$a" --data fashion-mnist --calibration-images "$n"
  done
  row taylor global --data fashion-mnist --calibration-images "$n" --no-labels
  row sosp-h global --data fashion-mnist --calibration-images "$n" --no-labels
  # A hand-written block between <!-- findings --> and <!-- /findings --> survives a rerun (re-check it).
  [ -f "$doc" ] && "$py" -c 'import re,sys; m=re.search(r"<!-- findings -->.*?<!-- /findings -->", open(sys.argv[1]).read(), re.S); print("\n" + m.group(0)) if m else None' "$doc"
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
echo "wrote $doc" >&2
