#!/usr/bin/env bash
# Builds the Zed extension (editors/zed) as Zed does: for `wasm32-wasip2`, with rustup's target
# (added when missing), into a target directory outside the repository. Prints the module's path.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage-zed}
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2 >&2
fi
cargo build --quiet --locked --release --target wasm32-wasip2 \
  --manifest-path editors/zed/Cargo.toml --target-dir "$target_dir" >&2
echo "$target_dir/wasm32-wasip2/release/stowage_zed.wasm"
