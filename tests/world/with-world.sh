#!/usr/bin/env bash
# Runs CMD inside a throw-away "test world": a private network namespace holding a DNS server
# (dnsmasq), an HTTPS server (nginx) and SMTP servers (postfix) that serve the MTA-STS postures of
# postures.tsv, with a root CA minted for this run only. Usage:
#
#   tests/world/with-world.sh CMD [ARGS...]
#
# CMD sees MTASTS_WORLD_DIR, MTASTS_WORLD_DNS, MTASTS_WORLD_CA, MTASTS_WORLD_ALLOW_CIDR,
# MTASTS_WORLD_ALLOW_CIDR6 and MTASTS_WORLD_POSTURES; the script exits with CMD's status. MTASTS_WORLD_KEEP=1 keeps the temp
# dir (certificates, configs, logs) after the run. MTASTS_WORLD_FAULTS=1 also starts the hostile
# peers of fault-peer.py (zones dnsfault.test and httpfault.test; CMD then sees
# MTASTS_WORLD_FAULT_DNS, MTASTS_WORLD_FAULT_MANY_CIDRS and MTASTS_WORLD_FAULT_PID). See
# README.md beside this file.
#
# No packet can leave: the world lives in a network namespace of its own (unshare --net) whose
# only interface is lo, and every test address sits on lo.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
self="$here/$(basename -- "${BASH_SOURCE[0]}")"

die() {
  echo "with-world: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Stage 1 (outside): re-exec this script in fresh network and mount namespaces. unshare without
# --fork execs in place, so the PID, stdin and signals stay with the caller's process. The marker
# variables are unset again before CMD runs, so CMD may itself start a nested world.
# ---------------------------------------------------------------------------------------------
if [[ "${_MTASTS_WORLD_STAGE:-}" != inner ]]; then
  if (($# == 0)); then
    sed -n '2,10s/^# \{0,1\}//p' "$self" >&2
    exit 2
  fi
  ((EUID == 0)) || die "must run as root (it creates a network namespace with unshare --net)"
  command -v unshare >/dev/null || die "unshare not found; run: bash scripts/install-deps.sh --with-test"
  _MTASTS_WORLD_STAGE=inner
  _MTASTS_WORLD_OUTER_NETNS=$(readlink /proc/self/ns/net)
  export _MTASTS_WORLD_STAGE _MTASTS_WORLD_OUTER_NETNS
  exec unshare --net --mount --propagation private -- bash "$self" "$@"
fi

# ---------------------------------------------------------------------------------------------
# Stage 2 (inside the namespaces).
# ---------------------------------------------------------------------------------------------
outer_netns=${_MTASTS_WORLD_OUTER_NETNS:-}
unset _MTASTS_WORLD_STAGE _MTASTS_WORLD_OUTER_NETNS
# Belt and braces for the no-traffic-outside rule: refuse to serve anything in the caller's netns.
[[ -n $outer_netns && $(readlink /proc/self/ns/net) != "$outer_netns" ]] ||
  die "not in a private network namespace; refusing to start servers"

for tool in dnsmasq nginx openssl ip kdig curl setpriv postfix ss; do
  PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null ||
    die "$tool not found; run: bash scripts/install-deps.sh --with-test"
done
readonly DNSMASQ=/usr/sbin/dnsmasq NGINX=/usr/sbin/nginx
readonly ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
[[ -r $ECHO_MODULE ]] || die "$ECHO_MODULE missing (nginx echo module, package libnginx-mod-http-echo)"

readonly POSTURES="$here/postures.tsv"
readonly DNS_IP=127.0.0.1 DNS_PORT=53
readonly WEB_IP=203.0.113.10     # every good (and most bad) policy host, one nginx, SNI-routed
readonly NOMX_IP=203.0.113.20    # the A record that makes no-mx.test exist
readonly PRIVATE_IP=10.0.0.1     # a private address the SSRF guard must refuse
readonly ALLOW_CIDR=203.0.113.0/24
# IPv6 (the dual-stack postures): a documentation /64 on lo, allowed through the SSRF guard like
# ALLOW_CIDR. WEB_IP6 is nginx, MX_GOOD_IP6 postfix with the good MX certificate; DEAD_IP6 is on
# lo with nothing listening (a connection is refused at once): the broken AAAA of v6-broken.test.
readonly ALLOW_CIDR6=2001:db8:113::/64
readonly WEB_IP6=2001:db8:113::10 MX_GOOD_IP6=2001:db8:113::31 DEAD_IP6=2001:db8:113::dead
# MX hosts (postfix, port 25), one address per SMTP posture; MX_DOWN_IP has nothing listening.
readonly MX_GOOD_IP=203.0.113.31 MX_NOTLS_IP=203.0.113.32 MX_WRONG_IP=203.0.113.33
readonly MX_EXPIRED_IP=203.0.113.34 MX_SELF_IP=203.0.113.35 MX_DOWN_IP=203.0.113.36
readonly MX_EXPIRING_IP=203.0.113.37
readonly MX_IPS="$MX_GOOD_IP $MX_NOTLS_IP $MX_WRONG_IP $MX_EXPIRED_IP $MX_SELF_IP $MX_EXPIRING_IP"
# The hostile peers (MTASTS_WORLD_FAULTS=1): DNS over UDP+TCP, DNS over UDP only, and one HTTPS
# address per behaviour, in fault-peer.py's order.
readonly FAULTS=${MTASTS_WORLD_FAULTS:-0}
readonly FAULT_DNS_IP=203.0.113.53 FAULT_DNS_UDP_ONLY_IP=203.0.113.54
readonly FAULT_HTTP_BEHAVIOURS=(ok hang hang-tls drip reset endless badchunk tls10 headerflood
  bigheader chunkline)
readonly FAULT_HTTP_IPS=(203.0.113.60 203.0.113.61 203.0.113.62 203.0.113.63 203.0.113.64
  203.0.113.65 203.0.113.66 203.0.113.67 203.0.113.68 203.0.113.69 203.0.113.70)
# The thousands of addresses of mta-sts.many-rst.httpfault.test: routed to lo as local, with
# nothing listening, so every connection attempt gets a RST (and never leaves the namespace).
readonly FAULT_MANY_V4=198.18.0.0/20 FAULT_MANY_V6=2001:db8:5353::/64
readonly FAULT_DNS_DOMAINS=(timeout.dnsfault.test servfail.dnsfault.test tc.dnsfault.test
  tc-notcp.dnsfault.test huge.dnsfault.test)
readonly STS_TXT='v=STSv1; id=20240101T000000;'

t_start=$(date +%s%N)
WORLD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mtasts-world.XXXXXX")
dnsmasq_pid=''
nginx_pid=''
postfix_started=0
fault_pid=''

# shellcheck disable=SC2317  # running and teardown are reached only through the EXIT trap.
# True while PID exists and is not a zombie (kill -0 succeeds on unreaped zombies).
running() {
  local _pid _comm state
  read -r _pid _comm state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [[ $state != Z ]]
}

# Stops the servers and removes the temp dir; keeps the exit status of whatever ran last.
# shellcheck disable=SC2317
teardown() {
  local status=$?
  trap - EXIT INT TERM HUP
  local pid i alive
  stop_postfix
  for pid in $nginx_pid $dnsmasq_pid $fault_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Bounded wait (5 s), then SIGKILL: a hung server must not hang the test run.
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid in $nginx_pid $dnsmasq_pid $fault_pid; do
      running "$pid" && alive=1
    done
    ((alive)) || break
    sleep 0.05
  done
  for pid in $nginx_pid $dnsmasq_pid $fault_pid; do
    if running "$pid"; then
      echo "with-world: pid $pid ignored SIGTERM for 5 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${MTASTS_WORLD_KEEP:-0} == 1 ]]; then
    echo "with-world: kept $WORLD_DIR" >&2
  else
    rm -rf -- "$WORLD_DIR"
  fi
  exit "$status"
}
# Postfix daemonizes (its master signals its whole process group on SIGTERM, so it cannot share
# ours). SIGTERM to the master is what `postfix stop` sends, without its 1 s polling.
# shellcheck disable=SC2317
stop_postfix() {
  ((postfix_started)) || return 0
  postfix_started=0
  local master i
  master=$(tr -d ' ' <"$WORLD_DIR/postfix/queue/pid/master.pid" 2>/dev/null || true)
  [[ -n $master ]] && kill -TERM "$master" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    [[ -n $master ]] && running "$master" || break
    sleep 0.05
  done
  if [[ -n $master ]] && running "$master"; then
    echo "with-world: postfix master $master still running after 5 s; sending SIGKILL" >&2
    kill -KILL -- "-$master" 2>/dev/null || kill -KILL "$master" 2>/dev/null || true
  fi
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# setup_fail MESSAGE [LOG...]: say what failed, show the tail of each log (by default the
# servers' logs), exit 1 (the EXIT trap tears down).
setup_fail() {
  echo "with-world: SETUP FAILED: $1" >&2
  shift
  (($#)) || set -- dnsmasq.out dnsmasq.log nginx.out nginx-error.log postfix.out postfix.log
  local f
  for f in "$@"; do
    [[ -s $WORLD_DIR/$f ]] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 -- "$WORLD_DIR/$f" >&2
  done
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Network: lo only, with every test address on it.
# ---------------------------------------------------------------------------------------------
ip link set lo up
for addr in "$WEB_IP" "$NOMX_IP" "$PRIVATE_IP" $MX_IPS "$MX_DOWN_IP"; do
  ip addr add "$addr/32" dev lo
done
# nodad: usable at once (the kernel skips duplicate address detection on lo anyway).
for addr in "$WEB_IP6" "$MX_GOOD_IP6" "$DEAD_IP6"; do
  ip -6 addr add "$addr/128" dev lo nodad
done
if ((FAULTS)); then
  for addr in "$FAULT_DNS_IP" "$FAULT_DNS_UDP_ONLY_IP" "${FAULT_HTTP_IPS[@]}"; do
    ip addr add "$addr/32" dev lo
  done
  ip route add local "$FAULT_MANY_V4" dev lo
  ip -6 route add local "$FAULT_MANY_V6" dev lo
fi
[[ $(ip -o link show | wc -l) == 1 ]] || setup_fail "unexpected interfaces in the namespace: $(ip -o link show)"

# Tools that use the system resolver (curl without --resolve, getent) see the world's DNS. The
# mount namespace is private, so this bind mount vanishes with it.
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"$WORLD_DIR/resolv.conf"
mount --bind "$WORLD_DIR/resolv.conf" /etc/resolv.conf 2>/dev/null ||
  echo "with-world: warning: could not bind-mount a private /etc/resolv.conf" >&2

# ---------------------------------------------------------------------------------------------
# The postures. The domain list comes from postures.tsv; the deviations from the default world
# are spelled out per domain below (RFC-NOTES.md describes the formats).
# ---------------------------------------------------------------------------------------------
mapfile -t DOMAINS < <(awk -F'\t' '!/^#/ && NF { print $1 }' "$POSTURES")
((${#DOMAINS[@]} > 0)) || setup_fail "no domains in $POSTURES"

# Addresses of mta-sts.D (none: the name does not exist).
policy_host_ips() {
  case $1 in
    no-policy-host.test) ;;
    private-host.test) echo "$PRIVATE_IP" ;;
    mixed-host.test) echo "$WEB_IP $PRIVATE_IP" ;;
    v6-only.test) echo "$WEB_IP6" ;;
    dual.test) echo "$WEB_IP $WEB_IP6" ;;
    v6-broken.test) echo "$WEB_IP $DEAD_IP6" ;;
    *) echo "$WEB_IP" ;;
  esac
}

# Which certificate mta-sts.D presents (files pki/NAME.{pem,key}).
cert_for() {
  case $1 in
    wrong-cert.test) echo wrong ;;
    expired-cert.test) echo expired ;;
    self-signed.test) echo self ;;
    policy-expiring.test) echo policy-expiring ;;
    *) echo good ;;
  esac
}

# The MX hosts of D, one per line.
mx_hosts() {
  case $1 in
    enforce.test) printf '%s\n' "mx1.$1" "a.mail.$1" ;;
    mx-uncovered.test) printf '%s\n' "mx1.$1" backup.other.test ;;
    no-mx.test) ;;
    *) echo "mx1.$1" ;;
  esac
}

# The addresses of MX host H (an IPv4 and/or an IPv6 one), which pick its SMTP posture.
mx_ip() {
  case $1 in
    mx1.v6-only.test) echo "$MX_GOOD_IP6" ;;
    mx1.dual.test) echo "$MX_GOOD_IP $MX_GOOD_IP6" ;;
    mx1.v6-broken.test) echo "$MX_GOOD_IP $DEAD_IP6" ;;
    mx1.mx-no-starttls.test | mx1.mx-testing.test) echo "$MX_NOTLS_IP" ;;
    mx1.mx-wrong-cert.test) echo "$MX_WRONG_IP" ;;
    mx1.mx-expired-cert.test) echo "$MX_EXPIRED_IP" ;;
    mx1.mx-self-signed.test) echo "$MX_SELF_IP" ;;
    mx1.mx-down.test) echo "$MX_DOWN_IP" ;;
    mx1.mx-expiring.test) echo "$MX_EXPIRING_IP" ;;
    *) echo "$MX_GOOD_IP" ;;
  esac
}

# A plain policy with LF line endings: std_policy DOMAIN [MODE [MAX_AGE [VERSION]]]
std_policy() {
  printf 'version: %s\nmode: %s\nmx: mx1.%s\nmax_age: %s\n' "${4:-STSv1}" "${2:-enforce}" "$1" "${3:-604800}"
}

# The policy file body of D on stdout (bytes exactly as served).
policy_body() {
  local d=$1
  case $d in
    enforce.test) printf 'version: STSv1\nmode: enforce\nmx: mx1.enforce.test\nmx: *.mail.enforce.test\nmax_age: 604800\n' ;;
    testing.test | mx-testing.test) std_policy "$d" testing ;;
    none.test) printf 'version: STSv1\nmode: none\nmax_age: 604800\n' ;;
    bad-version.test) std_policy "$d" enforce 604800 STSv2 ;;
    max-age-range.test) std_policy "$d" enforce 31557601 ;;
    short-max-age.test) std_policy "$d" enforce 3600 ;;
    crlf-policy.test) printf 'mx: mx1.%s\r\nmode: enforce\r\nmax_age: 604800\r\nfoo: bar\r\nversion: STSv1\r\n' "$d" ;;
    oversized.test) oversized_policy "$d" 70000 ;;
    # Valid (an extension value may hold any UTF-8), but U+009B is CSI to a terminal.
    hostile-txt.test) std_policy "$d" && printf 'x-note: \xc2\x9b31mred\n' ;;
    *) std_policy "$d" ;;
  esac
}

# A valid policy padded with extension lines "xNNNN: aaa..." to exactly $2 bytes.
oversized_policy() {
  local head pad='' left len n=0
  head=$(std_policy "$1")$'\n'
  left=$(($2 - ${#head}))
  printf '%s' "$head"
  local a100
  a100=$(printf 'a%.0s' {1..200})
  while ((left > 0)); do
    # 100-byte lines; the last one takes the remainder (100..199 bytes).
    if ((left >= 200)); then len=100; else len=$left; fi
    n=$((n + 1))
    printf -v pad 'x%04d: ' "$n"
    printf '%s%s\n' "$pad" "${a100:0:$((len - ${#pad} - 1))}"
    left=$((left - len))
  done
}

# A CA-signed leaf: leaf NAME CN EXTENSIONS NOT_BEFORE NOT_AFTER (uses gen_pki's cnf, keyopts).
leaf() {
  ossl req -config "$cnf" -new "${keyopts[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$2"
  ossl ca -config "$cnf" -batch -notext -in "$pki/$1.csr" -out "$pki/$1.pem" \
    -extensions "$3" -startdate "$4" -enddate "$5"
}

# openssl with its chatter in openssl.log; any failure aborts the setup.
ossl() {
  echo "+ openssl $*" >>"$WORLD_DIR/openssl.log"
  openssl "$@" >>"$WORLD_DIR/openssl.log" 2>&1 || setup_fail "openssl $1 failed" openssl.log
}

# ---------------------------------------------------------------------------------------------
# PKI: a root CA minted now, a leaf with every good host as a SAN, and the three bad leaves.
# ---------------------------------------------------------------------------------------------
gen_pki() {
  local pki="$WORLD_DIR/pki" d
  mkdir -p "$pki/newcerts"
  : >"$pki/index.txt"
  openssl rand -hex 16 >"$pki/serial" # random start: two runs never share a serial
  local sans=() n=0
  for d in "${DOMAINS[@]}"; do
    [[ $(cert_for "$d") == good && -n $(policy_host_ips "$d") ]] || continue
    n=$((n + 1))
    sans+=("DNS.$n = mta-sts.$d")
  done
  local mx_sans=() h
  n=0
  for d in "${DOMAINS[@]}"; do
    for h in $(mx_hosts "$d"); do
      [[ " $(mx_ip "$h") " == *" $MX_GOOD_IP "* || " $(mx_ip "$h") " == *" $MX_GOOD_IP6 "* ]] ||
        continue
      n=$((n + 1))
      mx_sans+=("DNS.$n = $h")
    done
  done
  cat >"$pki/openssl.cnf" <<EOF
# Minimal, self-contained config: nothing is read from the system's openssl.cnf.
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ ca ]
default_ca = world_ca
[ world_ca ]
database = $pki/index.txt
serial = $pki/serial
new_certs_dir = $pki/newcerts
certificate = $WORLD_DIR/ca.pem
private_key = $pki/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ ext_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ext_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ext_good ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @san_good
[ san_good ]
$(printf '%s\n' "${sans[@]}")
[ ext_mxgood ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = @san_mxgood
[ san_mxgood ]
$(printf '%s\n' "${mx_sans[@]}")
[ ext_mxwrong ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.elsewhere.test
[ ext_mxexpired ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx1.mx-expired-cert.test
[ ext_mxself ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:mx1.mx-self-signed.test
[ ext_mxexpiring ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx1.mx-expiring.test
[ ext_policy_expiring ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mta-sts.policy-expiring.test
[ ext_fault ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @san_fault
[ san_fault ]
$(n=0; for d in "${FAULT_HTTP_BEHAVIOURS[@]/%/.httpfault.test}" "${FAULT_DNS_DOMAINS[@]}"; do
    n=$((n + 1)); echo "DNS.$n = mta-sts.$d"; done)
[ ext_wrong ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.wrong-cert.test
[ ext_expired ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mta-sts.expired-cert.test
[ ext_self ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:mta-sts.self-signed.test
EOF
  local cnf="$pki/openssl.cnf"
  local keyopts=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  # UTCTime (YYMMDDHHMMSSZ): RFC 5280 wants it for dates before 2050.
  # Good leaves last 60 days, well past the 14-day expiry warning; the "expiring" ones 5 days.
  local now_m1h now_p2d now_p5d now_p60d past_30d past_1d
  now_m1h=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
  now_p2d=$(date -u -d '+2 days' +%y%m%d%H%M%SZ)
  now_p5d=$(date -u -d '+5 days' +%y%m%d%H%M%SZ)
  now_p60d=$(date -u -d '+60 days' +%y%m%d%H%M%SZ)
  past_30d=$(date -u -d '-30 days' +%y%m%d%H%M%SZ)
  past_1d=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
  ossl req -config "$cnf" -x509 "${keyopts[@]}" -keyout "$pki/ca.key" -out "$WORLD_DIR/ca.pem" \
    -subj "/O=mta-sts-exporter test world/CN=Test World Root CA ${WORLD_DIR##*.}" \
    -days 90 -extensions ext_ca
  leaf good "mta-sts test world hosts" ext_good "$now_m1h" "$now_p60d"
  leaf wrong www.wrong-cert.test ext_wrong "$now_m1h" "$now_p2d"
  leaf expired mta-sts.expired-cert.test ext_expired "$past_30d" "$past_1d"
  if ((FAULTS)); then leaf fault "mta-sts fault peers" ext_fault "$now_m1h" "$now_p60d"; fi
  ossl req -config "$cnf" -x509 "${keyopts[@]}" -keyout "$pki/self.key" -out "$pki/self.pem" \
    -subj /CN=mta-sts.self-signed.test -days 3 -extensions ext_self
  leaf policy-expiring mta-sts.policy-expiring.test ext_policy_expiring "$now_m1h" "$now_p5d"
  leaf mxgood "mx test world hosts" ext_mxgood "$now_m1h" "$now_p60d"
  leaf mxwrong mail.elsewhere.test ext_mxwrong "$now_m1h" "$now_p60d"
  leaf mxexpired mx1.mx-expired-cert.test ext_mxexpired "$past_30d" "$past_1d"
  leaf mxexpiring mx1.mx-expiring.test ext_mxexpiring "$now_m1h" "$now_p5d"
  ossl req -config "$cnf" -x509 "${keyopts[@]}" -keyout "$pki/mxself.key" -out "$pki/mxself.pem" \
    -subj /CN=mx1.mx-self-signed.test -days 3 -extensions ext_mxself
  # DANE-EE SPKI SHA-256 (TLSA 3 1 1) of the good MX certificate, for _25._tcp.mx1.mx-good.test.
  openssl x509 -in "$pki/mxgood.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1 >"$pki/mxgood.tlsa"
}

# ---------------------------------------------------------------------------------------------
# DNS: dnsmasq answering only from its config. local=/test/ makes unknown .test names NXDOMAIN;
# a known name asked for a type it lacks gets NODATA (NOERROR, empty answer); with no upstream,
# any other name gets REFUSED, so nothing is ever forwarded.
# ---------------------------------------------------------------------------------------------
gen_dns() {
  local conf="$WORLD_DIR/dnsmasq.conf" d ip h
  {
    cat <<EOF
no-resolv
no-hosts
no-poll
local=/test/
listen-address=$DNS_IP
port=$DNS_PORT
bind-interfaces
log-queries=extra
log-facility=$WORLD_DIR/dnsmasq.log
EOF
    if ((FAULTS)); then
      # Delegation to the hostile DNS peer; tc-notcp goes to its UDP-only address, so the TCP
      # retry after a truncated answer is refused.
      echo "server=/dnsfault.test/$FAULT_DNS_IP"
      echo "server=/httpfault.test/$FAULT_DNS_IP"
      echo "server=/tc-notcp.dnsfault.test/$FAULT_DNS_UDP_ONLY_IP"
    fi
    for d in "${DOMAINS[@]}"; do
      echo "# $d"
      case $d in # _mta-sts.D
        no-txt.test) ;;
        two-txt.test)
          echo "txt-record=_mta-sts.$d,\"v=STSv1; id=aaa111;\""
          echo "txt-record=_mta-sts.$d,\"v=STSv1; id=bbb222;\""
          ;;
        bad-id.test) echo "txt-record=_mta-sts.$d,\"v=STSv1; id=2024-01-01;\"" ;;
        # Comma-separated strings become character-strings of ONE record.
        multi-string-txt.test) echo "txt-record=_mta-sts.$d,\"v=STSv1; id=\",\"abc123;\"" ;;
        cname-txt.test) echo "cname=_mta-sts.$d,_mta-sts.enforce.test" ;;
        # dnsmasq turns \e and \r in a quoted string into ESC and CR; other bytes (here 0xFF
        # 0xFE, not UTF-8) go out as they are.
        hostile-txt.test)
          printf 'txt-record=_mta-sts.%s,"v=STSv1; id=\\e[2K\\rSTS record: v=STSv1; id=ok;\xff\xfe"\n' "$d"
          ;;
        *) echo "txt-record=_mta-sts.$d,\"$STS_TXT\"" ;;
      esac
      case $d in # _smtp._tls.D
        no-tlsrpt.test) ;;
        bad-tlsrpt.test) echo "txt-record=_smtp._tls.$d,\"v=TLSRPTv1; rua=ftp://reports.bad-tlsrpt.test/\"" ;;
        *) echo "txt-record=_smtp._tls.$d,\"v=TLSRPTv1; rua=mailto:tlsrpt@$d\"" ;;
      esac
      case $d in # MX of D
        enforce.test) printf '%s\n' "mx-host=$d,mx1.$d,10" "mx-host=$d,a.mail.$d,20" ;;
        mx-uncovered.test) printf '%s\n' "mx-host=$d,mx1.$d,10" "mx-host=$d,backup.other.test,20" ;;
        no-mx.test) echo "host-record=$d,$NOMX_IP" ;;
        *) echo "mx-host=$d,mx1.$d,10" ;;
      esac
      for h in $(mx_hosts "$d"); do # A and/or AAAA of each MX host
        for ip in $(mx_ip "$h"); do echo "host-record=$h,$ip"; done
      done
      # TLSA (RR type 52) for DANE; dnsmasq serves it without DNSSEC, so AD stays clear.
      if [[ $d == mx-good.test ]]; then
        echo "dns-rr=_25._tcp.mx1.$d,52,030101$(cat "$WORLD_DIR/pki/mxgood.tlsa")"
      fi
      for ip in $(policy_host_ips "$d"); do # A and/or AAAA of mta-sts.D
        echo "host-record=mta-sts.$d,$ip"
      done
    done
    ssrf_dns
  } >"$conf"
}

# The SSRF proof (tests/integration/ssrf_packet_test.cc): policy hosts on refused addresses of
# every kind, outside postures.tsv. Only their A/AAAA records exist; the test puts the addresses
# on lo itself, so that a connection attempt would really send a packet.
ssrf_dns() {
  cat <<EOF
# SSRF proof names
host-record=mta-sts.ssrf-loopback.test,127.0.0.1
host-record=mta-sts.ssrf-private.test,10.0.0.1
host-record=mta-sts.ssrf-metadata.test,169.254.169.254
host-record=mta-sts.ssrf-cgnat.test,100.64.0.1
host-record=mta-sts.ssrf-zero.test,0.0.0.0
host-record=mta-sts.ssrf-ula.test,fd00::1
host-record=mta-sts.ssrf-mapped.test,::ffff:10.0.0.1
host-record=mta-sts.ssrf-nat64.test,64:ff9b::a00:1
host-record=mta-sts.ssrf-6to4.test,2002:a00:1::1
host-record=mta-sts.ssrf-teredo.test,2001:0:4136:e378:8000:63bf:f5ff:fffe
host-record=mta-sts.ssrf-mixed6.test,203.0.113.10,fd00::1
EOF
}

# ---------------------------------------------------------------------------------------------
# HTTPS: one nginx, one server block per (policy host, address), routed by SNI/Host.
# ---------------------------------------------------------------------------------------------
gen_www() {
  local d
  for d in "${DOMAINS[@]}"; do
    case $d in
      policy-404.test) mkdir -p "$WORLD_DIR/www/$d" ;; # no file: a natural 404
      *)
        mkdir -p "$WORLD_DIR/www/$d/.well-known"
        policy_body "$d" >"$WORLD_DIR/www/$d/.well-known/mta-sts.txt"
        ;;
    esac
  done
}

# The location block serving /.well-known/mta-sts.txt for D.
nginx_policy_location() {
  local d=$1
  echo "    location = /.well-known/mta-sts.txt {"
  case $d in
    policy-500.test) echo "      return 500;" ;;
    redirect.test) echo "      return 301 https://mta-sts.enforce.test/.well-known/mta-sts.txt;" ;;
    slow.test)
      # echo_sleep holds the response (headers included) without blocking the worker.
      echo "      default_type text/plain;"
      echo "      echo_sleep 30;"
      policy_body "$d" | sed 's/^\(.*\)$/      echo "\1";/'
      ;;
    text-html.test) echo "      types { } default_type text/html;" ;;
    *) echo "      types { } default_type text/plain;" ;;
  esac
  echo "    }"
}

# An address as nginx and postfix write it with a port: [v6] in brackets.
bracket() {
  if [[ $1 == *:* ]]; then echo "[$1]"; else echo "$1"; fi
}

# server block: nginx_server DOMAIN LISTEN_IP LOGNAME
nginx_server() {
  local d=$1 ip=$2 log=$3 cert
  cert=$(cert_for "$d")
  cat <<EOF
  server {
    listen $(bracket "$ip"):443 ssl;
    server_name mta-sts.$d;
    ssl_certificate $WORLD_DIR/pki/$cert.pem;
    ssl_certificate_key $WORLD_DIR/pki/$cert.key;
    access_log $WORLD_DIR/access.log world;
    access_log $WORLD_DIR/$log world;
    root $WORLD_DIR/www/$d;
$(nginx_policy_location "$d")
    location / { return 404; }
  }
EOF
}

gen_nginx() {
  local conf="$WORLD_DIR/nginx.conf" d ip
  mkdir -p "$WORLD_DIR/nginx-tmp"
  {
    cat <<EOF
load_module $ECHO_MODULE;
daemon off;
master_process on;
worker_processes 1;
# Workers must read the 0700 temp dir; this nginx only ever listens inside the namespace.
user root root;
pid $WORLD_DIR/nginx.pid;
error_log $WORLD_DIR/nginx-error.log info;
events { worker_connections 512; }
http {
  client_body_temp_path $WORLD_DIR/nginx-tmp/body;
  proxy_temp_path $WORLD_DIR/nginx-tmp/proxy;
  fastcgi_temp_path $WORLD_DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORLD_DIR/nginx-tmp/uwsgi;
  scgi_temp_path $WORLD_DIR/nginx-tmp/scgi;
  server_tokens off;
  keepalive_timeout 5s;
  ssl_protocols TLSv1.2 TLSv1.3;
  # One line per request: who asked which address, with which SNI and Host, and the result.
  log_format world '\$time_iso8601 \$remote_addr \$server_addr:\$server_port '
                   'sni=\$ssl_server_name host=\$host "\$request" \$status \$body_bytes_sent '
                   '"\$http_user_agent"';
  access_log $WORLD_DIR/access.log world;

  # Anything without a known SNI/Host (on either HTTPS address) gets 421 Misdirected Request.
  server {
    listen $WEB_IP:443 ssl default_server;
    listen $PRIVATE_IP:443 ssl default_server;
    listen [$WEB_IP6]:443 ssl default_server;
    server_name _;
    ssl_certificate $WORLD_DIR/pki/good.pem;
    ssl_certificate_key $WORLD_DIR/pki/good.key;
    access_log $WORLD_DIR/access.log world;
    access_log $WORLD_DIR/access-unknown.log world;
    location / { return 421; }
  }
  # Plain HTTP is never part of MTA-STS; it is served only so tests can prove nobody used it.
  server {
    listen $WEB_IP:80 default_server;
    listen $PRIVATE_IP:80 default_server;
    listen [$WEB_IP6]:80 default_server;
    server_name _;
    access_log $WORLD_DIR/access.log world;
    access_log $WORLD_DIR/access-http.log world;
    location / { return 404; }
  }
EOF
    for d in "${DOMAINS[@]}"; do
      for ip in $(policy_host_ips "$d"); do
        [[ $ip == "$DEAD_IP6" ]] && continue # nothing listens there
        if [[ $ip == "$PRIVATE_IP" ]]; then
          nginx_server "$d" "$ip" access-private.log
        else
          nginx_server "$d" "$ip" "access-$d.log"
        fi
      done
    done
    echo "}"
  } >"$conf"
}

# ---------------------------------------------------------------------------------------------
# SMTP: one postfix instance (config and queue inside the world dir) with an smtpd per MX
# address, each with its own certificate; MX_NOTLS_IP offers no STARTTLS. No mail is accepted
# over SMTP (no local domains, relaying refused): the exporter only ever says EHLO, STARTTLS and
# QUIT. Mail submitted with `sendmail` to reports.test is delivered as TLS-RPT reports are
# (README "Receiving reports by mail"), as user nobody: tlsrpt@ into the Maildir
# mail/tlsrpt/Maildir/; tlsrpt-pipe@ through a pipe into `tlsrpt ingest` with the config the
# test writes to tlsrpt/config.yaml, tlsrpt-defer@ the same with tlsrpt/unavailable.yaml. The
# test links tlsrpt/mta-sts-exporter to the binary under test.
# ---------------------------------------------------------------------------------------------
gen_postfix() {
  local dir="$WORLD_DIR/postfix" pki="$WORLD_DIR/pki"
  mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  # The queue directories as postfix-files lays them out, made here: postfix's own create-missing
  # and permission audit (`postfix start`) take seconds of postconf and find calls.
  local q=$dir/queue
  mkdir -m 700 "$q"/{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace}
  mkdir -m 730 "$q/maildrop" && mkdir -m 710 "$q/public" && mkdir -m 755 "$q/pid"
  chown postfix "$q"/{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace}
  chown postfix:postdrop "$q/maildrop" "$q/public"
  # The daemons run as user postfix and must reach their queue inside the 0700 temp dir.
  chmod 711 "$WORLD_DIR"
  cat >"$dir/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $WORLD_DIR/postfix.log
maillog_file_prefixes = $WORLD_DIR
myhostname = mx.world.test
mydestination =
relayhost =
inet_interfaces = all
inet_protocols = all
smtpd_peername_lookup = no
smtpd_relay_restrictions = reject
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
default_process_limit = 200
virtual_mailbox_domains = reports.test
virtual_mailbox_base = $WORLD_DIR/mail
virtual_mailbox_maps = inline:{ tlsrpt@reports.test=tlsrpt/Maildir/ }
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
transport_maps = inline:{ tlsrpt-pipe@reports.test=tlsrpt-ingest:, tlsrpt-defer@reports.test=tlsrpt-defer: }
EOF
  mkdir -p "$WORLD_DIR/mail/tlsrpt" "$WORLD_DIR/tlsrpt"
  chown -R nobody: "$WORLD_DIR/mail"
  chmod 700 "$WORLD_DIR/mail"
  local ingest="pipe user=nobody argv=$WORLD_DIR/tlsrpt/mta-sts-exporter tlsrpt ingest"
  # Debian's services minus its port 25 listener, none chrooted (the queue is no jail here).
  awk '/^[a-z]/ { if ($5 == "y" || $5 == "-") $5 = "n" } 1' /etc/postfix/master.cf |
    sed '/^smtp  *inet/d' >"$dir/conf/master.cf"
  local tls="-o smtpd_tls_cert_file=$pki/%s.pem -o smtpd_tls_key_file=$pki/%s.key"
  {
    # shellcheck disable=SC2059  # the format is ours
    printf "%s:25 inet n - n - - smtpd $tls\n" \
      "$MX_GOOD_IP" mxgood mxgood "$MX_WRONG_IP" mxwrong mxwrong \
      "$MX_EXPIRED_IP" mxexpired mxexpired "$MX_SELF_IP" mxself mxself \
      "$MX_EXPIRING_IP" mxexpiring mxexpiring "[$MX_GOOD_IP6]" mxgood mxgood
    echo "$MX_NOTLS_IP:25 inet n - n - - smtpd -o smtpd_tls_security_level=none"
    echo "tlsrpt-ingest unix - n n - - $ingest --config.file=$WORLD_DIR/tlsrpt/config.yaml"
    echo "tlsrpt-defer unix - n n - - $ingest --config.file=$WORLD_DIR/tlsrpt/unavailable.yaml"
  } >>"$dir/conf/master.cf"
}

# ---------------------------------------------------------------------------------------------
# Start and wait.
# ---------------------------------------------------------------------------------------------
gen_pki
gen_dns
gen_www
gen_nginx
gen_postfix

# setpriv --pdeathsig: should this script be SIGKILLed (a harness timeout), the servers get
# SIGTERM instead of living on in an orphaned namespace. The kernel clears that setting when a
# process changes its uid/gid, hence --user=root --group=root (dnsmasq would switch to nobody/dip).
start_dnsmasq() {
  setpriv --pdeathsig TERM -- "$DNSMASQ" --keep-in-foreground --conf-file="$WORLD_DIR/dnsmasq.conf" \
    --user=root --group=root --pid-file="$WORLD_DIR/dnsmasq.pid" \
    </dev/null >>"$WORLD_DIR/dnsmasq.out" 2>&1 &
  dnsmasq_pid=$!
}
# SIGUSR1 (sent by set-txt.sh after it edited dnsmasq.conf) restarts dnsmasq on the new data:
# dnsmasq re-reads hosts files on SIGHUP, but never its txt-record lines.
# shellcheck disable=SC2317  # reached through the USR1 trap
restart_dnsmasq() {
  kill -TERM "$dnsmasq_pid" 2>/dev/null || true
  wait "$dnsmasq_pid" 2>/dev/null || true
  start_dnsmasq
}
start_dnsmasq
setpriv --pdeathsig TERM -- "$NGINX" -p "$WORLD_DIR" -c "$WORLD_DIR/nginx.conf" \
  -e "$WORLD_DIR/nginx-error.log" </dev/null >"$WORLD_DIR/nginx.out" 2>&1 &
nginx_pid=$!
postfix_started=1
# What `postfix start` ends with: master daemonizes, and -w makes this child wait until it is
# initialised (listeners bound) and exit with its status; checked in the loop below.
"$(postconf -d -h daemon_directory)/master" -c "$WORLD_DIR/postfix/conf" -w \
  </dev/null >>"$WORLD_DIR/postfix.out" 2>&1 &
postfix_waiter=$!
if ((FAULTS)); then
  command -v python3 >/dev/null || setup_fail "python3 not found (needed by MTASTS_WORLD_FAULTS=1)"
  fault_ips=$(
    IFS=,
    echo "${FAULT_HTTP_IPS[*]}"
  )
  setpriv --pdeathsig TERM -- python3 "$here/fault-peer.py" --dns "$FAULT_DNS_IP" \
    --dns-udp-only "$FAULT_DNS_UDP_ONLY_IP" --https "$fault_ips" \
    --cert "$WORLD_DIR/pki/fault.pem" --key "$WORLD_DIR/pki/fault.key" \
    --ready-file "$WORLD_DIR/fault.ready" </dev/null >"$WORLD_DIR/fault-peer.log" 2>&1 &
  fault_pid=$!
fi

# The DNS probe uses TCP: before dnsmasq binds, a TCP connect is refused at once, where a UDP
# query would sit out kdig's 1 s minimum timeout.
dns_ready() {
  [[ $(kdig @"$DNS_IP" -p "$DNS_PORT" +tcp +time=1 +retry=0 +short TXT _mta-sts.enforce.test 2>/dev/null) == "\"$STS_TXT\"" ]]
}
web_ready() {
  [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 1 --cacert "$WORLD_DIR/ca.pem" \
    --resolve "mta-sts.enforce.test:443:$WEB_IP" \
    https://mta-sts.enforce.test/.well-known/mta-sts.txt 2>/dev/null) == 200 ]]
}
# The master has started and listens on every SMTP address (it binds them all before smtpd
# runs; each smtpd is spawned per connection, so there is nothing else to wait for).
smtp_ready() {
  if [[ -n $postfix_waiter ]]; then
    running "$postfix_waiter" && return 1
    wait "$postfix_waiter" || setup_fail "postfix did not start" postfix.out postfix.log
    postfix_waiter=''
  fi
  local listening ip
  listening=$(ss -Hltn 2>/dev/null)
  for ip in $MX_IPS; do
    [[ $listening == *"$ip:25 "* ]] || return 1
  done
  [[ $listening == *"[$MX_GOOD_IP6]:25 "* ]]
}
# Poll every 50 ms for up to 10 s; fail at once if a server died.
for ((i = 0; ; i++)); do
  kill -0 "$dnsmasq_pid" 2>/dev/null || setup_fail "dnsmasq exited during startup"
  kill -0 "$nginx_pid" 2>/dev/null || setup_fail "nginx exited during startup"
  dns_ok=0 web_ok=0 smtp_ok=0
  dns_ready && dns_ok=1
  web_ready && web_ok=1
  smtp_ready && smtp_ok=1
  fault_ok=1
  if ((FAULTS)); then
    kill -0 "$fault_pid" 2>/dev/null || setup_fail "fault-peer.py exited during startup" fault-peer.log
    [[ -s $WORLD_DIR/fault.ready ]] || fault_ok=0
  fi
  ((dns_ok && web_ok && smtp_ok && fault_ok)) && break
  ((i < 200)) || setup_fail "not ready after 10 s (dns ok: $dns_ok, https ok: $web_ok, smtp ok: $smtp_ok, faults ok: $fault_ok)"
  sleep 0.05
done

echo "$$" >"$WORLD_DIR/world.pid" # for nsenter -t PID -n -m from another terminal
export MTASTS_WORLD_DIR="$WORLD_DIR"
export MTASTS_WORLD_DNS="$DNS_IP:$DNS_PORT"
export MTASTS_WORLD_CA="$WORLD_DIR/ca.pem"
export MTASTS_WORLD_ALLOW_CIDR="$ALLOW_CIDR"
export MTASTS_WORLD_ALLOW_CIDR6="$ALLOW_CIDR6"
export MTASTS_WORLD_POSTURES="$POSTURES"
export MTASTS_WORLD_SET_TXT="$here/set-txt.sh"
if ((FAULTS)); then
  export MTASTS_WORLD_FAULT_DNS="$FAULT_DNS_IP:53"
  export MTASTS_WORLD_FAULT_MANY_CIDRS="$FAULT_MANY_V4 $FAULT_MANY_V6"
  export MTASTS_WORLD_FAULT_PID="$fault_pid"
fi
env | grep '^MTASTS_WORLD_' | sort >"$WORLD_DIR/world.env"
echo "with-world: ready in $((($(date +%s%N) - t_start) / 1000000)) ms: $WORLD_DIR (pid $$)" >&2

# Run CMD as a child (not exec) so the teardown trap runs afterwards, and keep its status. It
# runs asynchronously so that signals reach our traps while it runs (bash runs no trap until a
# foreground child ends); <&0 keeps our stdin, which bash would otherwise replace by /dev/null.
# Ctrl-C reaches CMD directly (same process group): we only wait for it to end. TERM and HUP
# sent to this script are passed on to CMD; the teardown follows once CMD is gone.
cmd_pid=''
trap restart_dnsmasq USR1
trap ':' INT
trap '[[ -n $cmd_pid ]] && kill -TERM "$cmd_pid" 2>/dev/null' TERM HUP
setpriv --pdeathsig TERM -- "$@" <&0 & # CMD, too, ends if this script is killed
cmd_pid=$!
# wait returns early (status > 128) when a trapped signal arrives; wait again while CMD lives.
while kill -0 "$cmd_pid" 2>/dev/null; do
  wait "$cmd_pid" 2>/dev/null || true
done
status=0
wait "$cmd_pid" 2>/dev/null || status=$? # bash keeps the status of a reaped child
exit "$status"
