#!/usr/bin/env bash
# Benchmark (issue 14): CIE's sensitivity grid and the pqi/cie allocations on the bundled ResNet-56.
#  1. The grid (9 ratios, 512 held-out images, base criterion l1) computed alone (`--shard 1/1`) on an empty cache with
#     1 worker (--threads 1) and with 2 workers (--threads 2, one intra-op thread each): the speed-up; then again on the
#     filled cache: its time against the first run's (target: under 5%).
#  2. pqi and cie rows beside global (same base criterion l1) at --target-flops 50%: top-1 on the 10,000 test images
#     right after pruning without recovery and with the refit, and the run's wall time.
# Usage: tools/bench/policies.sh [HELD_OUT_IMAGES] [PQI_ETA]   (defaults 512 and 0.1)
# Rewrites tools/bench/results/policies.md. Run it alone: the times are wall times on a shared machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/tools/ensure-apt.sh" dataset-fashion-mnist
held="${1:-512}"
eta="${2:-0.1}"
model="$root/models/resnet56-fmnist.onnx"
out="$(mktemp -d /tmp/policies.XXXXXX)"
trap 'rm -rf "$out"' EXIT
doc="$here/results/policies.md"
py=/usr/bin/python3
cli="$root/onnxprune"
now() { date +%s.%N; }
since() { "$py" -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }
accuracy() { "$cli" evaluate "$1" --data fashion-mnist --json | "$py" -c 'import json,sys; print("%.2f" % (100*json.load(sys.stdin)["accuracy"]))'; }
field() { "$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
grid=(--allocation cie --criterion l1 --data fashion-mnist --cie-images "$held" --cie-grid 0.1:0.9:0.1 --target-flops 50% --skip-latency)

grid_run() { # cache threads -> seconds
  local t; t="$(now)"
  "$cli" "$model" -o "$out/unused.onnx" "${grid[@]}" --cie-cache "$1" --threads "$2" --cie-workers "$2" --shard 1/1 > "$out/grid-$2.log" 2>&1
  since "$t"
}
one="$(grid_run "$out/cache1" 1)"
two="$(grid_run "$out/cache2" 2)"
cached="$(grid_run "$out/cache2" 2)"
cells="$(grep -o 'of [0-9]* in the grid' "$out/grid-2.log" | grep -o '[0-9]*')"

row() { # allocation recover extra... -> "| ... |"
  local a="$1" recover="$2"; shift 2
  local name="$a-$recover" t; t="$(now)"
  "$cli" "$model" -o "$out/$name.onnx" --target-flops 50% --criterion l1 --allocation "$a" --skip-latency --data fashion-mnist \
    --recover "$recover" --report "$out/$name.json" "$@" > "$out/$name.log" 2>&1 || true
  local secs; secs="$(since "$t")"
  echo "$(accuracy "$out/$name.onnx") $(field "$out/$name.json" '"%.1f%%" % (100.0*r["after"]["macs"]/r["before"]["macs"])') $secs"
}
table_row() { # label allocation extra...
  local label="$1" a="$2"; shift 2
  read -r none macs tnone < <(row "$a" none "$@")
  read -r refit _ trefit < <(row "$a" refit "$@")
  echo "| $label | $macs | $none | $refit | $tnone | $trefit |"
}
rows="$(table_row "global" global
table_row "cie (grid from the cache)" cie --cie-images "$held" --cie-cache "$out/cache2"
table_row "pqi (eta $eta, per layer, --round-to 4)" pqi --pqi-eta "$eta" --round-to 4)"

{
  echo "# Policies: CIE's grid and the pqi/cie allocations (tools/bench/policies.sh)"
  echo
  echo "Machine: $(nproc) cores, $(date -u +%Y-%m-%d). Model: models/resnet56-fmnist.onnx. Base criterion l1 everywhere."
  echo
  echo "## The sensitivity grid: $cells cells (9 ratios x the prunable groups), $held held-out images each"
  echo
  echo "| run | seconds |"
  echo "|---|---|"
  echo "| 1 worker, 1 thread, empty cache | $one |"
  echo "| 2 workers, 1 thread each, empty cache | $two |"
  echo "| the same again, cache filled | $cached |"
  echo
  echo "Speed-up of 2 workers: $("$py" -c "print('%.2fx' % ($one/$two))"). The cached run takes $("$py" -c "print('%.1f%%' % (100*$cached/$two))") of the first (target: under 5%); it still loads the model and the data."
  echo
  echo "## At --target-flops 50%: top-1 on the 10,000 test images right after pruning"
  echo
  echo "| allocation | MACs kept | top-1 % no recovery | top-1 % refit | wall s (none) | wall s (refit) |"
  echo "|---|---|---|---|---|---|"
  echo "$rows"
  echo
  echo "The pqi rows evaluate the test split after every iteration (that is in their wall time); cie's wall time reads the"
  echo "grid from the cache filled above (its held-out images are split off the calibration data, so the criterion and the"
  echo "refit see $held fewer images than global's)."
} > "$doc"
cat "$doc"
