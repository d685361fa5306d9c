#!/usr/bin/env bash
# Builds the Debian package as a Debian build would: prefix /usr, compiled and linked with the
# flags of dpkg-buildflags alone (-g -O2, as debhelper's cmake build does, plus -DNDEBUG) and
# every hardening feature
# (DEB_BUILD_MAINT_OPTIONS=hardening=+all: -fstack-protector-strong, -D_FORTIFY_SOURCE=2,
# -Wformat -Werror=format-security, PIE, -Wl,-z,relro -Wl,-z,now), the man page dated by the
# Debian changelog (SOURCE_DATE_EPOCH), then `cpack -G DEB`. Usage:
#
#   packaging/build-deb.sh BUILD_DIR [CMAKE_ARG...]
#
# BUILD_DIR is a build tree of its own, kept between runs (only the first run compiles
# everything); CMAKE_ARG... are added to the configure step (-DCPACK_PACKAGE_CONTACT="Name
# <address>" sets the Maintainer). The last line printed is the path of the .deb. Needs the
# Debian packages of scripts/install-deps.sh (help2man among them) and dpkg-dev.
set -euo pipefail

(($# >= 1)) || {
  sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
src=$(cd -- "$(dirname -- "$0")/.." && pwd -P)
mkdir -p -- "$1"
build=$(cd -- "$1" && pwd -P)
shift
for tool in dpkg-buildflags dpkg-parsechangelog dpkg-shlibdeps help2man cmake cpack; do
  command -v "$tool" >/dev/null || {
    echo "build-deb: $tool not found; run: bash scripts/install-deps.sh --with-test" >&2
    exit 1
  }
done

# dpkg-buildflags maps the source directory to "." in the debug info; it reads the current one.
cd "$src"
export DEB_BUILD_MAINT_OPTIONS="hardening=+all${DEB_BUILD_MAINT_OPTIONS:+ $DEB_BUILD_MAINT_OPTIONS}"
cppflags=$(dpkg-buildflags --get CPPFLAGS)
cxxflags=$(dpkg-buildflags --get CXXFLAGS)
ldflags=$(dpkg-buildflags --get LDFLAGS)
# What dpkg-buildpackage does: the build's timestamps are the date of the last changelog entry.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l packaging/debian/changelog -S Timestamp)
export SOURCE_DATE_EPOCH

# CMake takes no CPPFLAGS: the preprocessor flags go with the compiler's. The optimisation level
# is dpkg-buildflags' -O2, not CMake's Release -O3 (CMAKE_CXX_FLAGS_RELEASE keeps only -DNDEBUG):
# what Debian's own build of the package would compile, and a fifth less compile time in the
# test suite's package build (docs/TESTING.md, "The CI budget"). Warnings stay visible but are
# not errors: GCC 12's flow-based warnings at -O2 report false positives inside libstdc++
# (-Wrestrict, GCC bug 105329) that the -Werror test build at -O0 never sees.
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG \
  -DMTASTS_SANITIZE=OFF \
  -DMTASTS_BUILD_TESTS=OFF -DMTASTS_WERROR=OFF -DCMAKE_INSTALL_PREFIX=/usr \
  "-DCMAKE_CXX_FLAGS=$cppflags $cxxflags" "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)" >&2
rm -f "$build"/mta-sts-exporter_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/mta-sts-exporter_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
  echo "build-deb: cpack made no single mta-sts-exporter_*.deb" >&2
  exit 1
fi
echo "${debs[0]}"
