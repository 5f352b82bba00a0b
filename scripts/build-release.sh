#!/usr/bin/env bash
# Builds the stowage binary that is shipped and benchmarked, and prints its path.
#
# The release profile (LTO, one codegen unit). On Linux with glibc the executable is also linked
# statically and not position-independent: a dynamically linked build spends 0.4 ms of every run
# in the dynamic loader (mapping libc, libm and libgcc_s, relocating), a third of checking one
# file (README, Performance). Only the final link changes, so `cargo rustc` passes the flags to
# the binary alone (proc-macro dependencies cannot be built with `crt-static`). Where the static
# link is not available (no libc.a), the plain release build is used and a note says so.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-$PWD/target}
libc=$(ldd --version 2>&1 || true)
if [ "$(uname -s)" = Linux ] && grep -qiE 'glibc|gnu libc' <<<"$libc"; then
  if cargo rustc --release --quiet --bin stowage -- \
    -C target-feature=+crt-static -C relocation-model=static >&2; then
    echo "$target/release/stowage"
    exit 0
  fi
  echo "note: static link failed (is libc.a installed?); using a dynamically linked build" >&2
fi
cargo build --release --quiet --bin stowage >&2
echo "$target/release/stowage"
