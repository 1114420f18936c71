#!/usr/bin/env bash
# The generated-graph property tests at length: CASES random CNNs per generator size (default
# 5000, with up to 3 and up to 7 blocks), from SEED (default: the current time, printed), each
# pruned and checked in ONNX Runtime (exactness, runs, output shapes, cost estimate). Rewrites
# tools/bench/results/property-tests.md with the counts, the constructs and barriers met, and
# every failure with its CsCheck seed. Exits non-zero when a property broke.
#   tools/bench/property-tests.sh [CASES] [SEED]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
cases="${1:-5000}"
seed="${2:-$(date +%s)}"
results="$root/tools/bench/results/property-tests.md"
echo "property tests: $cases cases per generator, seed $seed" >&2
rm -f "$results"
start=$(date +%s)
status=0
ONNXPRUNE_PROPERTY_CASES="$cases" ONNXPRUNE_PROPERTY_SEED="$seed" ONNXPRUNE_PROPERTY_REPORT="$results" \
  "$root/tools/test.sh" --filter "FullyQualifiedName~GeneratedGraphPropertyTests" || status=$?
printf '\nWall time of the run (build and test start included): %s s, on %s (%s cores).\n' \
  "$(( $(date +%s) - start ))" "$(uname -m)" "$(nproc)" >> "$results"
echo "results: $results" >&2
exit "$status"
