#!/usr/bin/env bash
# Where the CPU of the 2-cores-vs-1 sweep goes: ours and the servers' (nginx, knotd), for sweeps
# of the first 300 domains on 2 cores and pinned to 1 (taskset -c 0), three times each, in turn.
# Run inside the world (root):
#   bench/scale-world.sh 10000 bash bench/cores-split.sh build/release/mta-sts-exporter
# Prints per sweep: wall, our CPU and the servers' CPU in cores (CPU seconds per wall second).
set -euo pipefail
bin=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
mapfile -t doms < <(head -300 "$SCALE_WORLD_DIR/domains.txt")
net=("--dns.server=$SCALE_WORLD_DNS" "--tls.ca-file=$SCALE_WORLD_CA"
  "--ssrf.allow-cidr=$SCALE_WORLD_ALLOW_CIDR")
tck=$(getconf CLK_TCK)
servers_ticks() { # utime + stime of every nginx and knotd process
  local total=0 pid utime stime
  for pid in $(pgrep -f "knotd|nginx"); do
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat" 2>/dev/null || echo "0 0")
    total=$((total + utime + stime))
  done
  echo "$total"
}
for cores in 2 1 2 1 2 1; do
  pin=()
  [[ $cores == 1 ]] && pin=(taskset -c 0)
  s0=$(servers_ticks)
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$tmp" "${pin[@]}" "$bin" check --json "${net[@]}" "${doms[@]}" \
    >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  s1=$(servers_ticks)
  read -r user sys <"$tmp"
  awk -v c="$cores" -v ms=$(((t1 - t0) / 1000000)) -v u="$user" -v s="$sys" -v sv=$((s1 - s0)) \
    -v tck="$tck" 'BEGIN { w = ms / 1000; printf "cores=%s wall=%.2fs ours=%.2f servers=%.2f total=%.2f\n",
      c, w, (u + s) / w, sv / tck / w, (u + s + sv / tck) / w }'
done
