#!/usr/bin/env bash
# Prints the path of a usable ONNX Runtime native library (libonnxruntime.so.1) on stdout, and
# nothing else on stdout, so callers can write: lib="$(tools/bootstrap-ort.sh)".
#
# Order of resolution:
#   1. $ONNXPRUNE_ORT_LIBRARY, when set (for example a build with the CUDA execution provider).
#   2. The cache: ${ONNXPRUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxprune}/ort-1.30.0/.
#      A library counts as cached only beside a marker that records the verified hash, so a
#      half-finished earlier run is never mistaken for a good one.
#   3. Otherwise download onnxruntime-node@1.30.0 with `npm pack` (the ORT NuGet packages are not
#      reachable here; the npm package ships the same CPU build), check its SHA-256, extract the
#      one file we need and move it into the cache atomically.
# $ONNXPRUNE_ORT_TARBALL may name an already downloaded onnxruntime-node-1.30.0.tgz to skip npm;
# it is hash-checked like a download.
# Progress and errors go to stderr. Exit status 0 on success, 1 on failure.
set -euo pipefail

readonly ORT_VERSION="1.30.0"
readonly NPM_SPEC="onnxruntime-node@${ORT_VERSION}"
readonly TARBALL_SHA256="6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75"
readonly MEMBER="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
readonly LIB_NAME="libonnxruntime.so.1"
readonly MARKER_NAME="${LIB_NAME}.verified-sha256"

log() { printf 'bootstrap-ort: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -n "${ONNXPRUNE_ORT_LIBRARY:-}" ]]; then
    # An explicit choice that points nowhere is a mistake to report, not to paper over with the
    # CPU download.
    [[ -f "$ONNXPRUNE_ORT_LIBRARY" ]] \
        || die "ONNXPRUNE_ORT_LIBRARY is set to '$ONNXPRUNE_ORT_LIBRARY', which is not a file. Unset it to use the bundled CPU build, or point it at a libonnxruntime.so.1."
    printf '%s\n' "$ONNXPRUNE_ORT_LIBRARY"
    exit 0
fi

cache_root="${ONNXPRUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxprune}"
cache_dir="${cache_root}/ort-${ORT_VERSION}"
lib_path="${cache_dir}/${LIB_NAME}"
marker_path="${cache_dir}/${MARKER_NAME}"

# Fast path: no npm, no hashing of 113 MB.
if [[ -f "$lib_path" && -f "$marker_path" ]] && [[ "$(head -n1 "$marker_path")" == "$TARBALL_SHA256" ]]; then
    printf '%s\n' "$lib_path"
    exit 0
fi

[[ "$(uname -s)" == "Linux" && "$(uname -m)" == "x86_64" ]] \
    || die "only linux-x64 is bundled ($(uname -s)-$(uname -m) here); set ONNXPRUNE_ORT_LIBRARY to a libonnxruntime for this platform."

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else die "neither sha256sum nor shasum is installed; cannot verify the download."
    fi
}

mkdir -p "$cache_dir"
# The work directory lives inside the cache directory so the final `mv` is a rename on one file
# system, which is atomic: readers see either no library or the whole library.
work_dir="$(mktemp -d "${cache_dir}/.download.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

if [[ -n "${ONNXPRUNE_ORT_TARBALL:-}" ]]; then
    [[ -f "$ONNXPRUNE_ORT_TARBALL" ]] || die "ONNXPRUNE_ORT_TARBALL='$ONNXPRUNE_ORT_TARBALL' is not a file."
    tarball="$ONNXPRUNE_ORT_TARBALL"
    log "using local tarball $tarball"
else
    command -v npm >/dev/null 2>&1 \
        || die "npm is not installed; install it, or set ONNXPRUNE_ORT_LIBRARY to an existing libonnxruntime.so.1 (ORT ${ORT_VERSION})."
    log "downloading ${NPM_SPEC} with npm pack (about 113 MB)..."
    # npm pack names the tarball on stdout; that must not reach our stdout.
    (cd "$work_dir" && npm pack --silent "$NPM_SPEC" >&2) \
        || die "npm pack ${NPM_SPEC} failed (is the npm registry reachable?). Alternatively set ONNXPRUNE_ORT_LIBRARY."
    tarball="${work_dir}/onnxruntime-node-${ORT_VERSION}.tgz"
    [[ -f "$tarball" ]] || die "npm pack did not produce ${tarball}."
fi

log "verifying SHA-256..."
actual="$(sha256_of "$tarball")"
if [[ "$actual" != "$TARBALL_SHA256" ]]; then
    die "SHA-256 mismatch for ${NPM_SPEC}: expected ${TARBALL_SHA256}, got ${actual}. The download is corrupt or the package was changed; nothing was installed."
fi

tar -xzf "$tarball" -C "$work_dir" "$MEMBER" \
    || die "the tarball does not contain ${MEMBER}."

# Library first, marker second: the fast path needs both, so a crash in between only costs a
# re-download.
mv -f "${work_dir}/${MEMBER}" "$lib_path"
printf '%s\n' "$TARBALL_SHA256" > "${work_dir}/marker"
mv -f "${work_dir}/marker" "$marker_path"

log "installed ${lib_path}"
printf '%s\n' "$lib_path"
