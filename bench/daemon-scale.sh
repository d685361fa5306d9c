#!/usr/bin/env bash
# Measures the daemon watching N domains (default 10000) inside the test world: peak RSS after
# the first round of checks, and the time and size of one /metrics scrape. The domains are
# generated names under .test that the world's DNS answers NXDOMAIN for, so every check runs
# its DNS lookups for real but fetches nothing. Not part of the test suite.
#   bench/daemon-scale.sh [N]        (as root; builds a release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release >/dev/null
exec tests/world/with-world.sh bash -c '
  set -euo pipefail
  n=$1
  dir=$MTASTS_WORLD_DIR/scale
  mkdir -p "$dir"
  {
    echo "state_dir: $dir/state"
    echo "network: {dns_servers: [\"$MTASTS_WORLD_DNS\"], ca_file: $MTASTS_WORLD_CA, ssrf_allow_cidrs: [\"$MTASTS_WORLD_ALLOW_CIDR\"], check_timeout: 5s}"
    echo "schedule: {min_interval: 1m, max_interval: 24h, dns_interval: 1h, max_concurrent_checks: 64}"
    echo "domains:"
    for i in $(seq -w 1 "$n"); do echo "  - d$i.scale.test"; done
  } >"$dir/config.yaml"
  build/release/mta-sts-exporter --config.file="$dir/config.yaml" \
    --web.listen-address=127.0.0.1:10099 --log.level=warn 2>"$dir/log" &
  pid=$!
  start=$(date +%s.%N)
  until curl -fs -o /dev/null localhost:10099/-/ready; do sleep 0.5; done
  ready=$(date +%s.%N)
  rss_ready=$(awk "/VmHWM/ {print \$2}" /proc/$pid/status)
  curl -fs -o "$dir/metrics" localhost:10099/metrics
  for i in 1 2 3 4 5; do
    curl -fs -o /dev/null -w "%{time_total}\n" localhost:10099/metrics
  done >"$dir/times"
  gz=$(curl -fs -H "Accept-Encoding: gzip" --raw localhost:10099/metrics | wc -c)
  rss=$(awk "/VmHWM/ {print \$2}" /proc/$pid/status)
  threads=$(ls /proc/$pid/task | wc -l)
  kill -TERM $pid; wait $pid || true
  printf "| domains watched | %s |\n" "$n"
  printf "| first round (start to ready) | %.1f s |\n" "$(awk -v a="$start" -v b="$ready" "BEGIN {print b - a}")"
  printf "| peak RSS after the first round | %.1f MiB |\n" "$(awk -v r="$rss_ready" "BEGIN {print r / 1024}")"
  printf "| peak RSS after 7 scrapes | %.1f MiB |\n" "$(awk -v r="$rss" "BEGIN {print r / 1024}")"
  printf "| threads | %s |\n" "$threads"
  printf "| /metrics size | %s bytes (%s lines; %s bytes as sent with Accept-Encoding: gzip) |\n" \
    "$(wc -c <"$dir/metrics")" "$(wc -l <"$dir/metrics")" "$gz"
  printf "| /metrics scrape time, 5 runs (s) | %s |\n" "$(sort -n "$dir/times" | tr "\n" " ")"
' scale "$n"
