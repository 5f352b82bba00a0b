#!/usr/bin/env bash
# The steps of action.yml (the GitHub Action), one per argument, so that CI can run them outside
# GitHub: .ci/run points STOWAGE_RELEASES at a directory holding an archive of the binary it built.
#
#   install   downloads stowage-compose-<target>.tar.xz (.zip on Windows) of STOWAGE_VERSION from
#             STOWAGE_RELEASES/v<version>/, checks its .sha256, puts `stowage` on GITHUB_PATH
#   check     `stowage check --format sarif` of STOWAGE_PATHS into stowage.sarif; outputs `sarif`
#             (its path) and `exit-code` (what a failing run would exit with) to GITHUB_OUTPUT
#   annotate  `stowage check --format github`: the findings as annotations
#   verdict   exits with the `exit-code` of `check` (STOWAGE_EXIT)
set -euo pipefail
: "${GITHUB_OUTPUT:=/dev/null}" "${GITHUB_PATH:=/dev/null}"
read -r -a paths <<<"${STOWAGE_PATHS:-.}"
read -r -a extra <<<"${STOWAGE_ARGS:-}"

case "${1:-}" in
install)
  version=${STOWAGE_VERSION:?STOWAGE_VERSION}
  case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  MINGW*-x86_64 | MSYS*-x86_64 | CYGWIN*-x86_64) target=x86_64-pc-windows-msvc ;;
  MINGW*-aarch64 | MSYS*-aarch64 | MINGW*-arm64) target=aarch64-pc-windows-msvc ;;
  *) echo "::error::stowage: no pre-built binary for $(uname -s) $(uname -m)"; exit 1 ;;
  esac
  ext=tar.xz
  case "$target" in *windows*) ext=zip ;; esac
  archive="stowage-compose-$target.$ext"
  dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/stowage-$version"
  mkdir -p "$dir"
  url="${STOWAGE_RELEASES:?STOWAGE_RELEASES}/v$version/$archive"
  curl --fail --silent --show-error --location --retry 3 -o "$dir/$archive" "$url"
  curl --fail --silent --show-error --location --retry 3 -o "$dir/$archive.sha256" "$url.sha256"
  (cd "$dir" && sha256sum -c --status "$archive.sha256") ||
    { echo "::error::stowage: $archive does not match its .sha256"; exit 1; }
  case "$ext" in
  zip) unzip -q -o "$dir/$archive" -d "$dir" ;;
  *) tar -xJf "$dir/$archive" -C "$dir" ;;
  esac
  bin=$(find "$dir" -type f \( -name stowage -o -name stowage.exe \) | head -n 1)
  [ -n "$bin" ] || { echo "::error::stowage: no binary in $archive"; exit 1; }
  chmod +x "$bin"
  dirname "$bin" >>"$GITHUB_PATH"
  "$bin" --version
  ;;
check)
  sarif="$PWD/stowage.sarif"
  code=0
  stowage check --format sarif --fail-on "${STOWAGE_FAIL_ON:-warning}" "${extra[@]}" -- "${paths[@]}" >"$sarif" || code=$?
  echo "sarif=$sarif" >>"$GITHUB_OUTPUT"
  echo "exit-code=$code" >>"$GITHUB_OUTPUT"
  # 2: stowage could not do its whole job (the SARIF says what, as a notification).
  [ "$code" != 2 ] || echo "::error::stowage could not check everything (exit 2): see the log of the next step"
  ;;
annotate)
  stowage check --format github --exit-zero "${extra[@]}" -- "${paths[@]}"
  ;;
verdict)
  exit "${STOWAGE_EXIT:-0}"
  ;;
*)
  echo "usage: $0 install|check|annotate|verdict" >&2
  exit 2
  ;;
esac
