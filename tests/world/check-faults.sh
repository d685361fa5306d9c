#!/usr/bin/env bash
# Checks that the hostile peers of fault-peer.py misbehave exactly as designed, at the protocol
# level (the fault tests only see the exporter's verdicts). Runs inside a world started with
# MTASTS_WORLD_FAULTS=1:  MTASTS_WORLD_FAULTS=1 tests/world/with-world.sh tests/world/check-faults.sh
set -uo pipefail
fail=0
ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  fail=1
}
expect() { # expect DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
[[ -n ${MTASTS_WORLD_FAULT_DNS:-} ]] || {
  echo "check-faults: not in a fault world (MTASTS_WORLD_FAULTS=1)" >&2
  exit 2
}
dns=${MTASTS_WORLD_FAULT_DNS%:53}
ca=$MTASTS_WORLD_CA

# DNS: flags and sizes as seen by a client that does not retry over TCP (+ignore).
udp() { kdig @"$1" +notcp +ignore +time=2 +retry=0 "${@:2}" 2>&1; }
tcp() { kdig @"$1" +tcp +time=2 +retry=0 "${@:2}" 2>&1; }
expect "timeout: no answer over UDP" bash -c "! kdig @$dns +notcp +time=1 +retry=0 TXT _mta-sts.timeout.dnsfault.test | grep -q 'status:'"
expect "servfail: SERVFAIL" grep -q 'status: SERVFAIL' <<<"$(udp "$dns" TXT _mta-sts.servfail.dnsfault.test)"
expect "tc: UDP answer has TC and no records" grep -Eiq 'flags: qr aa tc.*ANSWER: 0' <<<"$(udp "$dns" TXT _mta-sts.tc.dnsfault.test)"
expect "tc: TCP answer has the STS record" grep -q 'v=STSv1; id=20240101T000000;' <<<"$(tcp "$dns" TXT _mta-sts.tc.dnsfault.test)"
expect "tc-notcp: UDP-only address truncates" grep -qi 'flags: qr aa tc' <<<"$(udp 203.0.113.54 TXT _mta-sts.tc-notcp.dnsfault.test)"
expect "tc-notcp: UDP-only address refuses TCP" bash -c "! kdig @203.0.113.54 +tcp +time=1 +retry=0 TXT _mta-sts.tc-notcp.dnsfault.test | grep -q 'status:'"
expect "huge: UDP answer truncated" grep -qi 'flags: qr aa tc' <<<"$(udp "$dns" TXT _mta-sts.huge.dnsfault.test)"
huge=$(tcp "$dns" TXT _mta-sts.huge.dnsfault.test)
expect "huge: 41 TXT records over TCP" grep -q 'ANSWER: 41' <<<"$huge"
size=$(sed -n 's/.*Received \([0-9]*\) B.*/\1/p' <<<"$huge")
expect "huge: TCP answer over 4 KiB ($size B)" test "${size:-0}" -gt 4096
expect "delegation: dnsmasq forwards httpfault.test" grep -q 203.0.113.63 <<<"$(kdig @127.0.0.1 +short A mta-sts.drip.httpfault.test)"

# HTTPS.
get() { curl -sS --cacert "$ca" --max-time "${2:-3}" "https://mta-sts.$1.httpfault.test/.well-known/mta-sts.txt" "${@:3}"; }
expect "ok: serves the policy" grep -q 'mx: mx1.ok.httpfault.test' <<<"$(get ok)"
expect "hang: TCP accepted, no TLS handshake" bash -c "curl -sS --cacert $ca --max-time 2 https://mta-sts.hang.httpfault.test/ 2>&1 | grep -q 'timed out'"
expect "hang-tls: handshake done, no answer" bash -c "curl -sS -v --cacert $ca --max-time 2 https://mta-sts.hang-tls.httpfault.test/.well-known/mta-sts.txt 2>&1 | grep -q 'SSL connection using' && curl -sS --cacert $ca --max-time 2 https://mta-sts.hang-tls.httpfault.test/ 2>&1 | grep -q 'timed out'"
drip=$(get drip 3 2>/dev/null | wc -c)
expect "drip: at most a few bytes in 3 s ($drip B of the body)" test "$drip" -le 3
expect "reset: connection reset by peer" grep -q 'reset by peer' <<<"$(get reset 3 2>&1)"
expect "endless: more than 1 MiB in 2 s" test "$(get endless 2 2>/dev/null | wc -c)" -gt 1048576
expect "badchunk: invalid chunked encoding" grep -q 'chunked' <<<"$(get badchunk 3 2>&1)"
expect "tls10: a TLS 1.2 client is refused" bash -c "! curl -sS --cacert $ca --max-time 3 --tlsv1.2 https://mta-sts.tls10.httpfault.test/.well-known/mta-sts.txt"
expect "tls10: a TLS 1.0 client gets the policy" grep -q 'mode: enforce' <<<"$(get tls10 3 --tlsv1.0 --tls-max 1.0 --ciphers DEFAULT:@SECLEVEL=0)"
expect "tls10: certificate valid for the name (openssl s_client -tls1)" bash -c "openssl s_client -tls1 -cipher DEFAULT:@SECLEVEL=0 -connect 203.0.113.67:443 -servername mta-sts.tls10.httpfault.test -CAfile $ca -verify_hostname mta-sts.tls10.httpfault.test -verify_return_error </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"

# The peers that would exhaust a client: raw bytes as sent (curl stops at its own header limits).
raw() { # raw BEHAVIOUR BYTES: the first BYTES bytes the peer answers a GET with (20 s at most)
  printf 'GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.%s.httpfault.test\r\nConnection: close\r\n\r\n' "$1" |
    timeout 20 openssl s_client -quiet -connect "mta-sts.$1.httpfault.test:443" \
      -servername "mta-sts.$1.httpfault.test" -CAfile "$ca" -verify_return_error 2>/dev/null |
    head -c "$2"
}
lines=$(raw headerflood 22000000 | grep -c $'^a:b\r$')
expect "headerflood: over 21 MB of header lines ($lines lines of a:b)" test "$lines" -ge 4200000
expect "headerflood: it starts as a 200" grep -q '^HTTP/1.1 200 OK' <<<"$(raw headerflood 100)"
longest=$(raw bigheader 1200000 | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
expect "bigheader: one header line of 1 MiB ($longest B)" test "$longest" -gt 1048576
expect "bigheader: a valid policy after it" grep -q 'mode: enforce' <<<"$(raw bigheader 1200000 | tail -c 200)"
tmp=$(mktemp)
raw chunkline 2000000 >"$tmp"
expect "chunkline: chunked" grep -qi '^transfer-encoding: chunked' "$tmp"
expect "chunkline: 1 MB of chunk-size line without a line end" test "$(tail -c 1000000 "$tmp" | tr -d 0 | wc -c)" -eq 0
expect "chunkline: 2 MB read" test "$(wc -c <"$tmp")" -eq 2000000
rm -f "$tmp"

# Thousands of policy host addresses, all answering RST.
many=mta-sts.many-rst.httpfault.test
expect "many-rst: UDP answer truncated" grep -qi 'flags: qr aa tc' <<<"$(udp "$dns" A $many)"
expect "many-rst: 3,500 A records over TCP" grep -q 'ANSWER: 3500' <<<"$(tcp "$dns" A $many)"
expect "many-rst: 2,000 AAAA records over TCP" grep -q 'ANSWER: 2000' <<<"$(tcp "$dns" AAAA $many)"
expect "many-rst: the same through dnsmasq" grep -q 'ANSWER: 3500' <<<"$(tcp 127.0.0.1 A $many)"
refused() { python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 443), 2)' "$1" 2>&1; }
expect "many-rst: 198.18.13.172:443 answers RST" grep -q ConnectionRefusedError <<<"$(refused 198.18.13.172)"
expect "many-rst: [2001:db8:5353::7d0]:443 answers RST" grep -q ConnectionRefusedError <<<"$(refused 2001:db8:5353::7d0)"

exit $fail
