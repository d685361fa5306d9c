#!/usr/bin/env bash
# clang-tidy over every source of the product (base/, collectors/, config/, agent/), one floor
# at a time: a tree configured (never built) as a unity build, each library one translation unit
# that includes all its .cc files. clang-tidy's matchers walk every declaration of a translation
# unit, the standard library's and cpp-httplib's, nlohmann/json's and spdlog's too, before the
# header filter drops what is not ours; file by file that walk was repeated for each of the 81
# files (about 800 CPU seconds), a floor at a time it is done 5 times (about 65).
# The .cc files are headers of the unity file there, which .clang-tidy's HeaderFilterRegex admits,
# so their findings are reported as before. What this cannot see (docs/TESTING.md, "Lint"):
# misc-unused-using-decls looks at the main file only; a file by itself is linted with that too in
# a tree configured without unity (`cmake -S . -B build/lint -DMTASTS_PCH=OFF`, then
# `clang-tidy -p build/lint FILE`), as editors and the pre-commit routine do. File-local names must differ between the files
# of a floor, or the unity file does not compile: give a helper a name of its own, or move it to
# base/ when two files need it.
#
#   tests/lint/clang-tidy.sh CLANG_TIDY BUILD_DIR
set -euo pipefail
clang_tidy=$1
build=$2
cd "$(dirname "$0")/../.."
# No precompiled headers (clang cannot read GCC's), no tests, every library one unity batch.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMTASTS_PCH=OFF -DMTASTS_BUILD_TESTS=OFF \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0 >"$build.configure.log" 2>&1 || {
  cat "$build.configure.log"
  exit 1
}
# The unity files include the .cc files by path: that is what a unity file is, not a finding.
sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$build/compile_commands.json" |
  xargs -P "$(nproc)" -n 1 "$clang_tidy" -p "$build" --quiet --checks=-bugprone-suspicious-include
