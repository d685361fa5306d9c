#!/usr/bin/env bash
# Sets everything up and runs the whole test suite, as CI does: installs the Debian packages
# (idempotent), builds with warnings as errors under AddressSanitizer + UBSan, and runs every
# test (unit, lint, and the integration tests against the real test world) with CTest.
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --with-test
build_dir=${MTASTS_BUILD_DIR:-build/test}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMTASTS_WERROR=ON -DMTASTS_SANITIZE=ON
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
