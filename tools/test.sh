#!/usr/bin/env bash
# The test command: prepares what the tests need (first run only), then runs every test.
# Extra arguments go to `dotnet test` (for example --filter Runtime).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/prepare-test-data.sh"
cd "$here/.."
exec dotnet test OnnxPrune.sln --nologo "$@"
