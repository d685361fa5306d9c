#!/usr/bin/env bash
# Renders each panel of the Grafana dashboard as a PNG under docs/dashboard/, from real data:
# runs the prometheus_e2e test (the test world, the daemon watching its 29 domains, Debian's
# prometheus scraping it every second) with MTASTS_DASHBOARD_DUMP set, which makes the test gather
# a minute more of data and write every panel query's answer to a file, then plots those answers
# with matplotlib (scripts/render-dashboard.py). Grafana is not packaged by Debian 12: the images
# show the dashboard's queries and data, not Grafana's own look. Needs a build (scripts/test.sh,
# or MTASTS_BUILD_DIR); installs python3-matplotlib when missing. Run as root, like the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${MTASTS_BUILD_DIR:-build/test}
tests=$build_dir/tests/mtasts_world_tests
[[ -x $tests ]] || {
  echo "render-dashboard: $tests not found; build first (scripts/test.sh)" >&2
  exit 1
}
if ! dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null
fi
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
MTASTS_DASHBOARD_DUMP=$dump tests/world/with-world.sh "$tests" --gtest_color=no \
  --gtest_filter='PrometheusTest.*' >/dev/null
rm -f docs/dashboard/*.png
/usr/bin/python3 scripts/render-dashboard.py "$dump" docs/dashboard
