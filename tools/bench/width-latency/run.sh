#!/usr/bin/env bash
# Benchmark: which channel widths ONNX Runtime runs fast on this machine (CPU, batch 1, 2 threads).
#
# Exports (export_variants.py, Debian's torch) CIFAR-style ResNet-56 variants for a 1x28x28 input
# and single 3x3 conv layers (Cin = Cout = c) on 28x28, 14x14 and 7x7 (and stacks of 4 of them on
# 14x14 and 7x7), measures each one with
#   onnxprune profile MODEL --threads 2 --batch 1 --runs RUNS --warmup 20 --json   (p50_ms, mean_ms)
# and the ResNets' MACs with `onnxprune inspect MODEL --json` (macs), interleaving the variants
# (A B C ... then again, alternating forward and reverse order) so that load from other processes
# hits all of them alike, and writes tools/bench/results/width-latency.md (medians over repeats).
#
# Usage: tools/bench/width-latency/run.sh [--repeats R] [--conv-repeats R] [--runs N] [--quick]
#   --repeats       interleaved repeats of the ResNet-56 variants (default 7)
#   --conv-repeats  interleaved repeats of the single convs (default 3)
#   --runs          timed runs per measurement (default 300)
#   --quick         a few variants, 2 repeats: only to check that the script works; its numbers are
#                   too noisy to conclude anything (it writes to /tmp, not the results file)
# Models go to $ONNXPRUNE_CACHE/width-latency/ (default ~/.cache/onnxprune/width-latency/), the raw
# measurements beside them (raw-*.tsv). The CLI is built once (under /tmp/onnxprune-build.lock) and
# run from a private copy, so source edits made by others during the run neither rebuild it nor
# change what is measured. A hand-written block between <!-- conclusion --> and
# <!-- /conclusion --> in the results file survives a rerun (re-check it against the new numbers).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
source "$root/tools/common.sh"

repeats=7 conv_repeats=3 runs=300 quick=0
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats="$2"; shift 2 ;;
    --conv-repeats) conv_repeats="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done

py=/usr/bin/python3
models="$ONNXPRUNE_CACHE/width-latency"
mkdir -p "$models"
out="$root/tools/bench/results/width-latency.md"

# Stage widths of the ResNet-56 variants: the original, what a uniform 30% prune gives (11/22/45),
# and roundings of uniform prunes to multiples of 2, 4, 8 and 16.
resnets=(16/32/64 11/22/45 12/22/44 12/24/44 12/24/48 14/28/56 10/20/40 16/32/48 16/24/48 8/24/48
         16/16/48 16/16/32 8/16/32 12/20/40 8/16/48 16/32/32 8/8/16 4/8/16)
# Single 3x3 convs: SPATIAL FIRST:LAST:STEP; and stacks of 4 (layout reorders amortized).
convs=(28 4:72:2 14 4:72:1 7 4:72:2)
stacks=(14 4:72:2 7 4:72:2)
if [ "$quick" = 1 ]; then
  resnets=(16/32/64 11/22/45 16/16/32)
  convs=(14 14:18:2)
  stacks=(7 14:18:2)
  repeats=2 conv_repeats=2 runs=50
  out="/tmp/width-latency-quick.md"
fi

log "exporting models into $models"
"$py" "$here/export_variants.py" resnet56 "$models" "${resnets[@]}" >/dev/null
{ "$py" "$here/export_variants.py" conv "$models" "${convs[@]}"
  "$py" "$here/export_variants.py" conv "$models" --depth 4 "${stacks[@]}"; } >"$models/.convs"
mapfile -t conv_paths <"$models/.convs"

# $WIDTH_LATENCY_CLI may name a folder holding an already built onnxprune.dll to use instead.
src="${WIDTH_LATENCY_CLI:-$root/artifacts/cli}"
if [ -z "${WIDTH_LATENCY_CLI:-}" ]; then
  log "building the CLI (once) and copying it"
  if ! (cd "$root" && flock /tmp/onnxprune-build.lock ./onnxprune --help >/dev/null 2>"$models/.build.err"); then
    [ -f "$src/onnxprune.dll" ] || die "the CLI does not build and no earlier build exists; see $models/.build.err"
    log "warning: the CLI does not build now (sources being edited?); measuring with the last build in $src"
  fi
fi
cli="$(mktemp -d /tmp/width-latency-cli.XXXXXX)"
trap 'rm -rf "$cli"' EXIT
flock /tmp/onnxprune-build.lock cp -r "$src/." "$cli/"
onnxprune() { dotnet "$cli/onnxprune.dll" "$@"; }

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
raw="$models/raw-$stamp.tsv"
[ "$quick" = 1 ] && raw="/tmp/width-latency-quick-raw.tsv"
printf 'kind\tname\trepeat\tp50_ms\tmean_ms\tmacs\tkernels\tnon_reorder_ms\n' >"$raw"

# One measurement: appends a line to $raw.
measure() { # kind name path repeat macs
  local json
  json="$(onnxprune profile "$3" --threads 2 --batch 1 --runs "$runs" --warmup 20 --json 2>/dev/null)" \
    || die "profile failed for $3"
  printf '%s' "$json" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
kernels = ",".join(o["op_type"] + ":" + str(o["nodes"]) for o in d["op_types"])
# time of every op but the layout reorders, from ORT'"'"'s profiler (its own session, 20 runs)
rest = sum(o["ms_per_run"] for o in d["op_types"] if not o["op_type"].startswith("Reorder"))
print("\t".join([sys.argv[1], sys.argv[2], sys.argv[3], repr(d["p50_ms"]), repr(d["mean_ms"]), sys.argv[4], kernels, repr(rest)]))
' "$1" "$2" "$4" "$5" >>"$raw"
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
t0=$SECONDS

declare -A macs
for w in "${resnets[@]}"; do
  p="$models/resnet56_${w//\//-}.onnx"
  macs[$w]="$(onnxprune inspect "$p" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["macs"])')"
done

log "ResNet-56 variants: ${#resnets[@]} x $repeats repeats"
for ((r = 1; r <= repeats; r++)); do
  order=("${resnets[@]}")
  if ((r % 2 == 0)); then for ((i = ${#resnets[@]} - 1, j = 0; i >= 0; i--, j++)); do order[j]="${resnets[i]}"; done; fi
  for w in "${order[@]}"; do measure resnet56 "$w" "$models/resnet56_${w//\//-}.onnx" "$r" "${macs[$w]}"; done
  log "  repeat $r done ($((SECONDS - t0)) s)"
done

log "3x3 convs (single and stacks): ${#conv_paths[@]} x $conv_repeats repeats"
for ((r = 1; r <= conv_repeats; r++)); do
  order=("${conv_paths[@]}")
  if ((r % 2 == 0)); then for ((i = ${#conv_paths[@]} - 1, j = 0; i >= 0; i--, j++)); do order[j]="${conv_paths[i]}"; done; fi
  for p in "${order[@]}"; do
    b="$(basename "$p" .onnx)"; d=1
    if [[ "$b" =~ _d([0-9]+)_ ]]; then d="${BASH_REMATCH[1]}"; fi
    s="${b##*_s}"; s="${s%%_*}"; c="${b##*_c}"
    measure conv "d$d/s$s/c$c" "$p" "$r" $((d * c * c * 9 * s * s))
  done
  log "  repeat $r done ($((SECONDS - t0)) s)"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

cmd="tools/bench/width-latency/run.sh${args[*]:+ ${args[*]}}"
"$py" "$here/report.py" "$raw" "$out" --command "$cmd" --runs "$runs" \
  --load "$load_before -> $load_after" --seconds "$((SECONDS - t0))" \
  --ort "$(onnxprune devices --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["onnx_runtime_version"])')"
log "wrote $out (raw data: $raw)"
