#!/usr/bin/env bash
# Benchmark (issue 15): the main job on the bundled ResNet-56 (models/resnet56-fmnist.onnx) with
# --data fashion-mnist, 2 threads, batch 1, every accuracy on the 10,000 test images, every latency the
# median of ONNX Runtime runs measured side by side with the original:
#   (a1) --target-latency 50%                         (the README's main job: 1 round, final fine-tune 1 epoch, distilled)
#   (a) --target-latency 50% --rounds 2 --finetune-epochs 1 --final-epochs 2 (3 epochs in all)
#   (a3) --target-latency 50% --final-epochs 3 (1 round; residual branches may go whole), and a3-channels: the same
#        with --no-branch-removal (channels only)
#   (b) --target-flops 50% --final-epochs 1           (distilled, and --no-distill beside it)
#   (b') --target-flops 33% --final-epochs 3 (and b33-lr05: --finetune-lr 0.05; b33-lr03: 0.03; b33-r2: two rounds of
#        one epoch each, the first to 57% of the MACs, then 2 final epochs: 3 in all)
#   (b-folded) (b) on a BN-folded copy of the model (`onnxprune convert --fold-bn`, as exporters fold it; issue 13)
#   (c) --max-accuracy-drop 0 --rounds R --finetune-epochs 1 (adaptive rounds)
#   (speed) --target-flops 50% --target-latency 55%, no fine-tuning: the realised speed-up at half the MACs with
#           the latency model on
#   (speed50) --target-flops 50% --allocation latency, no fine-tuning: half the MACs, the removals priced by the latency
#           they save (residual branches included); (b-latency) the same with 1 fine-tune epoch
# and for each the result's latency measured again, independently (`onnxprune profile`, interleaved).
# Usage: tools/bench/main-job.sh [ROWS]   ROWS: any of "a1 a a3 a3-channels b b-plain b-folded b-latency b33 b33-lr05 b33-r2 b33-lr03 b33-lr03-s1 b33-lr03-s2 c speed speed50" (default: all); each row's
# line is kept in tools/bench/results/main-job/ROW.row, so rows can be rerun one at a time.
# Rewrites docs/main-job.md. Run it alone: the times are wall times on a shared machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist
rows="${1:-a1 a a3 a3-channels b b-plain b-folded b-latency b33 b33-lr05 b33-r2 b33-lr03 b33-lr03-s1 b33-lr03-s2 c speed speed50}"
model="$root/models/resnet56-fmnist.onnx"
out="$(mktemp -d /tmp/main-job.XXXXXX)"
trap 'rm -rf "$out"' EXIT
doc="$root/docs/main-job.md"
py=/usr/bin/python3
cli="$root/onnxprune"
"$cli" --help >/dev/null # build once before anything is timed
"$cli" convert "$model" "$out/folded.onnx" --fold-bn >/dev/null
declare -A args=(
  [a1]="--target-latency 50%"
  [a]="--target-latency 50% --rounds 2 --finetune-epochs 1 --final-epochs 2"
  [a3]="--target-latency 50% --final-epochs 3"
  [a3-channels]="--target-latency 50% --final-epochs 3 --no-branch-removal"
  [b]="--target-flops 50% --final-epochs 1"
  [b-plain]="--target-flops 50% --final-epochs 1 --no-distill"
  [b-folded]="--target-flops 50% --final-epochs 1"
  [b33]="--target-flops 33% --final-epochs 3"
  [b33-lr05]="--target-flops 33% --final-epochs 3 --finetune-lr 0.05"
  [b33-r2]="--target-flops 33% --rounds 2 --finetune-epochs 1 --final-epochs 2"
  [b33-lr03]="--target-flops 33% --final-epochs 3 --finetune-lr 0.03"
  [b33-lr03-s1]="--target-flops 33% --final-epochs 3 --finetune-lr 0.03 --seed 1"
  [b33-lr03-s2]="--target-flops 33% --final-epochs 3 --finetune-lr 0.03 --seed 2"
  [c]="--max-accuracy-drop 0 --rounds 6 --finetune-epochs 1 --final-epochs 0"
  [speed]="--target-flops 50% --target-latency 55% --final-epochs 0"
  [speed50]="--target-flops 50% --allocation latency --final-epochs 0"
  [b-latency]="--target-flops 50% --allocation latency --final-epochs 1"
)
rowdir="$root/tools/bench/results/main-job"
mkdir -p "$rowdir"
for r in $rows; do
  echo "== $r: ${args[$r]}" >&2
  start=$(date +%s)
  set +e
  m="$model"; [ "$r" = b-folded ] && m="$out/folded.onnx"
  "$cli" "$m" -o "$out/$r.onnx" --data fashion-mnist --threads 2 --report "$out/$r.json" ${args[$r]} > "$out/$r.txt" 2> "$out/$r.err"
  code=$?
  set -e
  secs=$(( $(date +%s) - start ))
  # An independent measurement of the written model against the original (interleaved profile runs).
  for i in 1 2 3; do
    "$cli" profile "$m" --threads 2 --batch 1 --runs 200 --warmup 20 --json > "$out/$r-orig-$i.json"
    "$cli" profile "$out/$r.onnx" --threads 2 --batch 1 --runs 200 --warmup 20 --json > "$out/$r-pruned-$i.json"
  done
  "$py" - "$out" "$r" "${args[$r]}$([ "$r" = b-folded ] && echo ' (BN-folded copy)')" "$code" "$secs" > "$rowdir/$r.row" <<'PY'
import json, statistics, sys
out, r, args, code, secs = sys.argv[1:6]
rep = json.load(open(f"{out}/{r}.json"))
job = rep.get("job") or {}
p50 = lambda f: json.load(open(f))["p50_ms"]
orig = statistics.median(p50(f"{out}/{r}-orig-{i}.json") for i in (1, 2, 3))
pruned = statistics.median(p50(f"{out}/{r}-pruned-{i}.json") for i in (1, 2, 3))
b, a = rep["before"], rep["after"]
acc_b, acc_a = job.get("accuracy_before"), job.get("accuracy_after")
fmt = lambda v: "-" if v is None else f"{v:.2f}"
lat_in = f"{b.get('latency_p50_ms', float('nan')):.3f} -> {a.get('latency_p50_ms', float('nan')):.3f}"
rounds = len([x for x in job.get("rounds", []) if x.get("accepted")])
import datetime
print(f"| {r} | `{args}` | {code} | {rep['target_met']} | {fmt(acc_b)} | {fmt(acc_a)} | {fmt(None if acc_a is None else acc_a - acc_b)} | "
      f"{a['macs'] / b['macs']:.3f} | {a['params'] / b['params']:.3f} | {lat_in} | {orig:.3f} -> {pruned:.3f} ({orig / pruned:.2f}x) | "
      f"{job.get('epochs', 0)} | {rounds} | {secs} | {datetime.datetime.utcnow():%m-%d %H:%M} {open('/proc/loadavg').read().split()[0]} |")
PY
  cp "$out/$r.txt" "$rowdir/$r.txt"
  cp "$out/$r.json" "$rowdir/$r.json"
done
{
  echo "# The main job on the bundled ResNet-56 (issue 15 acceptance)"
  echo
  echo "Rerun: \`tools/bench/main-job.sh [ROWS]\` (rows: a1 a a3 a3-channels b b-plain b-folded b-latency b33 b33-lr05 b33-r2 b33-lr03 b33-lr03-s1 b33-lr03-s2 c speed speed50; each row's terminal output and report.json are in tools/bench/results/main-job/). Table assembled $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Every row: \`onnxprune models/resnet56-fmnist.onnx -o OUT --data fashion-mnist --threads 2 ARGS\`. Accuracy: top-1 on the 10,000 test images (ONNX Runtime)."
  echo "\"latency in the run\": the job's own final measurement (5 alternating blocks of 15 runs, one session alive at a time: median of 75 runs each); \"latency, independent\": \`onnxprune profile --runs 200 --threads 2 --batch 1\`, original and result alternated 3 times, median of the p50s."
  echo
  echo "| row | args | exit | target met | top-1 before | top-1 after | drop (points) | MACs kept | params kept | latency in the run (ms) | latency, independent (ms) | fine-tune epochs | rounds kept | wall s | run (UTC, load) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for r in a1 a a3 a3-channels b b-plain b-folded b-latency b33 b33-lr05 b33-r2 b33-lr03 b33-lr03-s1 b33-lr03-s2 c speed speed50; do [ -f "$rowdir/$r.row" ] && cat "$rowdir/$r.row"; done
  echo
  echo "<!-- findings -->"
  if [ -f "$doc" ]; then sed -n '/<!-- findings -->/,$p' "$doc" | tail -n +2; fi
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
cat "$doc"
