#!/usr/bin/env bash
# Sets everything up and runs the whole test suite, as CI does: installs the Debian packages
# (idempotent), builds with warnings as errors under AddressSanitizer + UBSan and runs every test
# (unit, lint, package, fuzz, and the integration tests against the real test world) with CTest;
# then runs the unit tests and the integration tests whose code has threads again, built with
# ThreadSanitizer (build/tsan). Prints how long each phase took. Exits non-zero when any test
# fails or ThreadSanitizer reports anything.
#
# The budget (docs/TESTING.md, "The CI budget"): the whole run must fit in 25 minutes on a
# 2-core machine from a fresh clone. Two things keep the ThreadSanitizer pass inside it:
#   - the TSan build runs from the start, beside the ASan build and tests, under `nice -n 19`:
#     it gets only the CPU they leave idle (link steps, integration tests waiting on the network,
#     the tail of the suite), so it neither slows the ASan pass nor disturbs its timing-sensitive
#     tests (hostile_api_integration's one-second bound); only what is left of it runs alone;
#   - the TSan pass builds only the daemon and the two test binaries (no man page, no package),
#     the unit test binary from only the test files that start threads (tests/CMakeLists.txt,
#     MTASTS_UNIT_TESTS_WITHOUT_THREADS, proven by the ASan pass's unit_tests_without_threads),
#     and runs only the tests that exercise threads of ours: those unit tests and the integration
#     tests labelled `tsan` (world, daemon, webhook, history, fault, hostile API, TLS-RPT, probe).
#     Lint, the package, fuzzing, prometheus_e2e, ssrf_packet_integration and the world smoke
#     tests (which run no code of ours, or only code the other integration tests already run)
#     are the ASan pass's.
# MTASTS_TSAN=0 skips the TSan pass (a quick local run); arguments go to the ASan pass's ctest.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

start=$SECONDS
phase_start=$SECONDS
phase() { # phase NAME: prints the time since the previous phase ended
  echo "test.sh: timing: $1: $((SECONDS - phase_start)) s (total $((SECONDS - start)) s)"
  phase_start=$SECONDS
}

bash scripts/install-deps.sh --with-test || exit 1
jobs=$(nproc)
build_dir=${MTASTS_BUILD_DIR:-build/test}
tsan_dir=${MTASTS_TSAN_BUILD_DIR:-build/tsan}
run_tsan=${MTASTS_TSAN:-1}
# Line tables only (-g1), not full debug information: sanitizer reports keep every file:line,
# and the compiler does about 30% less work (docs/TESTING.md, "The CI budget").
line_tables=(-DCMAKE_CXX_FLAGS_DEBUG=-g1)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${line_tables[@]}" -DMTASTS_WERROR=ON \
  -DMTASTS_SANITIZE=ON ||
  exit 1

tsan_build_pid=
if [[ $run_tsan == 1 ]]; then
  cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${line_tables[@]}" -DMTASTS_WERROR=ON \
    -DMTASTS_TSAN=ON \
    >"$tsan_dir.configure.log" 2>&1 || {
    cat "$tsan_dir.configure.log"
    exit 1
  }
  # Low priority, in the background (see the budget above), in a session of its own so that an
  # early exit stops it too. A new session is a new scheduler autogroup where the kernel has them
  # (sched_autogroup_enabled): nice only ranks processes within their autogroup, and autogroups
  # share the CPU equally, so the group itself is niced too, or the build would take half the CPU.
  # shellcheck disable=SC2016  # $@ is the inner shell's
  setsid sh -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' sh \
    cmake --build "$tsan_dir" -j "$jobs" \
    --target mta-sts-exporter mtasts_unit_tests mtasts_world_tests >"$tsan_dir.build.log" 2>&1 &
  tsan_build_pid=$!
  trap 'if [[ -n $tsan_build_pid ]]; then kill -- -"$tsan_build_pid" 2>/dev/null; fi' EXIT
fi

cmake --build "$build_dir" -j "$jobs" || exit 1
phase "ASan build"
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@" || status=1
phase "ASan tests"

if [[ $run_tsan == 1 ]]; then
  tsan_build_status=0
  wait "$tsan_build_pid" || tsan_build_status=$?
  tsan_build_pid=
  if ((tsan_build_status != 0)); then
    cat "$tsan_dir.build.log"
    echo "test.sh: the ThreadSanitizer build failed" >&2
    exit 1
  fi
  phase "TSan build (what was left of it after the ASan tests)"
  # Each process (the test binaries and every daemon they start) writes its reports to a file
  # of its own here, so a report from a child process fails the run even when its test passes.
  reports=$PWD/$tsan_dir/tsan-reports
  # World-writable: a test may run the daemon as nobody (the TLS-RPT mail tests share its store
  # with Postfix's pipe, which runs as nobody), and its reports must land here too.
  rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:log_path=$reports/tsan"
  # TSan maps its shadow memory at fixed addresses; with a high vm.mmap_rnd_bits (Linux 6.x) a
  # randomised mapping can land there ("unexpected memory mapping"): run without ASLR then.
  no_aslr=()
  if ! "$tsan_dir/mta-sts-exporter" --version >/dev/null 2>&1; then
    no_aslr=(setarch "$(uname -m)" -R)
  fi
  # One CTest run for the unit tests and the integration tests labelled `tsan`, so that the
  # unit tests fill the time the integration tests spend waiting on the network. Peak-RSS bounds
  # are ASan's and the release build's to hold: TSan's shadow memory and allocator make them
  # meaningless (the gzip bomb tests, plain and through the endpoint, are ASan's to hold).
  "${no_aslr[@]}" ctest --test-dir "$tsan_dir" --output-on-failure -j "$jobs" -L '^(unit|tsan)$' \
    -E '^(Gunzip\.TenGigabyteBombStopsAtTheCapWithFlatMemory|TlsRptEndpointTest\.AGzipBombIsRefusedWithMemoryFlat)$' || status=1
  if compgen -G "$reports/tsan*" >/dev/null; then
    echo "test.sh: ThreadSanitizer reports (in $reports):" >&2
    cat "$reports"/tsan* >&2
    status=1
  fi
  phase "TSan tests"
fi
echo "test.sh: timing: whole run: $((SECONDS - start)) s"
exit "$status"
