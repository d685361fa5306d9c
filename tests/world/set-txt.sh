#!/usr/bin/env bash
# Replaces the TXT records of NAME in the running test world, then waits (up to 10 s) until
# dnsmasq serves exactly them. Run it inside a world (it needs MTASTS_WORLD_DIR and
# MTASTS_WORLD_DNS):
#
#   tests/world/set-txt.sh NAME [TEXT...]      # no TEXT: NAME loses its TXT records
#
# dnsmasq does not reload txt-record lines, so this edits the world's dnsmasq.conf and sends
# SIGUSR1 to with-world.sh, which restarts dnsmasq; queries fail for a few milliseconds.
# A TEXT holds one character-string: no double quote, comma or backslash.
set -euo pipefail

: "${MTASTS_WORLD_DIR:?run me inside tests/world/with-world.sh}" "${MTASTS_WORLD_DNS:?}"
(($# >= 1)) || {
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
name=$1
shift
[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || {
  echo "set-txt: bad name: $name" >&2
  exit 2
}
for text in "$@"; do
  [[ $text != *[\",\\]* ]] || {
    echo "set-txt: TEXT must not hold a double quote, comma or backslash: $text" >&2
    exit 2
  }
done

conf=$MTASTS_WORLD_DIR/dnsmasq.conf
{
  awk -v prefix="txt-record=$name," 'index($0, prefix) != 1' "$conf"
  for text in "$@"; do printf 'txt-record=%s,"%s"\n' "$name" "$text"; done
} >"$conf.new"
mv -- "$conf.new" "$conf"
kill -USR1 "$(cat -- "$MTASTS_WORLD_DIR/world.pid")"

want=$(for text in "$@"; do printf '"%s"\n' "$text"; done | LC_ALL=C sort)
for ((i = 0; i < 200; i++)); do
  got=$(kdig @"${MTASTS_WORLD_DNS%:*}" -p "${MTASTS_WORLD_DNS##*:}" +tcp +time=1 +retry=0 +short \
    TXT "$name" 2>/dev/null | LC_ALL=C sort) || got='(no answer)'
  [[ $got == "$want" ]] && exit 0
  sleep 0.05
done
echo "set-txt: $name is served as <$got>, not <$want>, after 10 s" >&2
exit 1
