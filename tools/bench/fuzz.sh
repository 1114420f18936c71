#!/usr/bin/env bash
# Loader fuzzing at length: CASES mutated models (default 5000) from SEED (default: the current
# time, printed), each through inspect, convert and prune in-process (LoaderFuzzTests). Rewrites
# tools/bench/results/fuzz.md with the outcomes by mutation kind and by command, the time, and
# every failure. Exits non-zero when a run broke the contract. A failing case replays from
# (SEED, case number); ONNXPRUNE_FUZZ_KEEP=DIR keeps its files.
#   tools/bench/fuzz.sh [CASES] [SEED]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
cases="${1:-5000}"
seed="${2:-$(date +%s)}"
results="$root/tools/bench/results/fuzz.md"
echo "loader fuzzing: $cases cases, seed $seed" >&2
rm -f "$results"
start=$(date +%s)
status=0
ONNXPRUNE_FUZZ_CASES="$cases" ONNXPRUNE_FUZZ_SEED="$seed" ONNXPRUNE_FUZZ_REPORT="$results" \
  "$root/tools/test.sh" --filter "FullyQualifiedName~LoaderFuzzTests" || status=$?
printf '\nWall time of the run (build and test start included): %s s, on %s (%s cores, run with nice -n 10 beside other work).\n' \
  "$(( $(date +%s) - start ))" "$(uname -m)" "$(nproc)" >> "$results"
echo "results: $results (seed $seed)" >&2
exit "$status"
