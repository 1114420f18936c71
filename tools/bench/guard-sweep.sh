#!/usr/bin/env bash
# Benchmark: does data-free pruning at mild targets ever write a model slower than the original? At 90% and 70% of
# the MACs a few channels go from many groups, which is where widths ONNX Runtime's blocked kernels handle badly
# (a 12-channel stream between 16-channel layers, widths that are not multiples of 16) cost more than the MACs save.
# The latency guard (src/OnnxPrune.Pruning/Pipeline/LatencyGuardedPruner.cs) times every result against the original
# and prunes a slower one again with coarser widths. Each row: `onnxprune MODEL -o OUT --target-flops T --threads 2`
# on a coverage model (docs/pruning-coverage.md), the job's own side-by-side measurement and what the guard did.
# Usage: tools/bench/guard-sweep.sh [TARGETS] [MODEL...]   TARGETS default "90% 70%". Rewrites
# tools/bench/results/guard-sweep.md (keeping its findings block). Run it alone: it measures latency.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
source "$root/tools/common.sh"
targets="${1:-90% 70%}"
shift || true
source "$here/coverage.sh"
coverage_select "$@"
coverage_run_setup guard-sweep
for m in "${models[@]}"; do
  coverage_model "$m"
  for t in $targets; do
    echo "== $m $t" >&2
    coverage_cli "$m" --target-flops "$t"
    PYTHONPATH="$here" /usr/bin/python3 - "$m" "$t" "$out/$m.json" "$code" "$out/$m.err" >> "$rows" <<'PY'
import sys
from coverage_rows import report_or_failure_row
m, t, path, code, err = sys.argv[1:6]
r = report_or_failure_row([m, t], path, code, err, 7)
b, a = r["before"], r["after"]
guard = [n for n in r["notes"] if "slower than the original" in n]
print(f"| {m} | {t} | {code} | {a['macs'] / b['macs']:.1%} | {a['params'] / b['params']:.1%} | {b['latency_p50_ms']:.3f} | {a['latency_p50_ms']:.3f} | "
      f"{b['latency_p50_ms'] / a['latency_p50_ms']:.2f}x | {r['round_to']} | {len(guard)} | {' / '.join(guard)[:300]} |")
PY
  done
done
{
  coverage_header "Data-free pruning at mild targets: never slower than the original?" "tools/bench/guard-sweep.sh [TARGETS] [MODEL...]"
  echo
  echo "Each row: \`onnxprune MODEL -o OUT --target-flops T --threads 2\` (criterion l1, allocation global, default width rule; batch 1)."
  echo "ms: the job's own measurement of the model it wrote, original and result in 5 alternating blocks of 15 runs (median of 75 each)."
  echo "guard: how many times the latency guard found a result slower than the original and pruned again with coarser widths (its notes in the last column)."
  echo
  echo "| model | target | exit | MACs kept | params kept | ms original | ms result | speed-up | round-to | guard | guard notes |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$rows"
  echo
  /usr/bin/python3 - "$rows" <<'PY'
import sys
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| ")]
done = [r for r in rows if r[8].strip().endswith("x")]
slower = [f"{r[1].strip()} {r[2].strip()}" for r in done if float(r[8].strip()[:-1]) < 1]
acted = sum(1 for r in done if r[10].strip() not in ("", "0"))
print(f"{len(done)} runs; the guard acted in {acted}; written models slower than the original: {len(slower)}" + (f" ({', '.join(slower)})" if slower else "") + ".")
PY
} | coverage_finish
