#!/usr/bin/env bash
# Sets everything up and runs the exporter daemon on the shipped default config
# (config/example.yaml): installs the Debian packages it needs (idempotent), builds a release
# binary, then runs it in the foreground on :10056. Extra arguments go to the daemon, e.g.
#   scripts/run.sh --web.listen-address=127.0.0.1:9000 --log.level=debug
# Then: curl localhost:10056/metrics   and   curl 'localhost:10056/v1/check?domain=example.com'
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
exec build/release/mta-sts-exporter --config.file=config/example.yaml "$@"
