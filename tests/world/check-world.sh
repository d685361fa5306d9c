#!/usr/bin/env bash
# Smoke test of the test world: checks with kdig, curl and openssl s_client that every posture in
# postures.tsv is served as designed (DNS answers, HTTP status, media type, body, certificates).
# Run it inside a world:
#
#   tests/world/with-world.sh tests/world/check-world.sh
#
# Prints one MISMATCH line per failed expectation and exits 1 if there was any.
set -euo pipefail

: "${MTASTS_WORLD_DIR:?run me through tests/world/with-world.sh}"
: "${MTASTS_WORLD_DNS:?}" "${MTASTS_WORLD_CA:?}" "${MTASTS_WORLD_ALLOW_CIDR:?}" "${MTASTS_WORLD_POSTURES:?}"

readonly DNS_HOST=${MTASTS_WORLD_DNS%:*} DNS_PORT=${MTASTS_WORLD_DNS##*:}
readonly CA=$MTASTS_WORLD_CA LOGS=$MTASTS_WORLD_DIR
readonly WEB_IP=203.0.113.10 NOMX_IP=203.0.113.20 PRIVATE_IP=10.0.0.1
readonly MX_GOOD_IP=203.0.113.31 MX_NOTLS_IP=203.0.113.32 MX_WRONG_IP=203.0.113.33
readonly MX_EXPIRED_IP=203.0.113.34 MX_SELF_IP=203.0.113.35 MX_DOWN_IP=203.0.113.36
readonly MX_EXPIRING_IP=203.0.113.37
readonly WEB_IP6=2001:db8:113::10 MX_GOOD_IP6=2001:db8:113::31 DEAD_IP6=2001:db8:113::dead
readonly STS_TXT='"v=STSv1; id=20240101T000000;"'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-world.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

checks=0
failures=0
ctx=world # what is being checked, for MISMATCH lines

bad() {
  echo "MISMATCH [$ctx] $*" >&2
  failures=$((failures + 1))
}

# expect LABEL EXPECTED ACTUAL
expect() {
  checks=$((checks + 1))
  [[ $2 == "$3" ]] || bad "$1: expected <${2//$'\n'/ | }>, got <${3//$'\n'/ | }>"
}

# expect_true LABEL CMD...: the command succeeds.
expect_true() {
  local label=$1
  shift
  checks=$((checks + 1))
  "$@" || bad "$label"
}

# bracket IP: an IPv6 address in brackets, an IPv4 address as it is. hp IP PORT: IP:PORT so.
bracket() {
  if [[ $1 == *:* ]]; then echo "[$1]"; else echo "$1"; fi
}
hp() { echo "$(bracket "$1"):$2"; }

# ---------------------------------------------------------------------------------------------
# DNS helpers.
# ---------------------------------------------------------------------------------------------

# dns TYPE NAME [KDIG-OPTS...]: the rcode, then the answer RRs as sorted "TYPE RDATA" lines.
# +noidn: kdig otherwise prints xn-- names as U-labels (mx1.bücher.test).
dns() {
  local type=$1 name=$2 out rcode
  shift 2
  out=$(kdig @"$DNS_HOST" -p "$DNS_PORT" +time=2 +retry=0 +noidn +noall +header +answer "$@" "$name" "$type" 2>&1) ||
    {
      echo "KDIG-FAILED"
      return
    }
  rcode=$(sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$out")
  echo "${rcode:-NO-STATUS}"
  local _name _ttl _class rtype rdata
  while read -r _name _ttl _class rtype rdata; do
    [[ -n $rtype ]] && printf '%s %s\n' "$rtype" "$rdata"
  done < <(grep -v -e '^;;' -e '^$' <<<"$out") | LC_ALL=C sort
}

# expect_dns TYPE NAME RCODE [RR...]: NOERROR with no RR is NODATA.
expect_dns() {
  local type=$1 name=$2 want
  shift 2
  want=$(
    echo "$1"
    shift
    (($# == 0)) || printf '%s\n' "$@" | LC_ALL=C sort
  )
  expect "$type $name" "$want" "$(dns "$type" "$name")"
}

# ---------------------------------------------------------------------------------------------
# HTTPS helpers.
# ---------------------------------------------------------------------------------------------

# fetch HOST IP [CURL-OPTS...]: GET the policy URL, leaving body/headers in $tmp. Prints
# "EXIT HTTP_CODE CONTENT_TYPE SIZE" (curl's exit status first; 0 is success).
fetch() {
  local host=$1 ip=$2 w rc=0
  shift 2
  rm -f "$tmp/body" "$tmp/headers"
  w=$(curl -sS -o "$tmp/body" -D "$tmp/headers" --max-time 5 --cacert "$CA" \
    --resolve "$host:443:$(bracket "$ip")" -w '%{http_code} %{content_type} %{size_download}' "$@" \
    "https://$host/.well-known/mta-sts.txt" 2>"$tmp/curl.err") || rc=$?
  echo "$rc ${w:-000 - 0}" | sed 's/  / - /'
}

# tls_verify HOST IP: OpenSSL's verify result code against the world CA, with host name check.
tls_verify() {
  openssl s_client -connect "$(hp "$2" 443)" -servername "$1" -CAfile "$CA" -verify_hostname "$1" \
    </dev/null 2>&1 | sed -n 's/^ *Verify return code: \([0-9]*\).*/\1/p' | head -n 1
}

# smtp_verify HOST IP: OpenSSL's verify result code for the STARTTLS certificate on port 25.
smtp_verify() {
  openssl s_client -connect "$(hp "$2" 25)" -starttls smtp -servername "$1" -CAfile "$CA" \
    -verify_hostname "$1" </dev/null 2>&1 | sed -n 's/^ *Verify return code: \([0-9]*\).*/\1/p' | head -n 1
}

# smtp_ehlo IP: the last EHLO reply line and whether STARTTLS was among them.
smtp_ehlo() {
  local out
  out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$1/25; head -n 1 <&3 >/dev/null; printf 'EHLO check.test\r\n' >&3;
    while IFS= read -r l <&3; do echo \"\$l\"; [[ \$l == 250\ * ]] && break; done; printf 'QUIT\r\n' >&3" | tr -d '\r')
  printf '%s|%s' "$(tail -n 1 <<<"$out")" "$(grep -qi '^250-STARTTLS' <<<"$out" && echo STARTTLS || echo 'no STARTTLS')"
}

# smtp_spki_sha256 IP: SHA-256 of the STARTTLS certificate's public key (TLSA 3 1 1 data).
smtp_spki_sha256() {
  openssl s_client -connect "$1:25" -starttls smtp </dev/null 2>/dev/null | openssl x509 -noout -pubkey |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

# Count of lines in a log file (0 when it does not exist).
lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }

# The expected policy bodies, written out independently of with-world.sh.
std_policy() {
  printf 'version: %s\nmode: %s\nmx: mx1.%s\nmax_age: %s\n' "${4:-STSv1}" "${2:-enforce}" "$1" "${3:-604800}"
}
expected_body() {
  local d=$1
  case $d in
    enforce.test) printf 'version: STSv1\nmode: enforce\nmx: mx1.enforce.test\nmx: *.mail.enforce.test\nmax_age: 604800\n' ;;
    testing.test | mx-testing.test) std_policy "$d" testing ;;
    none.test) printf 'version: STSv1\nmode: none\nmax_age: 604800\n' ;;
    bad-version.test) std_policy "$d" enforce 604800 STSv2 ;;
    max-age-range.test) std_policy "$d" enforce 31557601 ;;
    short-max-age.test) std_policy "$d" enforce 3600 ;;
    crlf-policy.test) printf 'mx: mx1.%s\r\nmode: enforce\r\nmax_age: 604800\r\nfoo: bar\r\nversion: STSv1\r\n' "$d" ;;
    hostile-txt.test) std_policy "$d" && printf 'x-note: \xc2\x9b31mred\n' ;;
    *) std_policy "$d" ;;
  esac
}

# expect_policy_served DOMAIN IP CONTENT_TYPE [CURL-OPTS...]: 200, that type, the exact body.
expect_policy_served() {
  local d=$1 ip=$2 ctype=$3 want_size
  shift 3
  expected_body "$d" >"$tmp/want"
  want_size=$(wc -c <"$tmp/want")
  expect "GET via $ip" "0 200 $ctype $want_size" "$(fetch "mta-sts.$d" "$ip" "$@")"
  expect_true "body via $ip differs from the expected policy" cmp -s "$tmp/want" "$tmp/body"
}

# ---------------------------------------------------------------------------------------------
# postures.tsv is well formed.
# ---------------------------------------------------------------------------------------------
ctx=postures.tsv
# The issue codes of the README's "Issue codes" table.
contract_codes=(sts_record_missing sts_record_invalid policy_missing policy_fetch_failed
  policy_tls_invalid policy_redirect policy_content_type policy_too_large policy_invalid
  mode_testing mode_none tls_rpt_missing tls_rpt_invalid mx_not_covered mx_missing
  max_age_short dns_error target_refused
  mx_starttls_missing mx_cert_invalid mx_unreachable mx_cert_expiring policy_cert_expiring)
known_codes=" ${contract_codes[*]} " # space-delimited for the *" $c "* test below
expect "header" "#domain	enforced	mode	codes	description" "$(head -n 1 "$MTASTS_WORLD_POSTURES")"
declare -A seen=()
DOMAINS=()
while IFS= read -r line; do
  [[ -z $line || $line == '#'* ]] && continue
  IFS=$'\t' read -r -a f <<<"$line"
  ctx="postures.tsv: ${f[0]}"
  expect "column count" 5 "${#f[@]}"
  d=${f[0]} enforced=${f[1]} mode=${f[2]} codes=${f[3]}
  [[ -z ${seen[$d]:-} ]] || bad "duplicate domain"
  seen[$d]=1
  DOMAINS+=("$d")
  [[ $d =~ ^[a-z0-9-]+\.test$ ]] || bad "domain is not a lower-case name under .test"
  [[ $enforced == true || $enforced == false ]] || bad "enforced is '$enforced'"
  [[ $mode =~ ^(enforce|testing|none|null)$ ]] || bad "mode is '$mode'"
  [[ $enforced == false || $mode == enforce ]] || bad "enforced without mode enforce"
  if [[ $codes != - ]]; then
    IFS=, read -r -a cs <<<"$codes"
    for c in "${cs[@]}"; do [[ $known_codes == *" $c "* ]] || bad "unknown code '$c'"; done
    expect "codes sorted" "$(printf '%s\n' "${cs[@]}" | LC_ALL=C sort -u | paste -sd,)" "$codes"
  fi
  [[ -n ${f[4]:-} ]] || bad "empty description"
done <"$MTASTS_WORLD_POSTURES"

# ---------------------------------------------------------------------------------------------
# The world as a whole.
# ---------------------------------------------------------------------------------------------
ctx=world
expect "MTASTS_WORLD_ALLOW_CIDR" 203.0.113.0/24 "$MTASTS_WORLD_ALLOW_CIDR"
expect "MTASTS_WORLD_ALLOW_CIDR6" 2001:db8:113::/64 "${MTASTS_WORLD_ALLOW_CIDR6:-}"
expect "MTASTS_WORLD_CA" "$MTASTS_WORLD_DIR/ca.pem" "$CA"
expect "interfaces" "lo" "$(ip -o link show | awk -F': ' '{print $2}' | paste -sd' ')"
# Nothing outside is routable from here.
expect_true "a route leads outside the namespace" bash -c '! ip route get 192.0.2.1 >/dev/null 2>&1'
expect_true "the CA is not a fresh CA:TRUE root" bash -c \
  "openssl x509 -in '$CA' -noout -text | grep -q 'CA:TRUE' && openssl x509 -in '$CA' -noout -checkend 86400 >/dev/null"
# Names outside .test are refused, never forwarded; DNS over TCP works too.
expect_dns A example.com REFUSED
expect "TXT over TCP" "$(printf 'NOERROR\nTXT %s' "$STS_TXT")" "$(dns TXT _mta-sts.enforce.test +tcp)"
# The private resolv.conf points the system resolver at the world.
expect "getent hosts" "$WEB_IP" "$(getent hosts mta-sts.enforce.test | awk '{print $1}')"
expect "plain curl through the system resolver" 200 \
  "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$CA" https://mta-sts.enforce.test/.well-known/mta-sts.txt)"
# Unknown SNI/Host gets 421; plain HTTP gets 404 and lands in access-http.log.
expect "unknown SNI" "0 421 text/html" "$(fetch mta-sts.no-policy-host.test "$WEB_IP" -k | cut -d' ' -f1-3)"
before=$(lines "$LOGS/access-http.log")
expect "plain HTTP on :80" 404 "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
  --resolve "mta-sts.enforce.test:80:$WEB_IP" http://mta-sts.enforce.test/.well-known/mta-sts.txt)"
expect "access-http.log lines" $((before + 1)) "$(lines "$LOGS/access-http.log")"

# ---------------------------------------------------------------------------------------------
# Every posture.
# ---------------------------------------------------------------------------------------------
for d in "${DOMAINS[@]}"; do
  ctx=$d

  # --- _mta-sts.D TXT
  case $d in
    no-txt.test) expect_dns TXT "_mta-sts.$d" NXDOMAIN ;;
    two-txt.test) expect_dns TXT "_mta-sts.$d" NOERROR 'TXT "v=STSv1; id=aaa111;"' 'TXT "v=STSv1; id=bbb222;"' ;;
    bad-id.test) expect_dns TXT "_mta-sts.$d" NOERROR 'TXT "v=STSv1; id=2024-01-01;"' ;;
    multi-string-txt.test) expect_dns TXT "_mta-sts.$d" NOERROR 'TXT "v=STSv1; id=" "abc123;"' ;;
    # The CNAME and the target's TXT come back in one answer.
    cname-txt.test) expect_dns TXT "_mta-sts.$d" NOERROR "CNAME _mta-sts.enforce.test." "TXT $STS_TXT" ;;
    # kdig writes the bytes it will not print as \DDD (decimal): ESC, CR, 0xFF, 0xFE.
    hostile-txt.test)
      expect_dns TXT "_mta-sts.$d" NOERROR 'TXT "v=STSv1; id=\027[2K\013STS record: v=STSv1; id=ok;\255\254"'
      ;;
    *) expect_dns TXT "_mta-sts.$d" NOERROR "TXT $STS_TXT" ;;
  esac

  # --- _smtp._tls.D TXT
  case $d in
    no-tlsrpt.test) expect_dns TXT "_smtp._tls.$d" NXDOMAIN ;;
    bad-tlsrpt.test) expect_dns TXT "_smtp._tls.$d" NOERROR 'TXT "v=TLSRPTv1; rua=ftp://reports.bad-tlsrpt.test/"' ;;
    *) expect_dns TXT "_smtp._tls.$d" NOERROR "TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@$d\"" ;;
  esac

  # --- MX of D
  case $d in
    enforce.test) expect_dns MX "$d" NOERROR "MX 10 mx1.$d." "MX 20 a.mail.$d." ;;
    mx-uncovered.test) expect_dns MX "$d" NOERROR "MX 10 mx1.$d." "MX 20 backup.other.test." ;;
    no-mx.test)
      expect_dns MX "$d" NOERROR # NODATA, not NXDOMAIN: the name exists
      expect_dns A "$d" NOERROR "A $NOMX_IP"
      ;;
    *) expect_dns MX "$d" NOERROR "MX 10 mx1.$d." ;;
  esac

  # --- the MX hosts' addresses and what their SMTP servers say (openssl s_client -starttls)
  if [[ $d != no-mx.test ]]; then
    case $d in
      mx-no-starttls.test | mx-testing.test) mxip=$MX_NOTLS_IP want=nostarttls ;;
      mx-wrong-cert.test) mxip=$MX_WRONG_IP want=62 ;;     # X509_V_ERR_HOSTNAME_MISMATCH
      mx-expired-cert.test) mxip=$MX_EXPIRED_IP want=10 ;; # X509_V_ERR_CERT_HAS_EXPIRED
      mx-self-signed.test) mxip=$MX_SELF_IP want=18 ;;     # DEPTH_ZERO_SELF_SIGNED_CERT
      mx-down.test) mxip=$MX_DOWN_IP want=refused ;;
      mx-expiring.test) mxip=$MX_EXPIRING_IP want=0 ;;
      v6-only.test) mxip='' want=0 ;;
      *) mxip=$MX_GOOD_IP want=0 ;;
    esac
    # The dual-stack postures' AAAA (NODATA elsewhere): the good MX's IPv6 address, or a dead one.
    case $d in
      v6-only.test | dual.test) mxip6=$MX_GOOD_IP6 ;;
      v6-broken.test) mxip6=$DEAD_IP6 ;;
      *) mxip6='' ;;
    esac
    if [[ -n $mxip ]]; then expect_dns A "mx1.$d" NOERROR "A $mxip"; else expect_dns A "mx1.$d" NOERROR; fi
    if [[ -n $mxip6 ]]; then
      expect_dns AAAA "mx1.$d" NOERROR "AAAA $mxip6"
      if [[ $mxip6 == "$DEAD_IP6" ]]; then
        expect_true "port 25 of $mxip6 is closed" bash -c "! exec 3<>/dev/tcp/$mxip6/25" 2>/dev/null
      else
        expect "STARTTLS verify code over IPv6" 0 "$(smtp_verify "mx1.$d" "$mxip6")"
      fi
    else
      expect_dns AAAA "mx1.$d" NOERROR
    fi
    [[ -n $mxip ]] || want=none
    case $want in
      none) ;;
      nostarttls)
        expect "EHLO without STARTTLS" "250 CHUNKING|no STARTTLS" "$(smtp_ehlo "$mxip")"
        ;;
      refused) expect_true "port 25 of $mxip is closed" bash -c "! exec 3<>/dev/tcp/$mxip/25" 2>/dev/null ;;
      *) expect "STARTTLS verify code" "$want" "$(smtp_verify "mx1.$d" "$mxip")" ;;
    esac
    [[ $d == mx-expiring.test ]] && expect_true "expires within 14 days" bash -c \
      "openssl s_client -connect $mxip:25 -starttls smtp </dev/null 2>/dev/null | openssl x509 -noout -checkend 1209600 | grep -q 'will expire'"
    if [[ $d == mx-good.test ]]; then
      spki=$(smtp_spki_sha256 "$mxip")
      expect "TLSA (DANE-EE SPKI SHA-256 of the served certificate)" \
        "$(printf 'NOERROR\nTLSA 3 1 1 %s' "${spki^^}")" "$(dns TLSA "_25._tcp.mx1.$d")"
    fi
  fi

  # --- mta-sts.D addresses (AAAA must be NODATA, not NXDOMAIN, wherever A exists)
  case $d in
    no-policy-host.test) ips=() ;;
    private-host.test) ips=("$PRIVATE_IP") ;;
    mixed-host.test) ips=("$WEB_IP" "$PRIVATE_IP") ;;
    v6-only.test) ips=("$WEB_IP6") ;;
    dual.test) ips=("$WEB_IP" "$WEB_IP6") ;;
    v6-broken.test) ips=("$WEB_IP" "$DEAD_IP6") ;;
    *) ips=("$WEB_IP") ;;
  esac
  if ((${#ips[@]} == 0)); then
    expect_dns A "mta-sts.$d" NXDOMAIN
    expect_dns AAAA "mta-sts.$d" NXDOMAIN
    continue
  fi
  rrs=() rrs6=()
  for ip in "${ips[@]}"; do
    if [[ $ip == *:* ]]; then rrs6+=("AAAA $ip"); else rrs+=("A $ip"); fi
  done
  expect_dns A "mta-sts.$d" NOERROR ${rrs[@]+"${rrs[@]}"}
  expect_dns AAAA "mta-sts.$d" NOERROR ${rrs6[@]+"${rrs6[@]}"}

  # --- the policy over HTTPS, from every address
  for ip in "${ips[@]}"; do
    if [[ $ip == "$DEAD_IP6" ]]; then # nothing listens: refused at once (curl: 7)
      expect "GET via $ip" "7 000" "$(fetch "mta-sts.$d" "$ip" | cut -d' ' -f1,2)"
      continue
    fi
    if [[ $ip == "$PRIVATE_IP" ]]; then log="$LOGS/access-private.log"; else log="$LOGS/access-$d.log"; fi
    before=$(lines "$log")
    requests=1
    case $d in
      policy-404.test) expect "GET" "0 404" "$(fetch "mta-sts.$d" "$ip" | cut -d' ' -f1,2)" ;;
      policy-500.test) expect "GET" "0 500" "$(fetch "mta-sts.$d" "$ip" | cut -d' ' -f1,2)" ;;
      redirect.test)
        expect "GET" "0 301" "$(fetch "mta-sts.$d" "$ip" | cut -d' ' -f1,2)"
        expect "Location" "https://mta-sts.enforce.test/.well-known/mta-sts.txt" \
          "$(sed -n 's/^[Ll]ocation: *\(.*\)\r$/\1/p' "$tmp/headers")"
        ;;
      wrong-cert.test | expired-cert.test | self-signed.test)
        # curl refuses the certificate (60: peer certificate cannot be authenticated); no request
        # reaches nginx. OpenSSL names the reason. With -k the right policy is behind it.
        expect "GET (certificate check)" "60 000" "$(fetch "mta-sts.$d" "$ip" | cut -d' ' -f1,2)"
        case $d in
          wrong-cert.test) want=62 ;;   # X509_V_ERR_HOSTNAME_MISMATCH
          expired-cert.test) want=10 ;; # X509_V_ERR_CERT_HAS_EXPIRED
          self-signed.test) want=18 ;;  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        esac
        expect "openssl verify code" "$want" "$(tls_verify "mta-sts.$d" "$ip")"
        # Only this request is logged: the refused handshakes never got as far as a request.
        expect_policy_served "$d" "$ip" text/plain -k
        ;;
      text-html.test) expect_policy_served "$d" "$ip" text/html ;;
      oversized.test)
        expect "GET" "0 200 text/plain 70000" "$(fetch "mta-sts.$d" "$ip")"
        expect "Content-Length" 70000 "$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' "$tmp/headers")"
        expect "body start" "$(std_policy "$d")" "$(head -n 4 "$tmp/body")"
        # Every line is "name: value" with a policy-extension-like name: it parses, it is only big.
        expect "malformed lines" 0 "$(grep -cvE '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}: [!-~]+$' "$tmp/body" || true)"
        expect "ends with LF" 0a "$(tail -c 1 "$tmp/body" | od -An -tx1 | tr -d ' ')"
        ;;
      slow.test)
        # No answer within 3 s: curl times out (28) with nothing received.
        t0=$(date +%s%N)
        expect "GET with 3 s timeout" "28 000" "$(fetch "mta-sts.$d" "$ip" --max-time 3 | cut -d' ' -f1,2)"
        elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
        expect_true "timed out after ${elapsed_ms} ms, not ~3000" test "$elapsed_ms" -ge 2900
        requests=0 # nginx logs a request only when it completes
        ;;
      *) expect_policy_served "$d" "$ip" text/plain ;;
    esac
    # The request (if any) is in the per-host log, with the right SNI and address.
    expect "$(basename "$log") lines" $((before + requests)) "$(lines "$log")"
    if ((requests > 0)); then
      expect "$(basename "$log") last line" "$ip:443 sni=mta-sts.$d host=mta-sts.$d" \
        "$(tail -n 1 "$log" | awk '{print $3, $4, $5}')"
    fi
  done
done

ctx=summary
if ((failures > 0)); then
  echo "check-world: FAILED: $failures of $checks checks, over ${#DOMAINS[@]} domains" >&2
  exit 1
fi
echo "check-world: OK: $checks checks passed, over ${#DOMAINS[@]} domains"
