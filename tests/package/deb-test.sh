#!/usr/bin/env bash
# Builds the Debian package from a Release build without sanitizers, inspects it, and installs
# it into a throw-away root with dpkg. Usage:
#
#   tests/package/deb-test.sh SOURCE_DIR BUILD_DIR
#
# BUILD_DIR is a build tree of its own (configured here with -DCMAKE_BUILD_TYPE=Release
# -DMTASTS_SANITIZE=OFF -DMTASTS_BUILD_TESTS=OFF, prefix /usr; ccache when installed). It is kept
# between runs, so only the first run compiles everything. The install root is a temp dir.
#
# What it asserts:
#   - dpkg-deb -I: Depends names the Debian 12 libraries the binary links (computed by
#     dpkg-shlibdeps) and no sanitizer runtime; every dependency is satisfied by a package
#     installed on this machine; conffiles lists /etc/mta-sts-exporter/config.yaml; the
#     maintainer scripts are there;
#   - dpkg-deb -c: each file is where the README says, and nothing else is shipped;
#   - dpkg --root (maintainer scripts run chrootless, with DPKG_ROOT set, so they touch only the
#     root): the package installs, registers the conffile, the installed binary runs --version
#     and `config check` on the installed config, the installed unit starts that binary with
#     that config, the postinst records the unit without enabling it, an edited config survives
#     a reinstall, remove keeps the config and purge deletes it and the state directory.
set -euo pipefail

(($# == 2)) || {
  sed -n '2,8s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
src=$(cd -- "$1" && pwd -P)
build=$2
fail() {
  echo "deb-test: FAIL: $*" >&2
  exit 1
}
for tool in dpkg dpkg-deb dpkg-shlibdeps cpack cmake; do
  command -v "$tool" >/dev/null || fail "$tool not found; run: bash scripts/install-deps.sh --with-test"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Warnings stay visible but are not errors here: GCC 12 at -O3 reports false positives inside
# libstdc++ (-Wrestrict, GCC bug 105329) that the -Werror test build at -O0 never sees.
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_SANITIZE=OFF \
  -DMTASTS_BUILD_TESTS=OFF -DMTASTS_WERROR=OFF -DCMAKE_INSTALL_PREFIX=/usr "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
rm -f "$build"/mta-sts-exporter_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/mta-sts-exporter_*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "cpack made no single mta-sts-exporter_*.deb"
deb=${debs[0]}
echo "deb-test: built $(basename "$deb")"

# --- dpkg-deb -I: the control data ------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == mta-sts-exporter ]] || fail "Package: $(field Package)"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
echo "deb-test: Depends: $depends"
for lib in libc-ares2 libssl3 libyaml-cpp0.7 'libprometheus-cpp-core[0-9.]+' 'libspdlog[0-9.]+[a-z0-9-]*' \
  libsystemd0 libidn2-0 'libfmt[0-9]+' 'libcpp-httplib[0-9.]+' libc6 'libstdc\+\+6' ca-certificates; do
  [[ $depends =~ (^|, )$lib( |,|$) ]] || fail "Depends lacks $lib"
done
[[ $depends != *asan* && $depends != *ubsan* && $depends != *lsan* ]] || fail "a sanitizer runtime leaked into Depends"
# Every dependency is met by what is installed here (this machine is the Debian 12 the package
# is for): name installed, version relation true.
IFS=',' read -ra clauses <<<"$depends"
for clause in "${clauses[@]}"; do
  clause=${clause# }
  [[ $clause =~ ^([a-z0-9.+-]+)( \(([<>=]+) ([^\)]+)\))?$ ]] || fail "cannot read Depends clause '$clause'"
  name=${BASH_REMATCH[1]} op=${BASH_REMATCH[3]} want=${BASH_REMATCH[4]}
  have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
  if [[ $have == "install ok installed "* ]]; then
    have=${have##* }
    if [[ -n $op ]]; then
      dpkg --compare-versions "$have" "$op" "$want" || fail "$name $have does not satisfy ($op $want)"
    fi
  else
    # A virtual package (libspdlog1.10 provides libspdlog1.10-fmt9): an unversioned clause is
    # met by an installed package that provides it.
    [[ -z $op ]] || fail "$name ($op $want) is not installed here"
    provider=$(dpkg-query -W -f='${Status}|${Package}|${Provides}\n' |
      awk -F'|' -v n="$name" '$1 == "install ok installed" {
        k = split($3, p, /, */); for (i = 1; i <= k; i++) { sub(/ .*/, "", p[i]); if (p[i] == n) print $2 } }')
    [[ -n $provider ]] || fail "$name is neither installed nor provided by an installed package"
    echo "deb-test: $name is provided by $provider"
  fi
done
ctl=$(mktemp -d)
root=$(mktemp -d)
trap 'rm -rf "$ctl" "$root"' EXIT
dpkg-deb -e "$deb" "$ctl"
[[ $(cat "$ctl/conffiles") == /etc/mta-sts-exporter/config.yaml ]] || fail "conffiles: $(cat "$ctl/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $ctl/$script ]] || fail "no executable $script"
done

# --- dpkg-deb -c: the files -------------------------------------------------------------------
listing=$(dpkg-deb -c "$deb")
files=$(awk '$1 !~ /^d/ {print $6}' <<<"$listing" | sort)
expected=$(
  sort <<'EOF'
./etc/mta-sts-exporter/config.yaml
./usr/bin/mta-sts-exporter
./usr/lib/systemd/system/mta-sts-exporter.service
./usr/share/mta-sts-exporter/grafana/dashboards/mta-sts-exporter.json
./usr/share/mta-sts-exporter/grafana/provisioning/dashboards/mta-sts-exporter.yaml
./usr/share/mta-sts-exporter/grafana/provisioning/datasources/prometheus.yaml
./usr/share/mta-sts-exporter/prometheus/mta-sts-exporter.rules.yml
EOF
)
[[ $files == "$expected" ]] || fail "files differ from the layout:"$'\n'"$(diff <(echo "$expected") <(echo "$files"))"
grep -q '^-rwxr-xr-x root/root .* \./usr/bin/mta-sts-exporter$' <<<"$listing" || fail "binary not 0755 root:root"
grep -q '^-rw-r--r-- root/root .* \./etc/mta-sts-exporter/config.yaml$' <<<"$listing" ||
  fail "config not 0644 root:root (the dynamic user must read it)"

# --- dpkg --root: install, run, reinstall, remove, purge ---------------------------------------
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
# The libraries are not in the empty root's database (they are on this machine: checked above).
dpkg_root() { dpkg --root="$root" --log=/dev/null --force-depends --force-script-chrootless "$@"; }
dpkg_root -i "$deb" >/dev/null 2>"$ctl/dpkg.err" || fail "dpkg -i: $(cat "$ctl/dpkg.err")"
[[ $(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' mta-sts-exporter) == "install ok installed" ]] ||
  fail "not installed"
conffiles=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' mta-sts-exporter)
grep -q '^ /etc/mta-sts-exporter/config.yaml [0-9a-f]\{32\}$' <<<"$conffiles" || fail "conffile not registered"
version=$("$root/usr/bin/mta-sts-exporter" --version) || fail "installed binary: --version failed"
[[ $version == *"$(field Version | cut -d- -f1)"* ]] || fail "--version says '$version'"
echo "deb-test: installed binary: $version"
"$root/usr/bin/mta-sts-exporter" config check "$root/etc/mta-sts-exporter/config.yaml" ||
  fail "config check of the installed config"
# The unit starts the installed binary with the installed config (systemd_verify and
# systemd_security lint the unit itself; an empty root has no systemd to verify it against).
unit=$root/usr/lib/systemd/system/mta-sts-exporter.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ $exec_start == "/usr/bin/mta-sts-exporter --config.file=/etc/mta-sts-exporter/config.yaml" ]] ||
  fail "unit ExecStart=$exec_start"
read -r exe arg <<<"$exec_start"
[[ -x $root$exe && -f $root${arg#--config.file=} ]] || fail "the unit's binary or config is not installed"
# The postinst recorded the unit's [Install] state the way debhelper's does (not enabled).
[[ -e $root/var/lib/systemd/deb-systemd-helper-enabled/mta-sts-exporter.service.dsh-also ]] ||
  fail "postinst did not record the unit with deb-systemd-helper"
[[ ! -e $root/etc/systemd/system/multi-user.target.wants/mta-sts-exporter.service ]] ||
  fail "the service was enabled on install"

# An administrator's edit of the conffile survives a reinstall; remove keeps it, purge drops it.
echo "  - example.net" >>"$root/etc/mta-sts-exporter/config.yaml"
dpkg_root -i "$deb" >/dev/null 2>&1 || fail "reinstall failed"
grep -q '^  - example.net$' "$root/etc/mta-sts-exporter/config.yaml" || fail "reinstall replaced the edited config"
mkdir -p "$root/var/lib/private/mta-sts-exporter" # what StateDirectory= would have made
dpkg_root --remove mta-sts-exporter >/dev/null 2>&1 || fail "dpkg --remove failed"
[[ ! -e $root/usr/bin/mta-sts-exporter ]] || fail "remove left the binary"
[[ -f $root/etc/mta-sts-exporter/config.yaml ]] || fail "remove deleted the conffile"
# Nothing masks the unit: after a reinstall, `systemctl enable` must work.
[[ ! -L $root/etc/systemd/system/mta-sts-exporter.service ]] || fail "remove masked the unit"
dpkg_root --purge mta-sts-exporter >/dev/null 2>&1 || fail "dpkg --purge failed"
[[ ! -e $root/etc/mta-sts-exporter/config.yaml ]] || fail "purge kept the conffile"
[[ ! -e $root/var/lib/private/mta-sts-exporter ]] || fail "purge kept the state directory"
[[ -z $(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' mta-sts-exporter 2>/dev/null) ]] ||
  fail "purge left the package in the database"
echo "deb-test: OK"
