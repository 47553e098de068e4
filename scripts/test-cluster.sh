#!/usr/bin/env bash
# `npm run test:cluster`: the workflow and e2e tiers (every *.workflow.test.ts, *.temporal.test.ts and
# *.e2e.test.ts file) against a PostgreSQL-backed Temporal cluster of temporal/cluster/ instead of a dev server
# (the first run installs PostgreSQL and builds the server). The cluster is the tests' own, fresh for each run
# and stopped at its end (test/support/temporal-global-setup.ts). Extra arguments go to jest (e.g. a test file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
SOP_TEMPORAL_MODE=cluster SOP_TEST_TIER=workflow,e2e exec npx jest "$@"
