#!/usr/bin/env bash
# Runs CMD inside a throw-away "scale world": a private network namespace (lo only) holding
# Knot DNS and nginx that serve N generated, healthy MTA-STS domains d00001.scale.test ...
# each with its own certificate from a CA minted for this run. Usage:
#
#   bench/scale-world.sh N CMD [ARGS...]        (as root)
#
# CMD sees SCALE_WORLD_DIR (domains.txt, ca.pem, logs), SCALE_WORLD_DNS (127.0.0.1:53),
# SCALE_WORLD_CA, SCALE_WORLD_ALLOW_CIDR (203.0.113.0/24), SCALE_WORLD_WEB (203.0.113.10:443).
# /etc/resolv.conf points at the world's DNS inside the namespace, so tools that use the system
# resolver (blackbox_exporter, mta-sts-query) see the same names. SCALE_WORLD_KEEP=1 keeps the
# directory. Nothing can leave the namespace: its only interface is lo.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
self="$here/$(basename -- "${BASH_SOURCE[0]}")"
die() {
  echo "scale-world: $*" >&2
  exit 1
}

if [[ "${_SCALE_WORLD_STAGE:-}" != inner ]]; then
  (($# >= 2)) || {
    sed -n '2,12s/^# \{0,1\}//p' "$self" >&2
    exit 2
  }
  ((EUID == 0)) || die "must run as root (unshare --net)"
  _SCALE_WORLD_STAGE=inner
  _SCALE_WORLD_OUTER_NETNS=$(readlink /proc/self/ns/net)
  export _SCALE_WORLD_STAGE _SCALE_WORLD_OUTER_NETNS
  exec unshare --net --mount --propagation private -- bash "$self" "$@"
fi

outer_netns=${_SCALE_WORLD_OUTER_NETNS:-}
unset _SCALE_WORLD_STAGE _SCALE_WORLD_OUTER_NETNS
[[ -n $outer_netns && $(readlink /proc/self/ns/net) != "$outer_netns" ]] ||
  die "not in a private network namespace; refusing to start servers"

n=$1
shift
readonly WEB_IP=203.0.113.10 DNS_IP=127.0.0.1
dir=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-scale.XXXXXX")
knot_pid='' nginx_pid=''
# shellcheck disable=SC2317  # reached only through the EXIT trap
teardown() {
  local status=$?
  trap - EXIT INT TERM
  for pid in $nginx_pid $knot_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $nginx_pid $knot_pid; do wait "$pid" 2>/dev/null || true; done
  if [[ ${SCALE_WORLD_KEEP:-0} == 1 ]]; then
    echo "scale-world: kept $dir" >&2
  else
    rm -rf -- "$dir"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip link set lo up
ip addr add "$WEB_IP/32" dev lo
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$DNS_IP" >"$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf

t0=$(date +%s%N)
python3 "$here/gen_scale_world.py" "$dir" "$n" "$WEB_IP"
t_gen=$((($(date +%s%N) - t0) / 1000000))

# Knot DNS, authoritative for test. (SOA and NS only: any other .test name is NXDOMAIN),
# scale.test. (the generated domains) and absent.test. (empty: the 100,000-domain run's absent
# names are NXDOMAIN). It indexes its zones, so an answer costs the same at 100,000 domains as
# at 10 (dnsmasq scans its records linearly). Our resolver and the peers send RD queries; an
# authoritative answer (AA, no RA) is what a stub resolver takes from a recursive one.
mkdir -p "$dir/knot"
sed "s|@DIR@|$dir|g; s|@DNS_IP@|$DNS_IP|g" >"$dir/knot.conf" <<'KNOT'
server:
    rundir: "@DIR@/knot"
    listen: @DNS_IP@@53
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
control:
    listen: "@DIR@/knot/knot.sock"
database:
    storage: "@DIR@/knot"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "@DIR@/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: test.
  - domain: scale.test.
  - domain: absent.test.
KNOT

mkdir -p "$dir/nginx-tmp"
# One server for every policy host: the certificate is chosen per handshake by SNI (nginx
# >= 1.15.9 loads a certificate path with variables at each handshake), the policy names the
# domain's own MX host.
sed "s|@DIR@|$dir|g; s|@WEB_IP@|$WEB_IP|g" >"$dir/nginx.conf" <<'NGINX'
daemon off;
master_process on;
worker_processes 2;
user root root;
pid @DIR@/nginx.pid;
error_log @DIR@/nginx-error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path @DIR@/nginx-tmp/body;
  proxy_temp_path @DIR@/nginx-tmp/proxy;
  fastcgi_temp_path @DIR@/nginx-tmp/fastcgi;
  uwsgi_temp_path @DIR@/nginx-tmp/uwsgi;
  scgi_temp_path @DIR@/nginx-tmp/scgi;
  server_tokens off;
  access_log off;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen @WEB_IP@:443 ssl default_server;
    server_name ~^mta-sts\.(?<domain>.+)$;
    ssl_certificate @DIR@/certs/$ssl_server_name.pem;
    ssl_certificate_key @DIR@/leaf.key;
    location = /.well-known/mta-sts.txt {
      default_type text/plain;
      return 200 "version: STSv1\nmode: enforce\nmx: mx1.$domain\nmax_age: 604800\n";
    }
    location / { return 404; }
  }
}
NGINX

setpriv --pdeathsig TERM -- /usr/sbin/knotd --config="$dir/knot.conf" \
  </dev/null >"$dir/knot.out" 2>&1 &
knot_pid=$!
echo "$knot_pid" >"$dir/knot.pid"
setpriv --pdeathsig TERM -- /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" \
  </dev/null >"$dir/nginx.out" 2>&1 &
nginx_pid=$!

first=$(head -1 "$dir/domains.txt") last=$(tail -1 "$dir/domains.txt")
for ((i = 0; ; i++)); do
  if ! kill -0 "$knot_pid" 2>/dev/null; then
    cat "$dir/knot.out" >&2
    die "knotd exited"
  fi
  if ! kill -0 "$nginx_pid" 2>/dev/null; then
    cat "$dir/nginx.out" "$dir/nginx-error.log" >&2
    die "nginx exited"
  fi
  if [[ -n $(kdig @$DNS_IP +tcp +time=1 +retry=0 +short TXT "_mta-sts.$last" 2>/dev/null) ]] &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$dir/ca.pem" \
      "https://mta-sts.$first/.well-known/mta-sts.txt" 2>/dev/null) == 200 ]]; then
    break
  fi
  ((i < 600)) || die "not ready after 60 s"
  sleep 0.1
done
t_ready=$((($(date +%s%N) - t0) / 1000000))
echo "scale-world: $n domains generated in ${t_gen} ms, ready in ${t_ready} ms: $dir" >&2
echo "$t_gen" >"$dir/generation-ms"
echo "$t_ready" >"$dir/ready-ms"

export SCALE_WORLD_DIR=$dir SCALE_WORLD_DNS=$DNS_IP:53 SCALE_WORLD_CA=$dir/ca.pem
export SCALE_WORLD_ALLOW_CIDR=203.0.113.0/24 SCALE_WORLD_WEB=$WEB_IP:443
status=0
setpriv --pdeathsig TERM -- "$@" || status=$?
exit "$status"
