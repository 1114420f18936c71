# Shared by the tools/ scripts: the cache folder and small helpers. Source it; do not run it.
ONNXPRUNE_CACHE="${ONNXPRUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxprune}"
export ONNXPRUNE_CACHE
log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
