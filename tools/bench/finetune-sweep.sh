#!/usr/bin/env bash
# Benchmark (issues 13 and 15 (b)): which fine-tuning settings bring the bundled ResNet-56
# (models/resnet56-fmnist.onnx, 93.30% top-1), pruned to 50% MACs with the refit recovery, back to
# its accuracy in ONE epoch. Every row: a pruned+refit starting point
#   onnxprune models/resnet56-fmnist.onnx -o START --target-flops FLOPS --criterion C --allocation A --data fashion-mnist --skip-latency
# then
#   onnxprune finetune START --data fashion-mnist --threads 2 --json -o OUT ARGS
# and the top-1 on the 10,000 test images that finetune measures before and after.
# Usage: tools/bench/finetune-sweep.sh [ROWS]   (default: every row; about 5-8 min a row on 2 shared cores)
# Each row's line is kept in tools/bench/results/finetune-sweep/ROW.row (its JSON beside it), so rows can be
# rerun one at a time; docs/finetune-sweep.md is rewritten from them, its findings block kept.
# Run it alone (one row at a time); accuracy does not depend on load, the seconds do.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/tools/ensure-apt.sh" dataset-fashion-mnist
model="$root/models/resnet56-fmnist.onnx"
cli="$root/onnxprune"
scratch="${FINETUNE_SWEEP_SCRATCH:-/tmp/finetune-sweep}" # starting points are kept here between runs
mkdir -p "$scratch"
rowdir="$root/tools/bench/results/finetune-sweep"
mkdir -p "$rowdir"
doc="$root/docs/finetune-sweep.md"
py=/usr/bin/python3
"$cli" --help >/dev/null # build once before anything runs

# Starting points: NAME -> "FLOPS CRITERION ALLOCATION".
declare -A starts=(
  [act-global]="50% activation global"
  [fpgm-uniform]="50% fpgm uniform"
  [l2-uniform]="50% l2 uniform"
  [act-global-33]="33% activation global"
  [fpgm-uniform-33]="33% fpgm uniform"
)
T="--teacher $model"
# Rows: ID -> "START|EPOCHS|finetune ARGS" (the order below is the table's order).
order=()
declare -A rows
row() { order+=("$1"); rows[$1]="$2"; }
row base            "act-global|1|--augment none --lr 0.01 $T"
row plain           "act-global|1|--augment none --lr 0.01"
row lr005           "act-global|1|--augment none --lr 0.005 $T"
row lr02            "act-global|1|--augment none --lr 0.02 $T"
row w09             "act-global|1|--augment none --lr 0.01 $T --distill-weight 0.9"
row t2              "act-global|1|--augment none --lr 0.01 $T --distill-temperature 2"
row flip            "act-global|1|--augment flip --lr 0.01 $T"
row crop2flip       "act-global|1|--augment crop-flip --crop-padding 2 --lr 0.01 $T"
row bs64            "act-global|1|--augment none --lr 0.01 --batch-size 64 $T"
row fpgm            "fpgm-uniform|1|--augment none --lr 0.01 $T"
row l2              "l2-uniform|1|--augment none --lr 0.01 $T"
row fpgm-lr02       "fpgm-uniform|1|--augment none --lr 0.02 $T"
row lr02-s1         "act-global|1|--augment none --lr 0.02 --seed 1 $T"
row lr02-s2         "act-global|1|--augment none --lr 0.02 --seed 2 $T"
row lr03            "act-global|1|--augment none --lr 0.03 $T"
row lr05            "act-global|1|--augment none --lr 0.05 $T"
row nest02          "act-global|1|--augment none --lr 0.02 --nesterov $T"
row cf02            "act-global|1|--augment crop-flip --crop-padding 2 --lr 0.02 $T"
row e3-lr02         "act-global|3|--augment none --lr 0.02 $T"
row bs64-lr02       "act-global|1|--augment none --lr 0.02 --batch-size 64 $T"
row t2-lr02         "act-global|1|--augment none --lr 0.02 --distill-temperature 2 $T"
row bs32-lr01       "act-global|1|--augment none --lr 0.01 --batch-size 32 $T"

ids="${1:-${order[*]}}"
start_model() {
  local name="$1" spec flops crit alloc
  spec="${starts[$name]}"; read -r flops crit alloc <<< "$spec"
  local out="$scratch/start-$name.onnx"
  if [ ! -f "$out" ]; then
    echo "== starting point $name: --target-flops $flops --criterion $crit --allocation $alloc" >&2
    "$cli" "$model" -o "$out.tmp.onnx" --target-flops "$flops" --criterion "$crit" --allocation "$alloc" \
      --data fashion-mnist --skip-latency --threads 2 > "$scratch/start-$name.txt" 2>&1
    mv "$out.tmp.onnx" "$out"
  fi
  echo "$out"
}
for id in $ids; do
  spec="${rows[$id]:?unknown row $id (rows: ${order[*]})}"
  IFS='|' read -r start epochs args <<< "$spec"
  src="$(start_model "$start")"
  echo "== $id: $start, $epochs epoch(s), $args" >&2
  begin=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  "$cli" finetune "$src" --data fashion-mnist --threads 2 --epochs "$epochs" --json -o "$scratch/$id.onnx" $args \
    > "$rowdir/$id.json" 2> "$scratch/$id.err"
  code=$?
  set -e
  secs=$(( $(date +%s) - begin ))
  shown_args="${args//$model/models/resnet56-fmnist.onnx}"
  "$py" - "$rowdir/$id.json" "$id" "$start (${starts[$start]})" "$epochs" "$shown_args" "$code" "$secs" > "$rowdir/$id.row" <<'PY'
import datetime, json, sys
path, rid, start, epochs, args, code, secs = sys.argv[1:8]
try:
    r = json.load(open(path))
    before, after = f"{r['test_accuracy_before'] * 100:.2f}", f"{r['test_accuracy'] * 100:.2f}"
except (ValueError, KeyError):
    before = after = "-"
print(f"| {rid} | {start} | {epochs} | `{args}` | {code} | {before} | {after} | {secs} | "
      f"{datetime.datetime.now(datetime.timezone.utc):%m-%d %H:%M} {open('/proc/loadavg').read().split()[0]} |")
PY
  cat "$rowdir/$id.row" >&2
done
{
  echo "# Fine-tuning sweep: one epoch after pruning the bundled ResNet-56 to 50% MACs"
  echo
  echo "Rerun: \`tools/bench/finetune-sweep.sh [ROWS]\` (rows: ${order[*]}; each row's line and finetune's JSON are in tools/bench/results/finetune-sweep/). Table assembled $(date -u '+%Y-%m-%d %H:%M UTC') on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical CPUs."
  echo
  echo "Starting point: \`onnxprune models/resnet56-fmnist.onnx -o START --target-flops FLOPS --criterion C --allocation A --data fashion-mnist --skip-latency\` (refit recovery on 1,024 calibration images, the default with --data)."
  echo "Every row: \`onnxprune finetune START --data fashion-mnist --threads 2 --epochs E -o OUT ARGS\` (SGD momentum 0.9, weight decay 5e-4, cosine to 0, batch 128, seed 0 unless ARGS say otherwise); top-1 on the 10,000 test images before and after. The original: 93.30%."
  echo "A 10,000-image test set has a standard error of about 0.25 points at 93%: single-seed differences smaller than about 0.35 points are not evidence."
  echo
  echo "| row | start | epochs | finetune args | exit | top-1 before | top-1 after | wall s | run (UTC, load) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for id in "${order[@]}"; do [ -f "$rowdir/$id.row" ] && cat "$rowdir/$id.row"; done
  echo
  echo "<!-- findings -->"
  if [ -f "$doc" ]; then sed -n '/<!-- findings -->/,$p' "$doc" | tail -n +2; fi
} > "$doc.tmp"
mv "$doc.tmp" "$doc"
