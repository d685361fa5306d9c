#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds, runs and tests with. Idempotent: packages
# already present are not fetched again, and apt is not touched at all when nothing is missing.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config git
  prometheus-cpp-dev libcpp-httplib-dev libc-ares-dev libssl-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev nlohmann-json3-dev libidn2-dev
  libsystemd-dev zlib1g-dev libgmime-3.0-dev libsqlite3-dev libcrypt-dev
  clang-format clang-tidy
  help2man # the man page, made at build time from the binary's --help
)
# The test world: a real DNS server, a real HTTPS server, a CA made with openssl, network
# namespaces (iproute2, util-linux's unshare) and a DNS client for diagnostics; prometheus ships
# promtool, which lints the golden metrics exposition, and the server the end-to-end test scrapes
# with; postfix is the world's SMTP servers for the MX STARTTLS probe (the world runs its own
# instance; the system one is left unconfigured); dpkg-dev's dpkg-shlibdeps computes the Debian
# package's Depends and lintian checks it against Debian policy (man-db renders its man page, which
# help2man makes at build time from --help); clang and its runtime (libFuzzer, ASan) build the
# fuzz targets; nftables counts the packets of the SSRF proof; strace proves that the unit tests
# left out of the ThreadSanitizer pass start no thread.
test_packages=(dnsmasq-base nginx-light openssl iproute2 util-linux knot-dnsutils curl systemd prometheus
  postfix dpkg-dev lintian man-db clang libclang-rt-14-dev nftables strace)

want=("${build_packages[@]}")
if [[ "${1:-}" == "--with-test" ]]; then want+=("${test_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start system services (nginx) on the host: the tests start their own.
policy_rc=/usr/sbin/policy-rc.d
created_policy_rc=0
if [[ ! -e $policy_rc ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc" && chmod +x "$policy_rc" && created_policy_rc=1
fi
trap '[[ $created_policy_rc == 1 ]] && rm -f "$policy_rc"' EXIT
# postfix asks what kind of mail system this is: none (the tests configure their own instance).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
