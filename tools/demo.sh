#!/usr/bin/env bash
# `make run`: trace the bundled demo service (tests/targets/demo.c) and print the report.
set -euo pipefail
build=${1:-build}
exec "$build/snag" -c "$build/tests/targets/demo 300" \
  -u 'handle_request' -u 'parse_request' -u 'cache_lookup' -u 'db_query' -u 'render_response'
