#!/usr/bin/env bash
# Brings up the test world (a real DNS server and HTTPS server in a private network namespace,
# no internet needed) and runs `check` on every posture it publishes, so a newcomer sees each
# issue the exporter reports. Extra arguments go to `check` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --with-test
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null
domains=$(grep -v '^#' tests/world/postures.tsv | cut -f1 | tr '\n' ' ')
# shellcheck disable=SC2016,SC2086
exec tests/world/with-world.sh bash -c '
  build/release/mta-sts-exporter check --dns.server="$MTASTS_WORLD_DNS" \
    --tls.ca-file="$MTASTS_WORLD_CA" --ssrf.allow-cidr="$MTASTS_WORLD_ALLOW_CIDR" \
    --ssrf.allow-cidr="$MTASTS_WORLD_ALLOW_CIDR6" \
    --check.timeout=3s "$@" '"$domains"'; exit 0' demo "$@"
