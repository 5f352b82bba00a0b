#!/usr/bin/env bash
# Builds the stowage binary that is shipped and benchmarked, and prints its path.
#
# - The release profile (LTO, one codegen unit).
# - Profile-guided: a first build, instrumented, checks the fixtures (every output format,
#   `volumes`, `migrate`); the second build is optimised with that profile (9% fewer instructions
#   on 200 corpus files, 0.1 ms less on one file: README, Performance). It needs the toolchain's
#   `llvm-profdata` (`rustup component add llvm-tools`, tried when it is missing); without it, or
#   with STOWAGE_PGO=0, one plain build is made.
# - On Linux with glibc, linked statically and not position-independent: a dynamically linked
#   build spends 0.4 ms of every run in the dynamic loader (mapping libc, libm and libgcc_s,
#   relocating), a third of checking one file. Where the static link is not available (no
#   libc.a), the dynamically linked build is used and a note says so.
#
# - With STOWAGE_WHEEL_DIR set, also the wheel `stowage-compose` in that directory (maturin, on the
#   PATH, from packaging/wheel). maturin makes the one optimised build then, with the same flags and
#   target directory, and the printed binary is the one in the wheel (stripped, as maturin
#   strips it): maturin's `cargo rustc -- -C strip=symbols` is not the same build as
#   `cargo build` to cargo, so building both would link (fat LTO) twice, minutes on two cores.
#
# The flags go to the crates of the target only (`--target`): proc-macros and build scripts run
# on the host and cannot be built with `crt-static`.
set -euo pipefail
cd "$(dirname "$0")/.."

note() { printf 'note: %s\n' "$*" >&2; }

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
host=$(rustc -vV | sed -n 's/^host: //p')
out="$target_dir/$host/release/stowage"

static=()
libc=$(ldd --version 2>&1 || true)
if [ "$(uname -s)" = Linux ] && grep -qiE 'glibc|gnu libc' <<<"$libc"; then
  static=(-C target-feature=+crt-static -C relocation-model=static)
fi

# The profile of the instrumented build's runs over the fixtures, or nothing.
profile=()
if [ "${STOWAGE_PGO:-1}" != 0 ]; then
  profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
  if [ ! -x "$profdata" ] && command -v rustup >/dev/null 2>&1; then
    rustup component add llvm-tools >/dev/null 2>&1 || true
  fi
  if [ -x "$profdata" ]; then
    data="$target_dir/pgo"
    rm -rf "$data/raw" # the instrumented build itself is kept, as any build
    CARGO_ENCODED_RUSTFLAGS="-Cprofile-generate=$data/raw" CARGO_TARGET_DIR="$data/build" \
      cargo build --release --quiet --target "$host" --bin stowage >&2
    trained="$data/build/$host/release/stowage"
    for format in human concise json sarif; do
      "$trained" check --exit-zero --format "$format" fixtures >/dev/null 2>&1 || true
    done
    "$trained" check fixtures/demo >/dev/null 2>&1 || true
    "$trained" volumes fixtures >/dev/null 2>&1 || true
    "$trained" migrate fixtures >/dev/null 2>&1 || true
    "$profdata" merge -o "$data/merged.profdata" "$data/raw"
    profile=(-C "profile-use=$data/merged.profdata")
  else
    note "no llvm-profdata (rustup component add llvm-tools): building without a profile"
  fi
fi

if [ -n "${STOWAGE_WHEEL_DIR:-}" ] && ! command -v maturin >/dev/null; then
  echo "STOWAGE_WHEEL_DIR is set but maturin is not on the PATH (pip install maturin)" >&2
  exit 1
fi

build() { # rustc flags…
  local IFS=$'\x1f' # CARGO_ENCODED_RUSTFLAGS: paths with spaces stay whole
  if [ -z "${STOWAGE_WHEEL_DIR:-}" ]; then
    CARGO_ENCODED_RUSTFLAGS="$*" cargo build --release --quiet --target "$host" --bin stowage >&2
    return
  fi
  # A static binary needs no manylinux check (it links nothing); `--compatibility linux` where
  # the build is not static keeps maturin from refusing the host's glibc.
  local compat=()
  [ ${#static[@]} -gt 0 ] || compat=(--compatibility linux)
  (cd packaging/wheel && CARGO_ENCODED_RUSTFLAGS="$*" maturin build --release --quiet \
    --target "$host" "${compat[@]}" --out "$STOWAGE_WHEEL_DIR") >&2
}
if ! build "${profile[@]}" "${static[@]}"; then
  [ ${#static[@]} -gt 0 ] || exit 1
  note "static link failed (is libc.a installed?); using a dynamically linked build"
  build "${profile[@]}"
fi
echo "$out"
