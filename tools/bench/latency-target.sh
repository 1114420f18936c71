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
source "$here/coverage.sh"
coverage_select "$@"
coverage_run_setup latency-target
for m in "${models[@]}"; do
  coverage_model "$m"
  echo "== $m" >&2
  start=$(date +%s)
  coverage_cli "$m" --target-latency "$target"
  secs=$(( $(date +%s) - start ))
  /usr/bin/python3 - "$m" "$out/$m.json" "$code" "$secs" "$out/$m.err" >> "$rows" <<'PY'
import json, sys, os
m, path, code, secs, err = sys.argv[1:6]
if not os.path.exists(path):
    msg = open(err).read().strip().splitlines()
    print(f"| {m} | {code} | - | - | - | - | - | - | - | - | {float(secs):.0f} | {(msg[-1] if msg else '')[:160]} |")
    sys.exit()
r = json.load(open(path)); job = r["job"]
b, a = r["before"], r["after"]
kept = [x for x in job["rounds"] if x["accepted"]][-1]
attempts = len(job["rounds"])
def error(rnd):
    pred, meas = rnd.get("predicted_ms"), rnd.get("measured_ms")
    return "-" if pred is None or meas is None else f"{pred:.3f} ({100 * (pred - meas) / meas:+.1f}%)"
first = job["rounds"][0]
why = "" if r["target_met"] else (r.get("shortfall") or "")[:160]
print(f"| {m} | {code} | {r['target_met']} | {b['latency_p50_ms']:.3f} | {a['latency_p50_ms']:.3f} | {a['latency_p50_ms'] / b['latency_p50_ms']:.1%} | "
      f"{a['macs'] / b['macs']:.1%} | {error(kept)} | {error(first)} | {attempts} | {float(secs):.0f} | {why} |")
PY
done
{
  coverage_header "--target-latency $target on the coverage models" "tools/bench/latency-target.sh [TARGET] [MODEL...]"
  echo
  echo "Each row: \`onnxprune MODEL -o OUT --target-latency $target --threads 2\` (data-free: l1, allocation latency, no recovery, no fine-tuning; batch 1)."
  echo "ms: the job's final measurement, original and result in 5 alternating blocks of 15 runs, one session alive at a time (median of 75 runs each). predicted (kept): the latency model's prediction for the kept"
  echo "round's widths, made before it was measured (error against that round's own measurement); the model the plan used is corrected by the measurements of the"
  echo "round's earlier attempts, if any. predicted (1st): the first attempt's, from the per-layer tables alone (no measurement of a pruned model yet)."
  echo "prunings: attempts of the round (a miss prunes again tighter, a result far under the goal prunes again looser; the attempt that meets the goal with the least removed is kept). s: wall time of the whole command"
  echo "(latency tables measured on first use and cached in ~/.cache/onnxprune/latency)."
  echo
  echo "| model | exit | met | ms original | ms result | result/original | MACs kept | predicted ms (kept) (error) | predicted ms (1st) (error) | prunings | s | what stopped it |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$rows"
  echo
  /usr/bin/python3 - "$rows" <<'PY'
import re, statistics, sys
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| ")]
def med(col):
    e = [abs(float(m.group(1))) for r in rows if (m := re.search(r"\(([+-][0-9.]+)%\)", r[col]))]
    return f"{statistics.median(e):.1f}% over {len(e)} models" if e else "-"
met = sum(1 for r in rows if r[3].strip() == "True")
print(f"Met on {met} of {len(rows)} models. Median absolute error of the prediction: kept round {med(8)}; first attempt (tables alone) {med(9)}.")
PY
} | coverage_finish
cat "$doc"
