#!/usr/bin/env bash
# Loader fuzzing at length: CASES mutated models (default 5000) from SEED (default: the current
# time, printed), each through inspect, convert and prune in-process (LoaderFuzzTests). Rewrites
# tools/bench/results/fuzz.md with the outcomes by mutation kind and by command, the time, and
# every failure. Exits non-zero when a run broke the contract. A failing case replays from
# (SEED, case number); ONNXPRUNE_FUZZ_KEEP=DIR keeps its files.
#   tools/bench/fuzz.sh [CASES] [SEED]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/seeded-test.sh"
run_seeded_test "loader fuzzing" LoaderFuzzTests ONNXPRUNE_FUZZ "${1:-5000}" "${2:-$(date +%s)}" "$here/results/fuzz.md"
