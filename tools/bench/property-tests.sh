#!/usr/bin/env bash
# The generated-graph property tests at length: CASES random CNNs per generator size (default
# 5000, with up to 3 and up to 7 blocks), from SEED (default: the current time, printed), each
# pruned and checked in ONNX Runtime (exactness, runs, output shapes, cost estimate). Rewrites
# tools/bench/results/property-tests.md with the counts, the constructs and barriers met, and
# every failure with its CsCheck seed. Exits non-zero when a property broke.
#   tools/bench/property-tests.sh [CASES] [SEED]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/seeded-test.sh"
run_seeded_test "property tests" GeneratedGraphPropertyTests ONNXPRUNE_PROPERTY "${1:-5000}" "${2:-$(date +%s)}" "$here/results/property-tests.md"
