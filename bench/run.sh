#!/usr/bin/env bash
# The benchmark: builds a release binary, starts the scale world (bench/scale-world.sh) with N
# healthy domains and measures, in one run on this machine, our full sweep, the bare TLS
# handshake (openssl s_time), the daemon's first round, /metrics, RSS at N and at 100,000
# watched domains, and the peers (prometheus-blackbox-exporter, mta-sts-query and its resolver
# library) on a sample; then how long a world of 100,000 healthy domains takes to start.
# Writes BENCHMARKS.md at the top of the tree. Not part of the test suite.
#
#   bench/run.sh [N [SAMPLE]]      (as root; N defaults to 10000, SAMPLE to 500)
#
# BENCH_SKIP_INSTALL=1 skips the apt-get step; BENCH_OUT=FILE writes elsewhere;
# BENCH_WORLD_BIG=0 skips the start of the 100,000-domain world (or sets its size).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
sample=${2:-500}
((sample <= n)) || sample=$n
out=${BENCH_OUT:-BENCHMARKS.md}
((EUID == 0)) || { echo "bench: must run as root (network namespace)" >&2; exit 1; }

# Bench-only packages (the test packages come from scripts/install-deps.sh --with-test).
if [[ ${BENCH_SKIP_INSTALL:-0} != 1 ]]; then
  bash scripts/install-deps.sh --with-test
  bench_packages=(knot prometheus-blackbox-exporter postfix-mta-sts-resolver python3-cryptography
    valgrind)
  missing=()
  for p in "${bench_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}" >&2
    # Knot's and the peers' packages must not start their services on the host: the bench starts
    # its own, inside its namespace.
    created_policy_rc=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy_rc=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ((created_policy_rc)) && rm -f /usr/sbin/policy-rc.d
  fi
fi

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release >/dev/null
bin=$PWD/build/release/mta-sts-exporter

results=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-bench.XXXXXX")
git rev-parse --short HEAD >"$results/revision" 2>/dev/null || true
uptime >"$results/load-before"
bench/scale-world.sh "$n" bench/sweep.sh "$bin" "$results" "$sample"
# The world alone at 100,000 healthy domains: generation (certificates, zone) and start until
# its DNS and HTTPS answer for the last domain; nothing runs in it.
world_big=${BENCH_WORLD_BIG:-100000}
if ((world_big > 0)); then
  echo "bench: the world alone, $world_big domains" >&2
  # shellcheck disable=SC2016  # expanded inside the world
  bench/scale-world.sh "$world_big" sh -c 'cat "$SCALE_WORLD_DIR/generation-ms" >"$0/world_big_generation_ms" &&
    cat "$SCALE_WORLD_DIR/ready-ms" >"$0/world_big_ready_ms"' "$results"
  {
    echo "world_big=$world_big"
    echo "world_big_generation_ms=$(cat "$results/world_big_generation_ms")"
    echo "world_big_ready_ms=$(cat "$results/world_big_ready_ms")"
  } >>"$results/facts"
fi
uptime >"$results/load-after"
python3 bench/report.py "$results" "$n" "$sample" >"$out"
echo "bench: wrote $out (raw results in $results)" >&2
