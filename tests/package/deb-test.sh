#!/usr/bin/env bash
# Builds the Debian package with packaging/build-deb.sh (Debian's -O2, no sanitizers, with
# Debian's hardening flags), checks it with lintian, inspects it, and installs it into a
# throw-away root with dpkg. Usage:
#
#   tests/package/deb-test.sh SOURCE_DIR BUILD_DIR
#
# BUILD_DIR is a build tree of its own (packaging/build-deb.sh configures it; ccache when
# installed). It is kept between runs, so only the first run compiles everything. The install
# root is a temp dir.
#
# What it asserts:
#   - lintian (with info tags): no tag at all but those overridden in
#     packaging/debian/lintian-overrides (an error, a warning or an info tag fails the test, and so
#     does an override that no longer matches); every misspelling lintian finds in the binary and
#     that the overrides silence is absent from the sources' string literals;
#   - the Maintainer is a real-looking address; the Debian changelog parses, its version is the
#     package's and its distribution unstable or bookworm; the copyright file is machine-readable
#     and licenses the sources under Apache-2.0 like LICENSE; the changelog, README and man page
#     are compressed without a name or time in the gzip header;
#   - the man page renders with man(1) without a warning, has the sections help2man cannot
#     derive, and names every flag that --help names;
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
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
src=$(cd -- "$1" && pwd -P)
build=$2
fail() {
  echo "deb-test: FAIL: $*" >&2
  exit 1
}
for tool in dpkg dpkg-deb dpkg-shlibdeps dpkg-parsechangelog cpack cmake lintian help2man man; do
  command -v "$tool" >/dev/null || fail "$tool not found; run: bash scripts/install-deps.sh --with-test"
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
built=$("$src/packaging/build-deb.sh" "$build" "${launcher[@]}") || fail "packaging/build-deb.sh failed"
deb=${built##*$'\n'}
[[ -f $deb ]] || fail "packaging/build-deb.sh made no .deb"
echo "deb-test: built $(basename "$deb")"
ctl=$(mktemp -d)
root=$(mktemp -d)
data=$(mktemp -d)
trap 'rm -rf "$ctl" "$root" "$data"' EXIT

# --- lintian: Debian policy --------------------------------------------------------------------
# Info tags count too: every tag left is either fixed or overridden with its reason. Overridden
# tags are listed (O:, with their reasons as N:) so that the reasons can be checked below; with
# --show-overrides lintian counts them for --fail-on, so its verdict is read from the tags: an
# E:, W: or I: line is a tag not overridden (unused-override is one too).
lintian_out=$ctl/lintian.txt
lintian_rc=0
lintian --display-info --show-overrides "$deb" >"$lintian_out" 2>&1 || lintian_rc=$?
grep -v '^running with root privileges' "$lintian_out" | sed 's/^/deb-test: lintian: /'
((lintian_rc == 0 || lintian_rc == 2)) || fail "lintian did not run (exit status $lintian_rc)"
! grep -q '^[EWI]: ' "$lintian_out" ||
  fail "lintian reports the E:/W:/I: tags above: fix them, or override one in packaging/debian/lintian-overrides with a comment saying why it is not a defect"
# The binary's "misspellings" are literals cut where the optimiser split them ("... host nam" |
# "e after"): an overridden word must not be a word in a string literal of the sources.
while read -r word; do
  hits=$(grep -rnP --include='*.cc' --include='*.h' "\"[^\"]*\\b\\Q$word\\E\\b[^\"]*\"" \
    "$src/agent" "$src/collectors" "$src/config" || true)
  [[ -z $hits ]] || fail "lintian's spelling-error-in-binary '$word' is a real misspelling:"$'\n'"$hits"
done < <(sed -n 's/^O: [^ ]* spelling-error-in-binary \([^ ]*\) .*/\1/p' "$lintian_out")

# --- dpkg-deb -I: the control data ------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == mta-sts-exporter ]] || fail "Package: $(field Package)"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
maintainer=$(field Maintainer)
[[ $maintainer =~ ^[^\<\>@]+\ \<[^@\<\>\ ]+@[a-z0-9-]+(\.[a-z0-9-]+)+\>$ && $maintainer != *localhost* ]] ||
  fail "Maintainer: '$maintainer' is not a name and a real-looking address"
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
./usr/share/doc/mta-sts-exporter/copyright
./usr/share/doc/mta-sts-exporter/changelog.Debian.gz
./usr/share/doc/mta-sts-exporter/README.md.gz
./usr/share/man/man1/mta-sts-exporter.1.gz
./usr/share/lintian/overrides/mta-sts-exporter
EOF
)
[[ $files == "$expected" ]] || fail "files differ from the layout:"$'\n'"$(diff <(echo "$expected") <(echo "$files"))"
grep -q '^-rwxr-xr-x root/root .* \./usr/bin/mta-sts-exporter$' <<<"$listing" || fail "binary not 0755 root:root"
grep -q '^-rw-r--r-- root/root .* \./etc/mta-sts-exporter/config.yaml$' <<<"$listing" ||
  fail "config not 0644 root:root (the dynamic user must read it)"

# --- the documentation: copyright, changelog, man page ----------------------------------------
dpkg-deb -x "$deb" "$data"
doc=$data/usr/share/doc/mta-sts-exporter
man_gz=$data/usr/share/man/man1/mta-sts-exporter.1.gz
# gzip -9n: no file name (FLG bit 3) and no time (MTIME = 0) in the header (Debian policy 12.3).
for gz in "$doc/changelog.Debian.gz" "$doc/README.md.gz" "$man_gz"; do
  gzip -t "$gz" || fail "$gz is not gzip"
  read -r -a header < <(od -An -tu1 -N8 "$gz")
  ((!(header[3] & 8) && header[4] + header[5] + header[6] + header[7] == 0)) ||
    fail "$(basename "$gz") carries a file name or time in its gzip header: compress with gzip -9n"
done
# The Debian changelog: parses, its version is the package's, the distribution is one it can go to.
zcat "$doc/changelog.Debian.gz" >"$ctl/changelog"
changelog() { dpkg-parsechangelog -l "$ctl/changelog" -S "$1"; }
[[ $(changelog Version) == "$(field Version)" ]] ||
  fail "changelog.Debian is at '$(changelog Version)', the package at $(field Version): add a changelog entry"
[[ $(changelog Distribution) =~ ^(unstable|bookworm)$ ]] || fail "changelog.Debian distribution: $(changelog Distribution)"
[[ $(changelog Maintainer) != *localhost* ]] || fail "changelog.Debian maintainer is a placeholder"
# The copyright: machine-readable (DEP-5), the sources under Apache-2.0, whose text is LICENSE.
copyright=$doc/copyright
[[ $(head -1 "$copyright") == "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] ||
  fail "copyright is not in the machine-readable format"
[[ $(sed -n '/^Files: \*$/,/^$/s/^License: //p' "$copyright") == Apache-2.0 ]] ||
  fail "copyright: the Files: * paragraph does not say License: Apache-2.0"
grep -q '/usr/share/common-licenses/Apache-2.0' "$copyright" || fail "copyright does not point at common-licenses"
cmp -s "$src/LICENSE" /usr/share/common-licenses/Apache-2.0 ||
  fail "LICENSE is not the Apache License 2.0 text of /usr/share/common-licenses/Apache-2.0"
# The man page renders without a groff or man warning and has what help2man cannot derive.
man_text=$(MANWIDTH=100 man --warnings -l "$man_gz" 2>"$ctl/man.err" | col -b) ||
  fail "man -l failed: $(cat "$ctl/man.err")"
[[ ! -s $ctl/man.err ]] || fail "the man page renders with warnings: $(cat "$ctl/man.err")"
for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" SIGNALS ENVIRONMENT FILES "SEE ALSO"; do
  grep -q "^$section\$" <<<"$man_text" || fail "the man page has no $section section"
done
grep -q '^ *mta-sts-exporter - MTA-STS and TLS-RPT monitor' <<<"$man_text" || fail "the man page's NAME line"
for form in "check [--json]" "policy [--json]" "config check FILE" "--version | --help"; do
  grep -qF -- "mta-sts-exporter $form" <<<"$man_text" || fail "the man page's SYNOPSIS lacks '$form'"
done
# Every flag --help names is in the man page (help2man reads --help: a flag missing here means
# --help lost the layout help2man understands).
flags=$("$data/usr/bin/mta-sts-exporter" --help | grep -o -- '--[a-z][a-z.-]*[a-z]' | sort -u)
[[ -n $flags ]] || fail "--help names no flag"
for flag in $flags; do
  grep -qF -- "$flag" <<<"$man_text" || fail "the man page does not name $flag"
done
echo "deb-test: man page: $(grep -c . <<<"$man_text") lines, $(wc -w <<<"$flags") flags"

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
