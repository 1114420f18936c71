#!/usr/bin/env bash
# Benchmark (issue 15): `onnxprune MODEL -o OUT --target-latency 60%` (data-free: criterion l1, allocation
# latency, no fine-tuning) on every model of docs/pruning-coverage.md, and whether the measured latency met
# it. Each row: the job's own final measurement (original and result in alternating blocks, median of 75 runs each),
# the latency model's prediction for the widths it chose, how many prunings the round took (a measured miss
# prunes again with a tighter predicted budget), and what stopped it where it was not met.
# Usage: tools/bench/latency-target.sh [TARGET] [MODEL...]   TARGET default 60%; MODEL: names of the coverage list.
# Rewrites tools/bench/results/latency-target.md (keeping its findings block). Run it alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
source "$root/tools/common.sh"
target="${1:-60%}"
shift || true
coverage=(resnet18 resnet50 resnext50_32x4d wide_resnet50_2 mobilenet_v2 mobilenet_v3_small efficientnet_b0 densenet121
  shufflenet_v2_x1_0 squeezenet1_1 googlenet mnasnet1_0 regnet_x_400mf regnet_y_400mf vgg11_bn alexnet
  blazeface-front-128 blazeface-back-256 ppocr-mobile-v2-cls)
if [ $# -eq 0 ]; then
  "$root/tools/prepare-test-data.sh"
  /usr/bin/python3 "$root/tools/export_torchvision.py" "$ONNXPRUNE_CACHE/models" wide_resnet50_2 vgg11_bn alexnet >/dev/null
  set -- "${coverage[@]}"
fi
out="$(mktemp -d /tmp/latency-target.XXXXXX)"
trap 'rm -rf "$out"' EXIT
doc="$root/tools/bench/results/latency-target.md"
cli="$root/onnxprune"
"$cli" --help >/dev/null
rows="$out/rows.md"
: > "$rows"
for m in "$@"; do
  path="$ONNXPRUNE_CACHE/models/$m.onnx"
  [ -f "$path" ] || die "no model '$m' in $ONNXPRUNE_CACHE/models (run tools/prepare-test-data.sh)"
  shape=(); [ "$m" = ppocr-mobile-v2-cls ] && shape=(--input-shape x=1x3x48x192)
  echo "== $m" >&2
  start=$(date +%s)
  set +e
  "$cli" "$path" -o "$out/$m.onnx" --target-latency "$target" --threads 2 --report "$out/$m.json" "${shape[@]}" > "$out/$m.txt" 2> "$out/$m.err"
  code=$?
  set -e
  secs=$(( $(date +%s) - start ))
  /usr/bin/python3 - "$m" "$out/$m.json" "$code" "$secs" "$out/$m.err" >> "$rows" <<'PY'
import json, sys, os
m, path, code, secs, err = sys.argv[1:6]
if not os.path.exists(path):
    msg = open(err).read().strip().splitlines()
    print(f"| {m} | {code} | - | - | - | - | - | - | - | {float(secs):.0f} | {(msg[-1] if msg else '')[:160]} |")
    sys.exit()
r = json.load(open(path)); job = r["job"]
b, a = r["before"], r["after"]
kept = [x for x in job["rounds"] if x["accepted"]][-1]
attempts = len(job["rounds"])
pred = kept.get("predicted_ms"); meas = kept.get("measured_ms"); orig = kept.get("original_ms")
err_pct = "-" if pred is None or meas is None else f"{100 * (pred - meas) / meas:+.1f}%"
why = "" if r["target_met"] else (r.get("shortfall") or "")[:160]
print(f"| {m} | {code} | {r['target_met']} | {b['latency_p50_ms']:.3f} | {a['latency_p50_ms']:.3f} | {a['latency_p50_ms'] / b['latency_p50_ms']:.1%} | "
      f"{a['macs'] / b['macs']:.1%} | {'-' if pred is None else f'{pred:.3f}'} ({err_pct}) | {attempts} | {float(secs):.0f} | {why} |")
PY
done
{
  echo "# --target-latency $target on the coverage models"
  echo
  echo "Regenerate: \`tools/bench/latency-target.sh [TARGET] [MODEL...]\` (this file is rewritten; $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load at the end $(cut -d' ' -f1-3 /proc/loadavg))."
  echo
  echo "Each row: \`onnxprune MODEL -o OUT --target-latency $target --threads 2\` (data-free: l1, allocation latency, no recovery, no fine-tuning; batch 1)."
  echo "ms: the job's final measurement, original and result in 5 alternating blocks of 15 runs, one session alive at a time (median of 75 runs each). predicted: the latency model's prediction for the kept"
  echo "round's widths (error against that round's own measurement). prunings: attempts of the round (a miss prunes again tighter, a result far"
  echo "under the goal prunes again looser; the attempt that meets the goal with the least removed is kept). s: wall time of the whole command"
  echo "(latency tables measured on first use and cached in ~/.cache/onnxprune/latency)."
  echo
  echo "| model | exit | met | ms original | ms result | result/original | MACs kept | predicted ms (error) | prunings | s | what stopped it |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$rows"
  echo
  echo "<!-- findings -->"
  if [ -f "$doc" ]; then sed -n '/<!-- findings -->/,$p' "$doc" | tail -n +2; fi
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
cat "$doc"
