#!/usr/bin/env bash
# Runs the hardened unit under a real systemd: boots this machine's own /usr in a throw-away
# container (systemd-nspawn --volatile=yes: a tmpfs root, /usr read-only from the host, only a
# loopback interface) and, inside it, starts, reloads, watches and stops mta-sts-exporter.service
# with every sandboxing directive of systemd/mta-sts-exporter.service in force. Usage, as root:
#
#   scripts/systemd-smoke.sh [BINARY]     # default: build/test/package/mta-sts-exporter
#   scripts/systemd-smoke.sh --deb FILE   # the Debian package, installed in the container
#
# With a BINARY, it is bound in at /opt and the unit's ExecStart= changed to it. With --deb, the
# container's /usr, /etc and /var are the host's under overlays whose upper layers are in a temp
# dir (every write, dpkg's included, stays there and is deleted at the end; the host is not
# touched): `dpkg -i` installs the package against the host's real package database (Depends
# checked), its postinst runs under a running systemd, and its own unit and binary are used,
# enabled with `systemctl enable`. Either way the config watches no domain (nothing could leave
# the container anyway).
# For machines without systemd as PID 1 (containers, CI), where `systemctl start` cannot run.
# Needs systemd-container (installed when missing). Not part of the CTest suite: it boots every
# service the host has installed, which takes a while.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=''
if [[ ${1:-} == --deb ]]; then
  deb=$(readlink -f "${2:-}")
  [[ -f $deb && $deb == *.deb ]] || {
    echo "systemd-smoke: --deb needs a .deb file" >&2
    exit 2
  }
else
  binary=$(readlink -f "${1:-build/test/package/mta-sts-exporter}")
  [[ -x $binary ]] || {
    echo "systemd-smoke: no binary $binary (run the deb_package test, or pass one)" >&2
    exit 2
  }
fi
if ! command -v systemd-nspawn >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd-container >/dev/null
fi
fail() {
  echo "systemd-smoke: FAIL: $*" >&2
  [[ -n ${leader:-} ]] && in_ct journalctl -u mta-sts-exporter.service --no-pager -o short-precise >&2 || true
  exit 1
}

dir=$(mktemp -d)
nspawn_pid=''
leader=''
cleanup() {
  if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    [[ -n $leader ]] && nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

printf 'state_dir: /var/lib/mta-sts-exporter\ndomains: []\n' >"$dir/config.yaml"
chmod 0644 "$dir/config.yaml"
if [[ -n $deb ]]; then
  cp "$deb" "$dir/mta-sts-exporter.deb"
  mkdir -p "$dir/usr-upper" "$dir/var-upper" "$dir/etc-upper"
  setup=(--volatile=yes --bind-ro="$dir:/opt/mta-sts-smoke"
    --overlay="/usr:$dir/usr-upper:/usr" --overlay="/var:$dir/var-upper:/var"
    --overlay="/etc:$dir/etc-upper:/etc")
else
  cp "$binary" "$dir/mta-sts-exporter"
  sed 's#^ExecStart=/usr/bin/mta-sts-exporter #ExecStart=/opt/mta-sts-exporter #' \
    systemd/mta-sts-exporter.service >"$dir/mta-sts-exporter.service"
  grep -q '^ExecStart=/opt/mta-sts-exporter ' "$dir/mta-sts-exporter.service" || fail "ExecStart= not found"
  setup=(--volatile=yes
    --bind-ro="$dir/mta-sts-exporter:/opt/mta-sts-exporter"
    --bind-ro="$dir/mta-sts-exporter.service:/etc/systemd/system/mta-sts-exporter.service"
    --bind-ro="$dir/config.yaml:/etc/mta-sts-exporter/config.yaml")
fi

# A guard timeout: the container never outlives 5 minutes, whatever happens here.
timeout -k 10 300 systemd-nspawn --quiet --register=no --keep-unit --directory=/ --private-network \
  --machine="mtasts-smoke-$$" "${setup[@]}" \
  --boot systemd.firstboot=off </dev/null >"$dir/boot.log" 2>&1 &
guard_pid=$!
# The container's init: systemd, a descendant of the nspawn process.
for _ in $(seq 1 100); do
  nspawn_pid=$(pgrep -P "$guard_pid" -x systemd-nspawn || true)
  [[ -n $nspawn_pid ]] && leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
  [[ -n $leader ]] && break
  sleep 0.2
done
[[ -n $leader ]] || fail "the container did not start: $(cat "$dir/boot.log")"
in_ct() { nsenter -t "$leader" -a "$@"; }
for _ in $(seq 1 150); do
  in_ct systemctl show -p Version --value >/dev/null 2>&1 && break
  sleep 0.2
done
# Early boot (sysinit.target: /tmp and the other basic mounts exist) is done.
for _ in $(seq 1 300); do
  [[ $(in_ct systemctl is-active sysinit.target 2>/dev/null) == active ]] && break
  sleep 0.2
done
[[ $(in_ct systemctl is-active sysinit.target) == active ]] || fail "sysinit.target not reached"
echo "systemd-smoke: booted systemd $(in_ct systemctl show -p Version --value) in a container"

if [[ -n $deb ]]; then
  in_ct dpkg -i /opt/mta-sts-smoke/mta-sts-exporter.deb || fail "dpkg -i failed"
  [[ $(in_ct systemctl is-enabled mta-sts-exporter.service || true) == disabled ]] ||
    fail "the package enabled the service on install"
  in_ct cp /opt/mta-sts-smoke/config.yaml /etc/mta-sts-exporter/config.yaml
  in_ct systemctl enable mta-sts-exporter.service || fail "systemctl enable failed"
  echo "systemd-smoke: installed $(basename "$deb") with dpkg and enabled the service"
fi
# network-online.target waits for a network the container does not have: start without it.
in_ct systemctl start --job-mode=ignore-dependencies mta-sts-exporter.service ||
  fail "systemctl start failed"
show() { in_ct systemctl show mta-sts-exporter.service -p "$1" --value; }
[[ $(show ActiveState) == active && $(show SubState) == running ]] || fail "not running"
status=$(show StatusText)
[[ $status == "watching 0 domains, listening on port 10056" ]] || fail "Status: $status (READY/STATUS from sd_notify)"
pid=$(show MainPID)
uid=$(show UID) # the dynamic user's uid, while it runs
((uid >= 61184 && uid <= 65519)) || fail "uid $uid is not a DynamicUser= uid"
[[ $(in_ct readlink /var/lib/mta-sts-exporter) == private/mta-sts-exporter ]] || fail "no StateDirectory="
[[ $(in_ct curl -s -o /dev/null -w '%{http_code}' localhost:10056/-/ready) == 200 ]] || fail "/-/ready"
echo "systemd-smoke: active, Status: $status, uid $uid, state in /var/lib/private/mta-sts-exporter"

in_ct systemctl reload mta-sts-exporter.service || fail "systemctl reload failed"
in_ct journalctl -u mta-sts-exporter.service --no-pager -o cat | grep -q 'msg="config reloaded"' ||
  fail "no reload in the journal"
[[ $(show MainPID) == "$pid" && $(show ActiveState) == active ]] || fail "not running after reload"
echo "systemd-smoke: reloaded (SIGHUP, RELOADING=1/READY=1)"

# Past WatchdogSec= (30s): the watchdog pings keep it alive, no restart.
sleep 35
[[ $(show MainPID) == "$pid" && $(show NRestarts) == 0 && $(show ActiveState) == active ]] ||
  fail "restarted or gone after 35s (watchdog?)"
echo "systemd-smoke: still the same process after 35s (WatchdogSec=30s)"
in_ct systemd-analyze security --no-pager mta-sts-exporter.service | tail -1

in_ct systemctl stop mta-sts-exporter.service || fail "systemctl stop failed"
[[ $(show Result) == success && $(show ActiveState) == inactive ]] ||
  fail "stop: Result=$(show Result) ActiveState=$(show ActiveState)"
echo "systemd-smoke: stopped cleanly (Result=success); OK"
