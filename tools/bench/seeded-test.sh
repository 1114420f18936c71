# Shared by the seeded long runs (property-tests.sh, fuzz.sh): runs the tests matching FILTER with
# PREFIX_CASES, PREFIX_SEED and PREFIX_REPORT set, the report rewritten, and the wall time appended.
#   run_seeded_test NAME FILTER PREFIX CASES SEED RESULTS
run_seeded_test() {
  local name="$1" filter="$2" prefix="$3" cases="$4" seed="$5" results="$6"
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  echo "$name: $cases cases, seed $seed" >&2
  rm -f "$results"
  local start; start=$(date +%s)
  local status=0
  env "${prefix}_CASES=$cases" "${prefix}_SEED=$seed" "${prefix}_REPORT=$results" \
    "$root/tools/test.sh" --filter "FullyQualifiedName~$filter" || status=$?
  printf '\nWall time of the run (build and test start included): %s s, on %s (%s cores).\n' \
    "$(( $(date +%s) - start ))" "$(uname -m)" "$(nproc)" >> "$results"
  echo "results: $results (seed $seed)" >&2
  return "$status"
}
