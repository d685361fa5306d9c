#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang, ASan and UBSan in a build
# directory of their own, and runs each for SECONDS (default 60), two at a time, from its seed
# corpus (tests/fuzz/corpus/TARGET/). Any finding (crash, sanitizer report, leak, a violated
# property, an input taking over 10 s) fails the run; the input is kept as
# BUILD/artifacts/TARGET-crash-* and its path printed. New corpus entries go to BUILD/corpus/,
# never into the repository.
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET...]     # TARGET: policy_parser, http_request, ...
#
# Environment: MTASTS_FUZZ_BUILD_DIR (default build/fuzz), MTASTS_FUZZ_JOBS (default 2).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd -- "$here/../.." && pwd -P)
seconds=${1:-60}
shift || true
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run-fuzzers: SECONDS must be a positive integer, got \"$seconds\"" >&2; exit 2; }
build=${MTASTS_FUZZ_BUILD_DIR:-$root/build/fuzz}
jobs=${MTASTS_FUZZ_JOBS:-2}

command -v clang++ >/dev/null || { echo "run-fuzzers: clang++ not found; run scripts/install-deps.sh --with-test" >&2; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# A unity build (each library one translation unit): the targets need the code, not a check of
# each file's includes, which the GCC trees of the suite make; it compiles in about 230 CPU
# seconds instead of 370 (docs/TESTING.md, "The CI budget").
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-O1 -g1" -DMTASTS_FUZZ=ON -DMTASTS_BUILD_TESTS=OFF -DMTASTS_WERROR=ON \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 "${launcher[@]}" >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)" --target fuzzers

if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for f in "$here"/*_fuzz.cc; do
    n=$(basename "$f" _fuzz.cc)
    targets+=("$n")
  done
fi

mkdir -p "$build/artifacts" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run TARGET: fuzz it for $seconds; the status is libFuzzer's (0: nothing found).
run() {
  local t=$1 bin="$build/tests/fuzz/${1}_fuzz" seeds="$here/corpus/$1" work="$build/corpus/$1"
  local dict=()
  [[ -x $bin ]] || { echo "run-fuzzers: no target $t ($bin)" >&2; return 1; }
  [[ -d $seeds ]] || { echo "run-fuzzers: no seed corpus $seeds" >&2; return 1; }
  [[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
  mkdir -p "$work"
  rm -f "$build/artifacts/$t-"*
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "${dict[@]}" "$work" "$seeds" \
    >"$build/logs/$t.log" 2>&1
}

declare -A pid_of=()
failed=()
finish() { # finish PID STATUS: report one finished run
  local pid=$1 status=$2 t=${pid_of[$1]}
  unset "pid_of[$pid]"
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/logs/$t.log" | tail -n 1)
  if ((status == 0)); then
    echo "run-fuzzers: $t: ok, ${execs:-?} inputs in ${seconds} s"
  else
    failed+=("$t")
    echo "run-fuzzers: $t: FINDING (status $status); log $build/logs/$t.log:" >&2
    tail -n 60 "$build/logs/$t.log" >&2
    ls -1 "$build/artifacts/$t-"* 2>/dev/null | sed 's/^/run-fuzzers: input kept: /' >&2 || true
  fi
}
for t in "${targets[@]}"; do
  while ((${#pid_of[@]} >= jobs)); do
    status=0
    wait -n -p done_pid "${!pid_of[@]}" || status=$?
    finish "$done_pid" "$status"
  done
  run "$t" &
  pid_of[$!]=$t
done
while ((${#pid_of[@]} > 0)); do
  status=0
  wait -n -p done_pid "${!pid_of[@]}" || status=$?
  finish "$done_pid" "$status"
done

if ((${#failed[@]} > 0)); then
  echo "run-fuzzers: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: ${#targets[@]} targets, ${seconds} s each: no finding"
