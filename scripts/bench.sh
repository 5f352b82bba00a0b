#!/usr/bin/env bash
# Whole-process benchmarks of stowage against the tools it is compared with (issue 6), timed with
# hyperfine side by side in one run; prints each ratio next to its target.
#
#   scripts/bench.sh                  build release, run everything that is installed
#   scripts/bench.sh --install-peers  first install dclint (npm) and compose-lint (pip) into
#                                     $STOWAGE_PEERS (default ~/.cache/stowage-peers)
#   scripts/bench.sh --against REV    also build the commit REV as it built itself (its own
#                                     scripts/build-release.sh, in a temporary worktree) and time
#                                     both on each case in alternating rounds: each case prints
#                                     the change from REV and whether it is within 5%. Ratios
#                                     from two runs of the script move by more than that.
#
# Environment: STOWAGE_CORPUS (default ../shared/corpus/files), STOWAGE_PEERS, COMPOSE (the
# reference CLI; default: what ../shared/oracle/install.sh prints), BENCH_RUNS (default 20).
# A missing peer is skipped with a note. Needs hyperfine and GNU time (`apt-get install
# hyperfine time`; the script installs them when it runs as root with apt-get).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
corpus=${STOWAGE_CORPUS:-$root/../shared/corpus/files}
peers=${STOWAGE_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage-peers}
runs=${BENCH_RUNS:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/stowage-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

note() { printf '%s\n' "$*" >&2; }

need_tool() { # command, Debian package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing $2 …"
    apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; } || true
  fi
  command -v "$1" >/dev/null 2>&1
}
need_tool hyperfine hyperfine || { note "hyperfine is required (apt-get install hyperfine)"; exit 1; }
[ -x /usr/bin/time ] || need_tool /usr/bin/time time || note "note: GNU time missing: no peak memory"

against=""
install_peers=""
while [ $# -gt 0 ]; do
  case $1 in
    --install-peers) install_peers=1 ;;
    --against)
      [ $# -ge 2 ] || { note "--against needs a commit"; exit 2; }
      against=$2
      shift
      ;;
    *) note "unknown argument: $1 (see the top of $0)"; exit 2 ;;
  esac
  shift
done

if [ -n "$install_peers" ]; then
  mkdir -p "$peers"
  (cd "$peers" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent dclint >/dev/null) \
    || note "note: could not install dclint"
  { [ -x "$peers/venv/bin/python" ] || python3 -m venv "$peers/venv"; } \
    && "$peers/venv/bin/pip" install --quiet --disable-pip-version-check compose-lint \
    || note "note: could not install compose-lint"
fi

note "building stowage (scripts/build-release.sh: the binary that is shipped) …"
stowage=$("$root/scripts/build-release.sh")

# The baseline: REV's own build script in a worktree of it, with a target directory of its own
# that is kept (the next run against the same dependencies builds only the crate).
baseline=""
if [ -n "$against" ]; then
  rev=$(git -C "$root" rev-parse --verify --quiet "$against^{commit}") ||
    { note "--against: no commit $against"; exit 2; }
  note "building the baseline $against (${rev:0:12}) …"
  git -C "$root" worktree add --quiet --detach "$work/baseline" "$rev"
  trap 'git -C "$root" worktree remove --force "$work/baseline" 2>/dev/null; rm -rf "$work"' EXIT
  baseline=$(cd "$work/baseline" && CARGO_TARGET_DIR="$root/target/bench-baseline" scripts/build-release.sh)
  cp "$baseline" "$work/stowage-baseline"
  baseline=$work/stowage-baseline
fi

compose=${COMPOSE:-}
if [ -z "$compose" ] && [ -x "$root/../shared/oracle/install.sh" ]; then
  compose=$("$root/../shared/oracle/install.sh" 2>/dev/null) || compose=""
fi
dclint=$peers/node_modules/.bin/dclint
composelint=$peers/venv/bin/compose-lint
[ -x "$dclint" ] || dclint=$(command -v dclint || true)
[ -x "$composelint" ] || composelint=$(command -v compose-lint || true)

# --- machine ------------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes every figure noisier)"
echo "stowage: $("$stowage" --version), $(file -b "$stowage" 2>/dev/null | grep -oE '(statically|dynamically) linked' || echo "linking unknown")"
[ -n "$baseline" ] && echo "baseline: $against (${rev:0:12}), timed against stowage in alternating rounds"
[ -n "$compose" ] && echo "docker compose: $("$compose" version --short 2>/dev/null || echo '?')"
[ -x "${dclint:-}" ] && echo "dclint: $("$dclint" --version 2>/dev/null)"
[ -x "${composelint:-}" ] && echo "compose-lint: $("$composelint" --version 2>/dev/null | awk '{print $NF}')"
echo

# Mean seconds of one hyperfine command (by index) from its CSV export.
mean() { awk -F, -v row=$(($2 + 2)) 'NR == row { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }
verdict() { # value, op (ge|le), bound
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "ge") ? v >= b : v <= b; print ok ? "PASS" : "MISS" }'
}
# The change from the baseline's mean to stowage's, within 5% or not: "+3.1% (within 5%: PASS)".
change() { # stowage seconds, baseline seconds
  awk -v s="$1" -v b="$2" 'BEGIN { c = (s / b - 1) * 100; printf "%+.1f%% (within 5%%: %s)", c, c <= 5 ? "PASS" : "MISS" }'
}
# stowage and the baseline on the same arguments, in 4 rounds that alternate which goes first:
# hyperfine runs all of one command's runs before the next command's, and a machine that
# speeds up or slows down meanwhile (other work, the CPU's clock) would favour one of them.
# Prints "<stowage mean> <baseline mean>" in seconds, each the mean of its rounds.
alternated() { # runs per round, arguments…
  local n=$1 csv=$work/against.csv s=0 b=0
  shift
  for round in 1 2 3 4; do
    if [ $((round % 2)) = 1 ]; then
      bench "$csv" -N -w $((n / 4 + 3)) -r "$n" -i "$stowage $*" "$baseline $*"
      s=$(awk -v a="$s" -v m="$(mean "$csv" 0)" 'BEGIN { print a + m }')
      b=$(awk -v a="$b" -v m="$(mean "$csv" 1)" 'BEGIN { print a + m }')
    else
      bench "$csv" -N -w $((n / 4 + 3)) -r "$n" -i "$baseline $*" "$stowage $*"
      b=$(awk -v a="$b" -v m="$(mean "$csv" 0)" 'BEGIN { print a + m }')
      s=$(awk -v a="$s" -v m="$(mean "$csv" 1)" 'BEGIN { print a + m }')
    fi
  done
  awk -v s="$s" -v b="$b" 'BEGIN { print s / 4, b / 4 }'
}
# One line of the comparison with the baseline: both means (of [`alternated`]) and the change.
against_line() { # label, runs per round, arguments…
  local label=$1 n=$2 pair s b
  shift 2
  pair=$(alternated "$n" "$@")
  read -r s b <<<"$pair"
  echo "  against $against, $label: $(ms "$s") vs $(ms "$b"), change $(change "$s" "$b")"
}
bench() { # csv, hyperfine args…
  local csv=$1
  shift
  hyperfine --style none --export-csv "$csv" "$@" >/dev/null 2>&1
}

if [ ! -d "$corpus" ]; then
  note "no corpus at $corpus (set STOWAGE_CORPUS): only the synthetic benchmarks run"
fi

# --- 1. one file vs docker compose config ---------------------------------------------------------
one=$corpus/docker+awesome-compose/nextcloud-postgres/compose.yaml
[ -f "$one" ] || { one=$root/fixtures/demo/compose.yaml; }
echo "## 1. one file: stowage check FILE vs docker compose -f FILE config -q  (target: >= 30x)"
echo "file: ${one#"$root/"}"
if [ -n "$compose" ]; then
  # A long warm-up: with 5 warm-up runs, right after the build, a 1 ms command measured up to
  # 40% slower than with 50.
  bench "$work/one.csv" -N -w 50 -r $((runs * 5)) -i \
    "$stowage check $one" "$compose -f $one config -q"
  s=$(mean "$work/one.csv" 0) c=$(mean "$work/one.csv" 1)
  r=$(ratio "$c" "$s")
  echo "stowage $(ms "$s")   docker compose $(ms "$c")   ratio ${r}x   $(verdict "$r" ge 30)"
else
  note "skipped: docker compose not found (../shared/oracle/install.sh, or COMPOSE=…)"
fi
if [ -n "$baseline" ]; then
  against_line "one file" $((runs * 2)) check "$one"
fi
echo

# --- 2. 200 corpus files in one invocation ------------------------------------------------------
if [ -d "$corpus" ]; then
  # Deterministic: every compose file of the corpus (override files excluded: a tool may merge
  # them into their base), sorted bytewise, then every k-th so that 200 spread over all repos.
  find "$corpus" -type f \( -name 'compose*.y*ml' -o -name 'docker-compose*.y*ml' \) \
    ! -name '*override*' | LC_ALL=C sort >"$work/all-files"
  total=$(wc -l <"$work/all-files")
  awk -v n="$total" 'BEGIN { k = n / 200 } { if (int((NR - 1) / k) != int((NR - 2) / k) || NR == 1) print }' \
    "$work/all-files" | head -n 200 >"$work/files200"
  count=$(wc -l <"$work/files200")
  mapfile -t files200 <"$work/files200"
  echo "## 2. $count corpus files in one invocation  (targets: >= 100x compose-lint, >= 1000x dclint)"
  # Every tool must really process all of them: count what each reports.
  projects=$({ "$stowage" volumes "${files200[@]}" 2>&1 || true; } | grep -c -E '^(project |error: )' || true)
  echo "stowage processed $projects of $count files"
  cmds=("$stowage check --exit-zero ${files200[*]}")
  names=(stowage)
  if [ -x "${composelint:-}" ]; then
    scanned=$({ "$composelint" check --allow-partial-coverage --no-merge-overrides "${files200[@]}" 2>&1 || true; } |
      sed -n 's/^\([0-9][0-9]*\) files\{0,1\} scanned.*/\1/p' | tail -1)
    echo "compose-lint processed ${scanned:-?} of $count files"
    cmds+=("$composelint check --allow-partial-coverage --no-merge-overrides ${files200[*]}")
    names+=(compose-lint)
  else
    note "skipped compose-lint: not installed (scripts/bench.sh --install-peers)"
  fi
  if [ -x "${dclint:-}" ]; then
    # To a file: node cuts its output short on a pipe when the process exits.
    "$dclint" -f json "${files200[@]}" >"$work/dclint.json" 2>/dev/null || true
    checked=$(grep -o '"filePath"' "$work/dclint.json" | wc -l)
    echo "dclint processed ${checked:-?} of $count files"
    cmds+=("$dclint ${files200[*]}")
    names+=(dclint)
  else
    note "skipped dclint: not installed (scripts/bench.sh --install-peers)"
  fi
  # The peers take seconds per run: fewer runs for them. stowage takes 10 ms: a handful of runs
  # would rest on noise, so it is also timed on its own just before, with as many runs as the
  # one-file case, and that mean is the one compared.
  bench "$work/many-stowage.csv" -N -w 10 -r $((runs * 5)) -i "${cmds[0]}"
  bench "$work/many.csv" -N -w 1 -r $(((runs + 3) / 4)) -i "${cmds[@]}"
  s=$(mean "$work/many-stowage.csv" 0)
  echo "stowage $(ms "$s") ($((runs * 5)) runs; $(ms "$(mean "$work/many.csv" 0)") in the $(((runs + 3) / 4)) runs beside the peers)"
  for i in "${!names[@]}"; do
    [ "$i" = 0 ] && continue
    t=$(mean "$work/many.csv" "$i")
    r=$(ratio "$t" "$s")
    case ${names[$i]} in
      compose-lint) bound=100 ;;
      *) bound=1000 ;;
    esac
    echo "${names[$i]} $(ms "$t")   ratio ${r}x   (target >= ${bound}x) $(verdict "$r" ge $bound)"
  done
  if [ -n "$baseline" ]; then
    against_line "$count files" "$runs" check --exit-zero "${files200[@]}"
  fi
  echo

  # --- 3. the whole corpus vs cat --------------------------------------------------------------
  echo "## 3. whole corpus in one invocation vs cat of the same files  (target: <= 20x, both cores, peak RSS <= 2 x largest file + 20 MB)"
  find "$corpus" -type f \( -iname 'compose*.y*ml' -o -iname 'docker-compose*.y*ml' \) -print0 >"$work/corpus0"
  nfiles=$(tr -cd '\0' <"$work/corpus0" | wc -c)
  bytes=$(xargs -0 cat <"$work/corpus0" | wc -c)
  largest=$(xargs -0 stat -c %s <"$work/corpus0" | sort -n | tail -1)
  echo "$nfiles compose files, $bytes bytes, largest $largest bytes"
  bench "$work/corpus.csv" -w 2 -r "$runs" -i \
    "$stowage check $corpus" "xargs -0 cat < $work/corpus0"
  s=$(mean "$work/corpus.csv" 0) c=$(mean "$work/corpus.csv" 1)
  r=$(ratio "$s" "$c")
  echo "stowage $(ms "$s")   cat $(ms "$c")   ratio ${r}x   (target <= 20x) $(verdict "$r" le 20)"
  if [ -n "$baseline" ]; then
    against_line "whole corpus" $(((runs + 3) / 4)) check "$corpus"
  fi
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$stowage" check "$corpus" >/dev/null 2>"$work/time.txt" || true
    rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/time.txt")
    cpu_pct=$(awk -F: '/Percent of CPU/ { gsub(/[ %]/, "", $2); print $2 }' "$work/time.txt")
    limit=$(((2 * largest) / 1024 + 20 * 1024))
    echo "peak RSS ${rss} KB (limit ${limit} KB) $(verdict "$rss" le "$limit");  CPU ${cpu_pct}% of one core (both cores: > 100%)"
  fi
  echo
fi

# --- 4. linear scaling ------------------------------------------------------------------------
# Synthetic projects: one file of N services (the services stowage models: named volumes,
# binds, anonymous volumes, tmpfs, knowledge-base images, anchors, variables), and N/10 project
# directories of 10 services each; 1x, 10x, 100x.
gen_services() { # count, first index
  awk -v n="$1" -v first="${2:-0}" 'BEGIN {
    split("postgres:16 redis:7-alpine mysql:8.4 nginx:1.27 ghcr.io/example/app:1.2 docker.elastic.co/elasticsearch/elasticsearch:8.15.0 mongo:7", img, " ")
    print "x-logging: &logging\n  driver: json-file\n  options:\n    max-size: 10m\nservices:"
    for (j = 0; j < n; j++) {
      i = first + j
      printf "  svc%d:\n    image: %s\n    logging: *logging\n", i, img[i % 7 + 1]
      printf "    environment:\n      APP_ID: \"%d\"\n      PGDATA: /var/lib/postgresql/data/pg%d\n      TZ: ${TZ:-UTC}\n", i, i
      print "    volumes:"
      if (i % 4 == 0) printf "      - data%d:/var/lib/postgresql/data\n", i
      else if (i % 4 == 1) printf "      - ./data/%d:/data\n", i
      else if (i % 4 == 2) print "      - /var/lib/mysql"
      else printf "      - type: volume\n        source: data%d\n        target: /srv/data\n", i
      printf "      - ./conf/%d.conf:/etc/app/app.conf:ro\n", i
      if (i % 3 == 0) print "    tmpfs:\n      - /tmp"
      if (j > 0 && i % 5 == 0) printf "    depends_on:\n      - svc%d\n", i - 1
    }
    print "volumes:"
    for (j = 0; j < n; j++) { i = first + j; if (i % 4 == 0 || i % 4 == 3) printf "  data%d:\n", i }
  }'
}
echo "## 4. linear scaling: a 10x and 100x larger input costs ~10x and ~100x (target: ratio <= scale)"
for scale in 1 10 100; do
  mkdir -p "$work/services$scale" "$work/files$scale"
  gen_services $((100 * scale)) >"$work/services$scale/compose.yaml"
  for d in $(seq 1 $((10 * scale))); do
    mkdir -p "$work/files$scale/p$d"
    gen_services 10 $((d * 10)) >"$work/files$scale/p$d/compose.yaml"
  done
done
for kind in services files; do
  bench "$work/scale-$kind.csv" -N -w 2 -r "$runs" -i \
    "$stowage check $work/${kind}1" "$stowage check $work/${kind}10" "$stowage check $work/${kind}100"
  t1=$(mean "$work/scale-$kind.csv" 0) t10=$(mean "$work/scale-$kind.csv" 1) t100=$(mean "$work/scale-$kind.csv" 2)
  r10=$(ratio "$t10" "$t1") r100=$(ratio "$t100" "$t1")
  case $kind in
    services) what="one project of 100 / 1,000 / 10,000 services" ;;
    *) what="10 / 100 / 1,000 projects of 10 services" ;;
  esac
  echo "$what: $(ms "$t1") / $(ms "$t10") / $(ms "$t100")   10x costs ${r10}x $(verdict "$r10" le 12), 100x costs ${r100}x $(verdict "$r100" le 120)"
  if [ -n "$baseline" ]; then
    for scale in 1 10 100; do
      against_line "${kind}, ${scale}x" $(((runs + 3) / 4)) check "$work/${kind}${scale}"
    done
  fi
done
