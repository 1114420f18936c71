#!/usr/bin/env bash
# Screenshots of report.html for real runs on the bundled ResNet-56 (issue 16): the main job with a latency target
# (rounds, accuracy against measured latency, channels and latency per layer), --allocation pqi (the PQ Index
# trajectory) and --allocation cie (the sensitivity grid as a heat map). PQI and CIE are two allocations, so no one
# run has every chart. Writes docs/img/report-resnet56-{job,pqi,cie}.png and keeps each run's report.json beside them
# under tools/bench/results/report-screenshots/.
# Usage: tools/bench/report-screenshots.sh [job] [pqi] [cie]   (default: all three)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist chromium
model="$root/models/resnet56-fmnist.onnx"
cli="$root/onnxprune"
out="$(mktemp -d /tmp/report-shots.XXXXXX)"
trap 'rm -rf "$out"' EXIT
keep="$here/results/report-screenshots"
mkdir -p "$keep" "$root/docs/img"
runs=("$@"); [ ${#runs[@]} -eq 0 ] && runs=(job pqi cie)
for run in "${runs[@]}"; do
  case "$run" in
    job) args=(--target-latency 50% --rounds 2 --finetune-epochs 0 --final-epochs 1);;
    pqi) args=(--target-flops 50% --allocation pqi --pqi-eta 0.1 --round-to 4 --criterion l1);;
    cie) args=(--target-flops 50% --allocation cie --criterion l1);;
    *) echo "error: unknown run '$run' (job, pqi or cie)" >&2; exit 2;;
  esac
  echo "== $run: onnxprune resnet56-fmnist.onnx ${args[*]} --data fashion-mnist --threads 2" >&2
  "$cli" "$model" -o "$out/$run.onnx" "${args[@]}" --data fashion-mnist --threads 2 --report "$out/$run.json" --quiet || [ $? -eq 3 ]
  cp "$out/$run.json" "$keep/$run.json"
  /usr/bin/chromium --headless --disable-gpu --no-sandbox --no-first-run --disable-extensions --disable-background-networking \
    --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir="$out/profile" \
    --screenshot="$root/docs/img/report-resnet56-$run.png" --window-size=1280,5200 --hide-scrollbars "file://$out/$run.html" 2>/dev/null
  echo "wrote docs/img/report-resnet56-$run.png" >&2
done
