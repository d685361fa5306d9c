#!/usr/bin/env bash
# TLS-RPT benchmarks (BENCHMARKS.md "TLS-RPT reports"): reports stored per second over HTTP
# (POST /v1/tlsrpt: small gzip reports, distinct report-ids, one watched domain; one client with
# one keep-alive connection, then 16 in parallel, both by curl -K), and the daemon's memory with
# 0, 10,000 and 100,000 reports stored: restarted at each, VmRSS and VmHWM once the counters are
# restored from the store, then after 10 scrapes of /metrics and 10 GETs of /v1/tlsrpt. A
# Release build on loopback: it runs in a network namespace of its own with lo alone (the
# daemon's checks of the watched domain fail at once), the store on disk (its fsyncs are real).
# The config raises tlsrpt.rate_limit (the default lets one address send 30 reports, then 1 a
# second). Not part of the test suite.
#
#   bench/tlsrpt.sh [BIN]    (as root; BIN defaults to build/release/mta-sts-exporter)
#
# Writes the section to bench/TLSRPT.md (BENCH_TLSRPT_OUT=FILE elsewhere), which bench/report.py
# appends to BENCHMARKS.md; raw results stay in /var/tmp/mtasts-tlsrpt-bench.*.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/release/mta-sts-exporter}")
out=${BENCH_TLSRPT_OUT:-bench/TLSRPT.md}
if [[ ${MTASTS_TLSRPT_BENCH_NS:-} != 1 ]]; then
  [[ -x $bin ]] || { echo "tlsrpt bench: no binary $bin; build it: cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_BUILD_TESTS=OFF && cmake --build build/release --target mta-sts-exporter" >&2; exit 1; }
  ((EUID == 0)) || { echo "tlsrpt bench: must run as root (network namespace)" >&2; exit 1; }
  exec unshare -n env MTASTS_TLSRPT_BENCH_NS=1 BENCH_TLSRPT_OUT="$out" "$0" "$bin"
fi
ip link set lo up
r=$(mktemp -d /var/tmp/mtasts-tlsrpt-bench.XXXXXX)
port=10199
url=http://127.0.0.1:$port/v1/tlsrpt
mkdir -p "$r/state"
cat >"$r/config.yaml" <<EOT
state_dir: $r/state
schedule: {min_interval: 1m, max_interval: 24h, dns_interval: 24h}
tlsrpt:
  retention: 10y
  rate_limit: {burst: 100000, per_second: 10000000}
domains:
  - example.com
EOT

fact() {
  echo "$1 $2" >>"$r/facts"
  echo "tlsrpt bench: $1 = $2" >&2
}
get() { awk -v k="$1" '$1 == k { print $2 }' "$r/facts"; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
now_ns() { date +%s%N; }
pid=
start_daemon() {
  "$bin" --config.file="$r/config.yaml" --web.listen-address=127.0.0.1:$port --log.level=warn \
    2>>"$r/log" &
  pid=$!
  until curl -fs -o /dev/null "127.0.0.1:$port/-/healthy"; do
    kill -0 "$pid" || { cat "$r/log" >&2; exit 1; }
    sleep 0.05
  done
}
stop_daemon() {
  kill "$pid"
  wait "$pid" || true
}
counted() {
  curl -s "127.0.0.1:$port/metrics" |
    awk '$1 == "mta_sts_tlsrpt_reports_total{domain=\"example.com\"}" { n = $2 } END { print n + 0 }'
}
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; true' EXIT

# post NAME FIRST COUNT PARALLEL: POSTs COUNT new reports; stored, seconds, reports/s, CPU.
post() {
  local name=$1 first=$2 count=$3 par=$4 args=()
  python3 bench/tlsrpt_bodies.py "$r/bodies" "$url" "$first" "$count"
  ((par > 1)) && args=(--parallel --parallel-max "$par")
  local c0 t0 t1 c1
  c0=$(ticks "$pid")
  t0=$(now_ns)
  curl -s --no-progress-meter "${args[@]}" -K "$r/bodies/curl-$first.cfg" >"$r/$name.codes"
  t1=$(now_ns)
  c1=$(ticks "$pid")
  fact "${name}_reports" "$count"
  fact "${name}_stored" "$(grep -c '^201$' "$r/$name.codes" || true)"
  fact "${name}_s" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  fact "${name}_per_s" "$(awk -v a="$t0" -v b="$t1" -v n="$count" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')"
  fact "${name}_cpu_ms" "$(awk -v a="$c0" -v b="$c1" -v n="$count" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')"
  rm -rf "$r/bodies"
}

# memory NAME STORED: restarts the daemon on the store and measures it.
memory() {
  local name=$1 stored=$2 t0 t1
  [[ -n $pid ]] && stop_daemon
  t0=$(now_ns)
  start_daemon
  while (($(counted) != stored)); do sleep 0.05; done
  t1=$(now_ns)
  fact "${name}_restored_s" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  fact "${name}_rss_kib" "$(kib "$pid" VmRSS)"
  fact "${name}_hwm_kib" "$(kib "$pid" VmHWM)"
  for _ in $(seq 10); do
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' "127.0.0.1:$port/metrics"
    curl -s -o /dev/null "127.0.0.1:$port/v1/tlsrpt?domain=example.com"
  done
  t0=$(now_ns)
  curl -s -o "$r/$name.aggregate.json" "127.0.0.1:$port/v1/tlsrpt?domain=example.com"
  t1=$(now_ns)
  fact "${name}_aggregate_ms" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')"
  fact "${name}_scraped_rss_kib" "$(kib "$pid" VmRSS)"
  fact "${name}_scraped_hwm_kib" "$(kib "$pid" VmHWM)"
  fact "${name}_store_mib" "$(du -sm "$r/state" | cut -f1)"
}

# BENCH_TLSRPT_DIVISOR=100 runs every step with a hundredth of the reports (a smoke test).
d=${BENCH_TLSRPT_DIVISOR:-1}
uptime >"$r/load-before"
memory stored_0 0
post one_client 1 $((2000 / d)) 1
post parallel_16 $((2000 / d + 1)) $((4000 / d)) 16
post fill_10k $((6000 / d + 1)) $((4000 / d)) 16
memory stored_10k $((10000 / d))
post fill_100k $((10000 / d + 1)) $((90000 / d)) 16
memory stored_100k $((100000 / d))
stop_daemon
pid=
uptime >"$r/load-after"

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
{
  echo "## TLS-RPT reports"
  echo
  echo "Produced by \`bench/tlsrpt.sh\` (as root) on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), revision $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo "Load before: \`$(cat "$r/load-before")\`; after: \`$(cat "$r/load-after")\`."
  echo "A Release daemon on loopback, the store on disk; \`tlsrpt.rate_limit\` raised to"
  echo "\`{burst: 100000, per_second: 10000000}\` (the default, 30 then 1 a second per address, would"
  echo "answer nearly all of them 429). Each report is a small gzip report (about 400 bytes) for the"
  echo "watched \`example.com\` with its own report-id; every one answered 201 counts as stored (durable)."
  echo
  echo "| measure | figure | target | |"
  echo "|---|---|---|---|"
  for n in one_client parallel_16; do
    label="1 client, one keep-alive connection (curl -K)"
    [[ $n == parallel_16 ]] && label="16 clients in parallel (curl --parallel --parallel-max 16)"
    target="" verdict=""
    if [[ $n == parallel_16 ]]; then
      target="≥ 500/s"
      verdict=$( (($(get ${n}_per_s) >= 500)) && echo met || echo "**missed**")
    fi
    echo "| POST /v1/tlsrpt, $label | $(get ${n}_per_s) reports/s ($(get ${n}_stored) of $(get ${n}_reports) stored in $(get ${n}_s) s; $(get ${n}_cpu_ms) ms daemon CPU a report) | $target | $verdict |"
  done
  echo "| filling to 100,000 (16 clients) | $(get fill_100k_per_s) reports/s ($(get fill_100k_stored) of $(get fill_100k_reports) in $(get fill_100k_s) s) | | |"
  for n in stored_0 stored_10k stored_100k; do
    echo "| daemon with ${n#stored_} reports stored: restart to counters restored | $(get ${n}_restored_s) s; store $(get ${n}_store_mib) MiB on disk | | |"
    echo "|   VmRSS / VmHWM after the start | $(mib "$(get ${n}_rss_kib)") / $(mib "$(get ${n}_hwm_kib)") | | |"
    echo "|   after 10 scrapes and 10 GET /v1/tlsrpt (the last one: $(get ${n}_aggregate_ms) ms) | $(mib "$(get ${n}_scraped_rss_kib)") / $(mib "$(get ${n}_scraped_hwm_kib)") | unaffected by the number stored | |"
  done
} >"$out"
echo "tlsrpt bench: wrote $out (raw results in $r)" >&2
