#!/usr/bin/env bash
# The measurements of bench/run.sh, run inside bench/scale-world.sh (do not call directly).
#   bench/sweep.sh BIN RESULTS_DIR SAMPLE
# Writes RESULTS_DIR/*.m (measure.py lines: wall user sys maxrss status) and key=value facts in
# RESULTS_DIR/facts for bench/report.py.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
bin=$1 r=$2 sample=$3
w=$SCALE_WORLD_DIR
measure="python3 $here/measure.py"
fact() { echo "$1=$2" >>"$r/facts"; }
say() { echo "bench: $*" >&2; }
clk=$(getconf CLK_TCK)
cpu_of() { awk -v t="$clk" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$1/stat"; }
kib_of() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

mapfile -t domains <"$w/domains.txt"
n=${#domains[@]}
head -n "$sample" "$w/domains.txt" >"$r/sample.txt"
fact domains "$n"
fact sample "$sample"
fact generation_ms "$(cat "$w/generation-ms")"
fact world_ready_ms "$(cat "$w/ready-ms")"
net=(--dns.server="$SCALE_WORLD_DNS" --tls.ca-file="$SCALE_WORLD_CA"
  --ssrf.allow-cidr="$SCALE_WORLD_ALLOW_CIDR" --check.timeout=30s)
healthy() { # JSON array on stdin: how many reports are enforced with no issue at all
  python3 -c 'import json,sys; a=json.load(sys.stdin); a=a if isinstance(a,list) else [a]; print(sum(1 for x in a if x.get("enforced") and not x.get("issues")))'
}

# 1. The bare handshake: openssl s_time -new against the same nginx, 10 s.
say "openssl s_time"
$measure --out "$r/s_time.m" openssl s_time -connect "$SCALE_WORLD_WEB" -new -time 10 >"$r/s_time.out" 2>&1
fact s_time_handshakes "$(sed -n 's/^\([0-9]*\) connections in .*/\1/p' "$r/s_time.out" | head -1)"

# 2. One full sweep with check --json.
say "check --json, $n domains"
$measure --out "$r/check_all.m" "$bin" check --json "${net[@]}" "${domains[@]}" >"$r/check_all.json" 2>"$r/check_all.err" || true
fact check_all_healthy "$(healthy <"$r/check_all.json")"
say "check --json, the $sample-domain sample"
mapfile -t sampled <"$r/sample.txt"
$measure --out "$r/check_sample.m" "$bin" check --json "${net[@]}" "${sampled[@]}" >"$r/check_sample.json" 2>"$r/check_sample.err" || true
fact check_sample_healthy "$(healthy <"$r/check_sample.json")"
# Checks per second with 2 cores vs 1: the sample's sweep on both cores, then with our process
# pinned to one (taskset -c 0; the servers still have both), three times in turn (the report
# takes the medians: a sweep of a few hundred domains lasts a second or two).
say "check --json, the sample, 2 cores vs 1 core (taskset -c 0), 3 times each"
for i in 1 2 3; do
  $measure --out "$r/cores2_$i.m" "$bin" check --json "${net[@]}" "${sampled[@]}" \
    >"$r/cores2_$i.json" 2>"$r/cores2_$i.err" || true
  $measure --out "$r/cores1_$i.m" taskset -c 0 "$bin" check --json "${net[@]}" "${sampled[@]}" \
    >"$r/cores1_$i.json" 2>"$r/cores1_$i.err" || true
  fact "cores2_${i}_healthy" "$(healthy <"$r/cores2_$i.json")"
  fact "cores1_${i}_healthy" "$(healthy <"$r/cores1_$i.json")"
done

# 3. The daemon's first round over the N domains, then /metrics.
daemon() { # daemon NAME MIN_INTERVAL DOMAIN_FILE...: starts the daemon, waits for ready
  local name=$1 min_interval=$2
  shift 2
  local dir="$r/$name"
  mkdir -p "$dir/state"
  {
    echo "state_dir: $dir/state"
    echo "network: {dns_servers: [\"$SCALE_WORLD_DNS\"], ca_file: $SCALE_WORLD_CA, ssrf_allow_cidrs: [\"$SCALE_WORLD_ALLOW_CIDR\"], check_timeout: 30s}"
    echo "schedule: {min_interval: $min_interval, max_interval: 24h, dns_interval: 24h, max_concurrent_checks: 64}"
    echo "domains:"
    cat "$@" | sed 's/^/  - /'
  } >"$dir/config.yaml"
  local start
  start=$(date +%s%N)
  "$bin" --config.file="$dir/config.yaml" --web.listen-address=127.0.0.1:10099 --log.level=warn \
    2>"$dir/log" &
  daemon_pid=$!
  local limit=${DAEMON_WAIT_S:-100000} ready=1
  until curl -fs -o /dev/null 127.0.0.1:10099/-/ready; do
    kill -0 "$daemon_pid" || { cat "$dir/log" >&2; exit 1; }
    if (($(date +%s%N) - start > limit * 1000000000)); then
      ready=0
      break
    fi
    sleep 0.2
  done
  fact "${name}_ready" "$ready"
  fact "${name}_ready_s" "$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  fact "${name}_cpu_s" "$(cpu_of "$daemon_pid")"
  fact "${name}_hwm_kib" "$(kib_of "$daemon_pid" VmHWM)"
  fact "${name}_rss_kib" "$(kib_of "$daemon_pid" VmRSS)"
  fact "${name}_threads" "$(ls "/proc/$daemon_pid/task" | wc -l)"
}
scrape() { # scrape NAME: 10 scrapes with gzip (as Prometheus asks), 10 plain, sizes; stops it
  local name=$1 i
  for i in $(seq 10); do
    curl -fs -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total}\n' 127.0.0.1:10099/metrics
  done | sort -n >"$r/$name/scrape-times-gzip"
  fact "${name}_scrape_gzip_median_s" "$(sed -n 5p "$r/$name/scrape-times-gzip")"
  fact "${name}_scrape_gzip_max_s" "$(tail -1 "$r/$name/scrape-times-gzip")"
  fact "${name}_hwm_after_gzip_scrapes_kib" "$(kib_of "$daemon_pid" VmHWM)"
  curl -fs -o "$r/$name/metrics" 127.0.0.1:10099/metrics
  for i in $(seq 10); do
    curl -fs -o /dev/null -w '%{time_total}\n' 127.0.0.1:10099/metrics
  done | sort -n >"$r/$name/scrape-times"
  fact "${name}_scrape_median_s" "$(sed -n 5p "$r/$name/scrape-times")"
  fact "${name}_scrape_max_s" "$(tail -1 "$r/$name/scrape-times")"
  fact "${name}_metrics_bytes" "$(wc -c <"$r/$name/metrics")"
  fact "${name}_metrics_lines" "$(wc -l <"$r/$name/metrics")"
  fact "${name}_metrics_gzip_bytes" "$(curl -fs -H 'Accept-Encoding: gzip' 127.0.0.1:10099/metrics | wc -c)"
  fact "${name}_metrics_gzip_encoding" "$(curl -fs -o /dev/null -D - -H 'Accept-Encoding: gzip' 127.0.0.1:10099/metrics | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p')"
  fact "${name}_hwm_after_scrapes_kib" "$(kib_of "$daemon_pid" VmHWM)"
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || true
}
say "daemon, first round over $n domains"
# min_interval 1s: the start-up spread of first checks (20 ms apart, within min_interval) would
# otherwise make the first round last N x 20 ms; healthy domains are next due in max_interval.
daemon daemon_n 1s "$w/domains.txt"
fact daemon_n_enforced "$(grep -c "^mta_sts_enforced{.*} 1$" <(curl -fs --compressed 127.0.0.1:10099/metrics) || true)"
scrape daemon_n

# 4. 100,000 watched domains (BENCH_BIG overrides, for a quick try of the script): the N healthy ones plus (100,000 - N) names the world's DNS
# answers NXDOMAIN for (a check of those is the DNS lookups only: absent.test is an empty zone).
big=${BENCH_BIG:-100000}
fact big "$big"
say "daemon, $big domains"
seq -f 'x%06g.absent.test' 1 $((big - n)) >"$r/absent.txt"
# min_interval 1m: a domain without a policy is re-checked every min_interval, so a shorter one
# would keep re-checking the NXDOMAIN names; the first round is spread over 1 minute. The
# figures are taken when the first round is done or after BENCH_BIG_WAIT seconds (default 300),
# and the report says how many domains had been checked by then.
DAEMON_WAIT_S=${BENCH_BIG_WAIT:-300} daemon daemon_100k 1m "$w/domains.txt" "$r/absent.txt"
fact daemon_100k_checked "$(curl -fs --compressed 127.0.0.1:10099/metrics | grep -c '^mta_sts_check_success{' || true)"
scrape daemon_100k
# The same daemon started again on the state it saved when it stopped: a restart reads the whole
# state file before it serves (/-/healthy answers once it has).
say "daemon, $big domains, restarted from its saved state"
fact restart_100k_state_bytes "$(stat -c %s "$r/daemon_100k/state/state.json")"
start=$(date +%s%N)
"$bin" --config.file="$r/daemon_100k/config.yaml" --web.listen-address=127.0.0.1:10099 \
  --log.level=info 2>"$r/daemon_100k/restart.log" &
daemon_pid=$!
until curl -fs -o /dev/null 127.0.0.1:10099/-/healthy; do
  kill -0 "$daemon_pid" || { cat "$r/daemon_100k/restart.log" >&2; exit 1; }
  sleep 0.1
done
fact restart_100k_healthy_s "$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
fact restart_100k_hwm_kib "$(kib_of "$daemon_pid" VmHWM)"
fact restart_100k_restored "$(sed -n 's/.*msg="state restored".* domains=\([0-9]*\).*/\1/p' "$r/daemon_100k/restart.log" | head -1)"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true

# 5. blackbox_exporter: per domain an HTTPS probe of the policy URL and DNS probes of the two
# TXT names and the MX (the DNS prober takes the name from its module, hence 3 modules a domain).
say "blackbox_exporter, $sample domains"
bb="$r/blackbox"
mkdir -p "$bb/out"
{
  echo "modules:"
  echo "  policy:"
  echo "    prober: http"
  echo "    timeout: 30s"
  echo "    http: {method: GET, valid_status_codes: [200], fail_if_not_ssl: true, preferred_ip_protocol: ip4, ip_protocol_fallback: false, tls_config: {ca_file: $SCALE_WORLD_CA}}"
  i=0
  while read -r d; do
    i=$((i + 1))
    for q in "sts _mta-sts.$d TXT" "rpt _smtp._tls.$d TXT" "mx $d MX"; do
      set -- $q
      echo "  $1_$i: {prober: dns, timeout: 30s, dns: {query_name: \"$2\", query_type: $3, transport_protocol: udp, preferred_ip_protocol: ip4, ip_protocol_fallback: false, valid_rcodes: [NOERROR], validate_answer_rrs: {fail_if_none_matches_regexp: [\".\"]}}}"
    done
  done <"$r/sample.txt"
} >"$bb/blackbox.yml"
prometheus-blackbox-exporter --config.file="$bb/blackbox.yml" --web.listen-address=127.0.0.1:9115 \
  --log.level=warn >"$bb/log" 2>&1 &
bb_pid=$!
until curl -fs -o /dev/null 127.0.0.1:9115/-/healthy; do
  kill -0 "$bb_pid" || { cat "$bb/log" >&2; exit 1; }
  sleep 0.2
done
i=0
while read -r d; do
  i=$((i + 1))
  echo "url = \"http://127.0.0.1:9115/probe?module=policy&target=https://mta-sts.$d/.well-known/mta-sts.txt\""
  echo "output = \"$bb/out/$i-policy\""
  for m in sts rpt mx; do
    echo "url = \"http://127.0.0.1:9115/probe?module=${m}_$i&target=$SCALE_WORLD_DNS\""
    echo "output = \"$bb/out/$i-$m\""
  done
done <"$r/sample.txt" >"$bb/curl.cfg"
cpu0=$(cpu_of "$bb_pid")
$measure --out "$r/blackbox_driver.m" curl -s --parallel --parallel-max 32 -K "$bb/curl.cfg"
cpu1=$(cpu_of "$bb_pid")
fact blackbox_cpu_s "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')"
fact blackbox_hwm_kib "$(kib_of "$bb_pid" VmHWM)"
# A domain counts when all four of its probes succeeded.
fact blackbox_healthy "$(for f in "$bb"/out/*-policy; do
  b=${f%-policy}
  grep -qx 'probe_success 1' "$f" "$b-sts" "$b-rpt" "$b-mx" 2>/dev/null &&
    [[ $(grep -lx 'probe_success 1' "$f" "$b-sts" "$b-rpt" "$b-mx" | wc -l) == 4 ]] && echo ok
done | wc -l)"
kill -TERM "$bb_pid"
wait "$bb_pid" || true

# 6. mta-sts-query (postfix-mta-sts-resolver): one process per domain, 8 at a time; it trusts
# the system store, so SSL_CERT_FILE names the world's CA.
say "mta-sts-query, $sample domains"
mkdir -p "$r/query"
SSL_CERT_FILE=$SCALE_WORLD_CA $measure --out "$r/query.m" \
  xargs -P 8 -I{} sh -c 'mta-sts-query -v error {} >"$0/{}" 2>&1' "$r/query" <"$r/sample.txt"
fact query_healthy "$(grep -l "'mode': 'enforce'\|mode.*enforce" "$r"/query/* 2>/dev/null | wc -l)"

# 7. The same package's resolver library, as its daemon uses it: one asyncio process, 100
# resolutions in flight (bench/sts_resolver_peer.py; Debian's python3, which has the library).
# Its DNS server comes from /etc/resolv.conf (the world's), its CA from SSL_CERT_FILE.
say "STSResolver library, $sample domains, 100 in flight"
SSL_CERT_FILE=$SCALE_WORLD_CA $measure --out "$r/stsresolver.m" \
  /usr/bin/python3 "$here/sts_resolver_peer.py" "$r/sample.txt" 100 \
  >"$r/stsresolver.json" 2>"$r/stsresolver.err" || true

# 7. The CPU ratios again, in interleaved rounds. This machine's speed drifts by a fifth within
# minutes (s_time measured 953 and 750 handshakes per CPU second 20 minutes apart), and the
# ratios above compare measurements taken minutes apart. Each round measures the bare handshake
# (s_time, 3 s), our check over the first 1,000 domains (the issue's size) and over the sample,
# and STSResolver over the sample, back to back; the report takes the median of each round's
# ratio (BENCH_ROUNDS, default 5).
head -n 1000 "$w/domains.txt" >"$r/thousand.txt"
mapfile -t thousand <"$r/thousand.txt"
rounds=${BENCH_ROUNDS:-5}
fact rounds "$rounds"
fact round_domains "${#thousand[@]}"
for i in $(seq "$rounds"); do
  say "interleaved round $i of $rounds"
  $measure --out "$r/round_s_time_$i.m" openssl s_time -connect "$SCALE_WORLD_WEB" -new -time 3 \
    >"$r/round_s_time_$i.out" 2>&1
  fact "round_s_time_${i}_handshakes" \
    "$(sed -n 's/^\([0-9]*\) connections in .*/\1/p' "$r/round_s_time_$i.out" | head -1)"
  $measure --out "$r/round_check_$i.m" "$bin" check --json "${net[@]}" "${thousand[@]}" \
    >"$r/round_check_$i.json" 2>"$r/round_check_$i.err" || true
  fact "round_check_${i}_healthy" "$(healthy <"$r/round_check_$i.json")"
  $measure --out "$r/round_sample_$i.m" "$bin" check --json "${net[@]}" "${sampled[@]}" \
    >/dev/null 2>&1 || true
  SSL_CERT_FILE=$SCALE_WORLD_CA $measure --out "$r/round_stsresolver_$i.m" \
    /usr/bin/python3 "$here/sts_resolver_peer.py" "$r/sample.txt" 100 \
    >"$r/round_stsresolver_$i.json" 2>"$r/round_stsresolver_$i.err" || true
done

# 8. Instructions, which the machine's load cannot move (valgrind's callgrind counts them):
# s_time for 2 s and for 8 s, our check over 50 and over 300 domains. The differences give one
# handshake's and one check's instructions without either process's start-up. From the 300 run
# also the instructions inside our certificate verification (VerifyCertificateFor, which runs
# X509_verify_cert) and inside ECDSA_do_verify, and the same function in s_time's 8 s run:
# s_time, given no CA file, verifies the server's handshake signature but not the leaf's.
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  say "instructions: callgrind of s_time (2 s, 8 s) and of check (50, 300 domains)"
  inclusive() { # inclusive() CALLGRIND_OUT FUNCTION: its inclusive instructions and its calls
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
      awk -v fn="$2" 'index($0, ":" fn " [") || index($0, ":" fn "(") { gsub(",", "", $1); print $1; exit }'
  }
  calls() { # calls() CALLGRIND_OUT FUNCTION: how many times its callers called it, in all
    callgrind_annotate --tree=caller --threshold=100 "$1" 2>/dev/null |
      awk -v fn="$2" '
        /^ *[0-9,]+ \([ 0-9.]+%\)  < / { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c); block += c; next }
        /^ *[0-9,]+ \([ 0-9.]+%\)  \* / { if (index($0, ":" fn " [")) { print block; found = 1; exit } }
        { block = 0 }
        END { if (!found) print 0 }'
  }
  collected() { sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$1" | head -1; }
  for t in 2 8; do
    valgrind --tool=callgrind --callgrind-out-file="$r/cg_s_time_$t.out" \
      openssl s_time -connect "$SCALE_WORLD_WEB" -new -time "$t" >"$r/cg_s_time_$t.txt" 2>"$r/cg_s_time_$t.err" || true
    fact "cg_s_time_${t}_handshakes" "$(sed -n 's/^\([0-9]*\) connections in .*/\1/p' "$r/cg_s_time_$t.txt" | head -1)"
    fact "cg_s_time_${t}_ir" "$(collected "$r/cg_s_time_$t.err")"
  done
  fact cg_s_time_ecdsa_ir "$(inclusive "$r/cg_s_time_8.out" ECDSA_do_verify)"
  fact cg_s_time_ecdsa_calls "$(calls "$r/cg_s_time_8.out" ECDSA_do_verify)"
  for k in 50 300; do
    valgrind --tool=callgrind --callgrind-out-file="$r/cg_check_$k.out" \
      "$bin" check --json "${net[@]}" "${domains[@]:0:k}" >"$r/cg_check_$k.json" 2>"$r/cg_check_$k.err" || true
    fact "cg_check_${k}_ir" "$(collected "$r/cg_check_$k.err")"
    fact "cg_check_${k}_healthy" "$(healthy <"$r/cg_check_$k.json")"
  done
  fact cg_check_verify_ir "$(inclusive "$r/cg_check_300.out" mtasts::net::VerifyCertificateFor)"
  fact cg_check_ecdsa_ir "$(inclusive "$r/cg_check_300.out" ECDSA_do_verify)"
  fact cg_check_ecdsa_calls "$(calls "$r/cg_check_300.out" ECDSA_do_verify)"
fi
say "done"
