#!/usr/bin/env bash
# Benchmark (issues 12 and 13): accuracy right after pruning, without recovery, with BatchNorm
# re-estimation and with the least-squares refit, and the criterion's and the recovery's wall time,
# for every criterion x allocation on the bundled ResNet-56 (models/resnet56-fmnist.onnx) and on a
# BN-folded copy of it (folded as exporters do: `onnxprune convert --fold-bn`), at --target-flops 50%,
# scored and recovered on Fashion-MNIST training images, measured on the 10,000 test images by ONNX
# Runtime; then one fine-tune epoch of the chosen rows.
# Usage: tools/bench/saliency.sh [CALIBRATION_IMAGES] [FINETUNE_ROWS]
#   CALIBRATION_IMAGES: default 1024. FINETUNE_ROWS: "criterion:allocation ..." (default "l1:uniform l1:global l1:cie l1:pqi").
# Rewrites docs/saliency-comparison.md. Run it alone: the times are wall times on a shared machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist
n="${1:-1024}"
finetune_rows="${2:-l1:uniform l1:global l1:cie l1:pqi}"
bundled="$root/models/resnet56-fmnist.onnx"
out="$(mktemp -d /tmp/saliency.XXXXXX)"
trap 'rm -rf "$out"' EXIT
doc="$root/docs/saliency-comparison.md"
py=/usr/bin/python3
cli="$root/onnxprune"
"$cli" convert "$bundled" "$out/folded.onnx" --fold-bn >/dev/null
accuracy() { "$cli" evaluate "$1" --data fashion-mnist --json | "$py" -c 'import json,sys; print("%.2f" % (100*json.load(sys.stdin)["accuracy"]))'; }
field() { "$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
prune() { # model name recover criterion allocation extra...
  local model="$1" name="$2" recover="$3" c="$4" a="$5"; shift 5
  "$cli" "$model" -o "$out/$name-$recover.onnx" --target-flops 50% --criterion "$c" --allocation "$a" --skip-latency \
    --data fashion-mnist --calibration-images "$n" --recover "$recover" --report "$out/$name-$recover.json" "$@" >/dev/null || [ $? -eq 3 ] # 3: the closest model is written (pqi can stop short)
}
row() { # model-label model modes criterion allocation extra...
  local label="$1" model="$2" modes="$3" c="$4" a="$5"; shift 5
  local labels="yes" name="$label-$c-$a" cells="" secs="" rsecs="-" macs=""
  case " $* " in *" --no-labels "*) labels="no"; name="$name-nolabels";; esac
  case " l1 l2 fpgm bn-scale random " in *" $c "*) labels="-";; esac
  for m in none bn refit; do
    if [[ " $modes " == *" $m "* ]]; then
      prune "$model" "$name" "$m" "$c" "$a" "$@"
      cells="$cells $(accuracy "$out/$name-$m.onnx") |"
      [ "$m" = refit ] && rsecs="$(field "$out/$name-$m.json" '"%.1f" % r["recovery"]["seconds"]')"
    else cells="$cells - |"; fi
  done
  read -r secs macs < <(field "$out/$name-none.json" '"%.1f %.1f%%" % (r["analysis_ms"]/1000, 100.0*r["after"]["macs"]/r["before"]["macs"])')
  echo "| $c | $a | $labels | $macs |$cells $secs | $rsecs |"
}
table() { # label model modes criteria...
  local label="$1" model="$2" modes="$3"; shift 3
  echo "| criterion | allocation | labels | MACs kept | top-1 % none | top-1 % bn | top-1 % refit | criterion s | refit s |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for a in global uniform threshold; do
    for c in "$@"; do row "$label" "$model" "$modes" "$c" "$a"; done
  done
  row "$label" "$model" "$modes" taylor global --no-labels
  row "$label" "$model" "$modes" sosp-h global --no-labels
  # The cross-layer policies (issue 14) with the base criterion l1; CIE's grid is computed once per model (cached).
  row "$label" "$model" "$modes" l1 cie --cie-images 512 --cie-cache "$out/cie-$label"
  row "$label" "$model" "$modes" l1 pqi --pqi-eta 0.1 --round-to 4
}
finetune() { # label model criterion allocation: the main job's final fine-tune (distilled from the original, no augmentation)
  local label="$1" model="$2" c="$3" a="$4" name="$1-$3-$4-refit"
  "$cli" finetune "$out/$name.onnx" --data fashion-mnist --epochs 1 --augment none --teacher "$model" -o "$out/$name-ft.onnx" --json > "$out/$name-ft.json"
  echo "| $label | $c | $a | $(accuracy "$out/$name.onnx") | $(accuracy "$out/$name-ft.onnx") | $(field "$out/$name-ft.json" '"%.0f" % r["train_seconds"]') |"
}
# sosp-i is left out: one-image gradients per class make it minutes per run at 1,024 images (see the findings).
criteria="l1 l2 fpgm random taylor sosp-h activation"
{
  echo "# Saliency criteria and recovery on the bundled ResNet-56: accuracy right after pruning"
  echo
  echo "Rerun: \`tools/bench/saliency.sh $n\` (this file is rewritten). $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores."
  echo "Every row: \`onnxprune MODEL -o OUT --target-flops 50% --criterion C --allocation A --data fashion-mnist --calibration-images $n --recover R\`"
  echo "(a seeded, class-balanced sample of the training images; data-free criteria ignore the images for scoring, recovery uses them),"
  echo "then \`onnxprune evaluate OUT --data fashion-mnist\` on the 10,000 test images. No fine-tuning in these tables."
  echo "criterion s: the report's analysis_ms (channel analysis plus scoring: gradient runs for taylor/sosp-h/sosp-i, forward runs for activation);"
  echo "refit s: the recovery's wall time with --recover refit (least-squares refit, then BatchNorm re-estimation)."
  echo
  echo "## models/resnet56-fmnist.onnx (93.30% top-1, BatchNorm kept)"
  echo
  table bundled "$bundled" "none bn refit" $criteria bn-scale
  echo
  echo "## The same model with BatchNorm folded into the convolutions (\`onnxprune convert --fold-bn\`; $(accuracy "$out/folded.onnx")% top-1)"
  echo
  echo "bn-scale needs BatchNorm and bn recovery has none to re-estimate: both are left out."
  echo
  table folded "$out/folded.onnx" "none refit" $criteria
  echo
  echo "## One fine-tune epoch after pruning and the refit"
  echo
  echo "\`onnxprune finetune OUT --data fashion-mnist --epochs 1 --augment none --teacher MODEL\` (the main job's final fine-tune: distilled from the unpruned model, lr 0.01 cosine, batch 128) on the refit model of the row."
  echo
  echo "| model | criterion | allocation | top-1 % refit | top-1 % after 1 epoch | fine-tune s |"
  echo "|---|---|---|---|---|---|"
  for r in $finetune_rows; do
    finetune bundled "$bundled" "${r%%:*}" "${r##*:}"
    finetune folded "$out/folded.onnx" "${r%%:*}" "${r##*:}"
  done
  # A hand-written block between <!-- findings --> and <!-- /findings --> survives a rerun (re-check it).
  [ -f "$doc" ] && "$py" -c 'import re,sys; m=re.search(r"<!-- findings -->.*?<!-- /findings -->", open(sys.argv[1]).read(), re.S); print("\n" + m.group(0)) if m else None' "$doc"
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
echo "wrote $doc" >&2
