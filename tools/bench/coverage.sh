# The coverage models of docs/pruning-coverage.md, shared by the benches that run the CLI on each of them.
# Source it after tools/common.sh with $root set; do not run it.
coverage=(resnet18 resnet50 resnext50_32x4d wide_resnet50_2 mobilenet_v2 mobilenet_v3_small efficientnet_b0 densenet121
  shufflenet_v2_x1_0 squeezenet1_1 googlenet mnasnet1_0 regnet_x_400mf regnet_y_400mf vgg11_bn alexnet
  blazeface-front-128 blazeface-back-256 ppocr-mobile-v2-cls)

# Exports what a run over the whole list needs (the three largest torchvision models, about 1 GB of cache).
coverage_prepare() {
  "$root/tools/prepare-test-data.sh"
  /usr/bin/python3 "$root/tools/export_torchvision.py" "$ONNXPRUNE_CACHE/models" wide_resnet50_2 vgg11_bn alexnet >/dev/null
}

# coverage_select [MODEL...]: sets $models to the names given, or, with none, to the whole coverage list (exported first).
coverage_select() {
  if [ $# -eq 0 ]; then
    coverage_prepare
    models=("${coverage[@]}")
  else
    models=("$@")
  fi
}

# coverage_model NAME: sets $path to the cached model (or the bundled models/NAME.onnx) and $shape to the CLI arguments it
# needs (PP-OCR's input has a dynamic width).
coverage_model() {
  path="$ONNXPRUNE_CACHE/models/$1.onnx"
  [ -f "$path" ] || path="$root/models/$1.onnx"
  [ -f "$path" ] || die "no model '$1' in $ONNXPRUNE_CACHE/models or models/ (run tools/prepare-test-data.sh)"
  shape=(); [ "$1" = ppocr-mobile-v2-cls ] && shape=(--input-shape x=1x3x48x192)
  return 0
}

# coverage_run_setup NAME: what a bench that runs the CLI on each model needs: $out (a scratch folder removed on exit),
# $doc (tools/bench/results/NAME.md), $cli (built now, before anything is timed) and $rows (an empty file in $out).
coverage_run_setup() {
  out="$(mktemp -d "/tmp/$1.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
  doc="$root/tools/bench/results/$1.md"
  cli="$root/onnxprune"
  "$cli" --help >/dev/null
  rows="$out/rows.md"
  : > "$rows"
}

# coverage_cli NAME ARGS...: runs the CLI on the model coverage_model set, writing $out/NAME.onnx and the report
# $out/NAME.json, its output to $out/NAME.txt and .err, with 2 threads and the model's input shape; sets $code to its exit code.
coverage_cli() {
  local name="$1"; shift
  set +e
  "$cli" "$path" -o "$out/$name.onnx" --threads 2 --report "$out/$name.json" "${shape[@]}" "$@" > "$out/$name.txt" 2> "$out/$name.err"
  code=$?
  set -e
}

# coverage_header TITLE COMMAND: the results document's title and its "Regenerate" line (when, and on what machine).
coverage_header() {
  echo "# $1"
  echo
  echo "Regenerate: \`$2\` (this file is rewritten; $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load at the end $(cut -d' ' -f1-3 /proc/loadavg))."
}

# coverage_finish: replaces $doc with the document read from stdin followed by the findings block $doc had (the part
# from its "<!-- findings -->" line on, which a rerun keeps).
coverage_finish() {
  {
    cat
    echo
    echo "<!-- findings -->"
    if [ -f "$doc" ]; then sed -n '/<!-- findings -->/,$p' "$doc" | tail -n +2; fi
  } > "$out/doc.md"
  mv "$out/doc.md" "$doc"
  echo "wrote $doc" >&2
}
