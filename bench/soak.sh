#!/usr/bin/env bash
# Soak: the daemon (RelWithDebInfo build) against the test world with its hostile peers
# (MTASTS_WORLD_FAULTS=1) on an accelerated schedule, while faults switch on and off and a client
# drives the /v1/check API. Every few seconds it samples the daemon's RSS, open file descriptors
# and threads into a CSV; at the end it compares the first samples after warm-up with the last
# ones. Not part of the test suite. As root:
#
#   bench/soak.sh [SECONDS [OUT_DIR]]      (default 1800 s, OUT_DIR soak-out)
#
# Environment: SOAK_WARMUP (s, default 300), SOAK_WINDOW (s compared at start and end, default
# 300), SOAK_SAMPLE (s, default 5), SOAK_BUILD_DIR (default build/relwithdebinfo; the binary is
# built there first), SOAK_DAEMON (a binary to run instead, e.g. the sanitizer build's: its leak
# report, if any, ends up in daemon.log).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-1800}
out=$(mkdir -p "${2:-soak-out}" && cd "${2:-soak-out}" && pwd -P)
if [[ -n ${SOAK_DAEMON:-} ]]; then
  binary=$(realpath "$SOAK_DAEMON")
else
  build=${SOAK_BUILD_DIR:-build/relwithdebinfo}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTASTS_BUILD_TESTS=OFF \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
  cmake --build "$build" >/dev/null
  binary=$(pwd -P)/$build/mta-sts-exporter
fi

export SOAK_DURATION=$duration SOAK_OUT=$out SOAK_BINARY=$binary
export SOAK_WARMUP=${SOAK_WARMUP:-300} SOAK_SAMPLE=${SOAK_SAMPLE:-5} SOAK_WINDOW=${SOAK_WINDOW:-300}
# shellcheck disable=SC2016  # the script below runs inside the world and expands there
MTASTS_WORLD_FAULTS=1 exec tests/world/with-world.sh bash -c '
set -euo pipefail
w=$MTASTS_WORLD_DIR
port=10098
dir=$w/soak
mkdir -p "$dir/state"
fault_domains="timeout.dnsfault.test servfail.dnsfault.test tc.dnsfault.test tc-notcp.dnsfault.test
  huge.dnsfault.test ok.httpfault.test hang.httpfault.test hang-tls.httpfault.test
  drip.httpfault.test reset.httpfault.test endless.httpfault.test badchunk.httpfault.test
  tls10.httpfault.test"
world_domains=$(awk -F"\t" "!/^#/ && NF { print \$1 }" "$MTASTS_WORLD_POSTURES")
all_domains="$world_domains $fault_domains"

# A webhook receiver (every posture change of a flapping domain is a delivery): 204 to each POST.
python3 -c "
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get(\"Content-Length\", 0)))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((\"127.0.0.1\", 10097), H).serve_forever()
" &
hook_pid=$!

{
  echo "state_dir: $dir/state"
  echo "network: {dns_servers: [\"$MTASTS_WORLD_DNS\"], ca_file: $MTASTS_WORLD_CA, ssrf_allow_cidrs: [\"$MTASTS_WORLD_ALLOW_CIDR\", \"$MTASTS_WORLD_ALLOW_CIDR6\", \"127.0.0.1/32\"], check_timeout: 3s}"
  echo "schedule: {min_interval: 5s, max_interval: 10s, dns_interval: 5s, max_concurrent_checks: 16}"
  echo "api: {rate_limit_per_minute: 100000, rate_limit_burst: 1000, max_concurrent_requests: 16}"
  echo "webhooks: [{name: sink, url: \"http://127.0.0.1:10097/hook\", timeout: 2s}]"
  echo "domains:"
  for d in $all_domains; do echo "  - $d"; done
} >"$dir/config.yaml"
"$SOAK_BINARY" config check "$dir/config.yaml" >&2

"$SOAK_BINARY" --config.file="$dir/config.yaml" --web.listen-address=127.0.0.1:$port \
  --log.level=warn 2>"$dir/daemon.log" &
pid=$!
start=$(date +%s)
end=$((start + SOAK_DURATION))
until curl -fs -o /dev/null "localhost:$port/-/ready"; do
  kill -0 $pid || { tail "$dir/daemon.log"; exit 1; }
  sleep 0.5
done

# --- faults on and off: one step every 15 s, round the list -------------------------------
policy=$w/www/enforce.test/.well-known/mta-sts.txt
good_policy=$(cat "$policy")
nginx_conf=$w/nginx.conf
cp "$nginx_conf" "$dir/nginx.conf.good"
faults() {
  local step=0
  while (($(date +%s) < end)); do
    case $((step % 12)) in
      0) printf "%s\n" "$good_policy" >"$policy"; sleep 1
         printf "version: STSv1\nmode: bogus\nmax_age: 604800\n" >"$policy" ;;        # invalid
      1) printf "%s\n" "$good_policy" >"$policy" ;;
      2) kill -USR1 "$MTASTS_WORLD_FAULT_PID" ;;                                        # chaos on
      3) kill -USR1 "$MTASTS_WORLD_FAULT_PID" ;;                                        # chaos off
      4) # every good policy host answers 503
         sed "s/types { } default_type text\/plain;/return 503;/" "$dir/nginx.conf.good" >"$nginx_conf"
         kill -HUP "$(cat "$w/nginx.pid")" ;;
      5) cp "$dir/nginx.conf.good" "$nginx_conf"; kill -HUP "$(cat "$w/nginx.pid")" ;;
      6) kill -STOP "$MTASTS_WORLD_FAULT_PID" ;;   # the fault peers freeze: DNS and TCP hang
      7) kill -CONT "$MTASTS_WORLD_FAULT_PID" ;;
      8) head -c 70000 /dev/zero | tr "\0" "a" >"$policy" ;;                            # too large
      9) printf "%s\n" "$good_policy" >"$policy" ;;
      10) # the world DNS freezes for 4 s: every lookup in flight times out
         dns_pid=$(cat "$w/dnsmasq.pid"); kill -STOP "$dns_pid"; sleep 4; kill -CONT "$dns_pid" ;;
      11) sed "s/mode: enforce/mode: testing/" <<<"$good_policy" >"$policy" ;;          # downgrade
    esac
    echo "$(date +%s) fault step $((step % 12))" >>"$dir/faults.log"
    step=$((step + 1))
    sleep 15
  done
  kill -CONT "$MTASTS_WORLD_FAULT_PID" "$(cat "$w/dnsmasq.pid")" 2>/dev/null || true
}

# --- API load: two clients checking random domains, one scraping /metrics -------------------
api_client() {
  local -a ds=($all_domains)
  local n=0
  while (($(date +%s) < end)); do
    curl -s -o /dev/null --max-time 10 "localhost:$port/v1/check?domain=${ds[RANDOM % ${#ds[@]}]}" || true
    n=$((n + 1))
  done
  echo "$n" >"$dir/api-$1.count"
}
scraper() {
  local n=0
  while (($(date +%s) < end)); do
    curl -s -o /dev/null --max-time 5 "localhost:$port/metrics" || true
    curl -s -o /dev/null --max-time 5 "localhost:$port/v1/policy?domain=enforce.test" || true
    n=$((n + 1))
    sleep 2
  done
  echo "$n" >"$dir/scrape.count"
}

faults & f1=$!
api_client 1 & a1=$!
api_client 2 & a2=$!
scraper & s1=$!

csv=$SOAK_OUT/soak.csv
echo "elapsed_s,rss_kib,fds,threads" >"$csv"
while (($(date +%s) < end)); do
  kill -0 $pid 2>/dev/null || { echo "soak: the daemon died" >&2; tail -n 30 "$dir/daemon.log" >&2; exit 1; }
  rss=$(awk "/^VmRSS/ {print \$2}" /proc/$pid/status)
  thr=$(awk "/^Threads/ {print \$2}" /proc/$pid/status)
  fds=$(ls /proc/$pid/fd | wc -l)
  echo "$(($(date +%s) - start)),$rss,$fds,$thr" >>"$csv"
  sleep "$SOAK_SAMPLE"
done
wait $f1 $a1 $a2 $s1 || true
metrics=$(curl -s --max-time 5 "localhost:$port/metrics")
kill -TERM $pid
status=0
wait $pid || status=$?
kill $hook_pid 2>/dev/null || true
cp "$dir/daemon.log" "$dir/faults.log" "$dir/config.yaml" "$SOAK_OUT/"

checks=$(awk "/^mta_sts_last_check_timestamp_seconds/ {n++} END {print n+0}" <<<"$metrics")
api=$(( $(cat "$dir/api-1.count") + $(cat "$dir/api-2.count") ))
# Summary: the window of SOAK_WINDOW seconds right after warm-up against the last one: mean,
# lowest and highest sample of each. A leak shows as a floor that rises, not as a peak.
awk -F, -v warm="$SOAK_WARMUP" -v win="$SOAK_WINDOW" -v dur="$SOAK_DURATION" -v api="$api" \
    -v status="$status" -v scrapes="$(cat "$dir/scrape.count")" -v doms="$checks" "
  function add(w, i, v) { s[w, i] += v; if (!((w, i) in lo) || v < lo[w, i]) lo[w, i] = v; if (v > hi[w, i]) hi[w, i] = v }
  NR == 1 { next }
  \$1 >= warm && \$1 < warm + win { n[1]++; for (i = 2; i <= 4; i++) add(1, i, \$i) }
  \$1 >= dur - win { n[2]++; for (i = 2; i <= 4; i++) add(2, i, \$i) }
  END {
    if (!n[1] || !n[2]) { print \"soak: too short for a summary\"; exit 1 }
    printf \"soak: %d s, %d samples, %d domains watched, %d /v1/check requests, %d scrape rounds, daemon exit status %d\n\", dur, NR - 1, doms, api, scrapes, status
    printf \"window A = %d-%d s (after warm-up), window B = %d-%d s (end); mean [min-max]\n\", warm, warm + win, dur - win, dur
    split(\"RSS_MiB fds threads\", name, \" \")
    for (i = 2; i <= 4; i++) {
      k = (i == 2) ? 1024 : 1
      printf \"%-8s A %8.1f [%.1f-%.1f]   B %8.1f [%.1f-%.1f]   mean change %+.1f%%\n\", name[i - 1], s[1, i] / n[1] / k, lo[1, i] / k, hi[1, i] / k, s[2, i] / n[2] / k, lo[2, i] / k, hi[2, i] / k, (s[2, i] / n[2] - s[1, i] / n[1]) * 100 / (s[1, i] / n[1])
    }
  }" "$csv" | tee "$SOAK_OUT/summary.txt"
exit $status
'
