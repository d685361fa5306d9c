#!/usr/bin/env bash
# Proves that the unit tests left out of the ThreadSanitizer pass start no thread, so that TSan,
# which only sees races between threads, has nothing to find in them (docs/TESTING.md, "The CI
# budget"). Runs the suites of the given test files once, in the (ASan) unit test binary, under
# strace, and fails on any clone() with CLONE_THREAD made by the test process. Usage:
#
#   tests/unit/single-threaded.sh UNIT_TEST_BINARY TEST_FILE...
#
# Without -f, strace follows only the test process's main thread; every other thread of the
# process is made by it or by a thread it made, so the first thread is always seen. Processes a
# test starts (fork without CLONE_THREAD) and their own threads are not the test's.
set -uo pipefail

(($# >= 2)) || {
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
binary=$1
shift
command -v strace >/dev/null || {
  echo "single-threaded: strace not found; run scripts/install-deps.sh --with-test" >&2
  exit 1
}

suites=()
for file in "$@"; do
  [[ -r $file ]] || {
    echo "single-threaded: cannot read $file" >&2
    exit 1
  }
  found=$(sed -nE 's/^(TEST|TEST_F|TEST_P|TYPED_TEST)\(([A-Za-z0-9_]+),.*/\2/p' "$file" | sort -u)
  [[ -n $found ]] || {
    echo "single-threaded: no TEST in $file" >&2
    exit 1
  }
  while read -r suite; do suites+=("$suite"); done <<<"$found"
done
filter=$(printf '%s.*:' "${suites[@]}")
filter=${filter%:}

trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
# LeakSanitizer's exit-time check clones a tracer of its own; leaks are the unit run's to find.
ASAN_OPTIONS=detect_leaks=0 strace -qq -e trace=clone,clone3 -e signal=none -o "$trace" \
  "$binary" --gtest_brief=1 --gtest_filter="$filter" >/dev/null
status=$?
if ((status != 0)); then
  echo "single-threaded: the tests failed (status $status): $binary --gtest_filter=$filter" >&2
  exit 1
fi
if grep -q 'CLONE_THREAD' "$trace"; then
  # Name the suites that did it, one run each.
  for suite in "${suites[@]}"; do
    ASAN_OPTIONS=detect_leaks=0 strace -qq -e trace=clone,clone3 -e signal=none -o "$trace" \
      "$binary" --gtest_brief=1 --gtest_filter="$suite.*" >/dev/null
    if grep -q 'CLONE_THREAD' "$trace"; then
      echo "single-threaded: $suite starts a thread, so its file belongs in the ThreadSanitizer" >&2
      echo "pass (remove it from MTASTS_UNIT_TESTS_WITHOUT_THREADS in tests/CMakeLists.txt)" >&2
    fi
  done
  exit 1
fi
echo "single-threaded: ${#suites[@]} suites of $# files, no thread started"
