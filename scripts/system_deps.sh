#!/usr/bin/env bash
# Debian packages the tests use (ffmpeg CLI for corrupt-video fixtures and live streams, chromium for
# browser tests, PostgreSQL for Dagster on PostgreSQL in tests/scaleout).
# Installs only what is missing; never fails the build if apt is unavailable (tests then skip with a reason).
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
      || echo "warning: could not install ${need[*]}; tests that need them will skip"
  else
    echo "warning: missing ${need[*]} and cannot apt-get; tests that need them will skip"
  fi
fi
exit 0
