#!/usr/bin/env bash
# The long variants of the chaos and bad-input suites (CI runs the short ones in `npm test`):
# 10 random kill -9s of the worker in a 10-step run, 500 concurrent runs on one worker, 5,000 fuzzed SOPs,
# plus the dev-server restart, hung/crashed harness, canary and malformed-outcome tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export SOP_CHAOS_KILLS="${SOP_CHAOS_KILLS:-10}" SOP_CHAOS_RUNS="${SOP_CHAOS_RUNS:-500}" SOP_FUZZ_CASES="${SOP_FUZZ_CASES:-5000}"
npx jest test/temporal/worker-crash test/temporal/dev-server test/temporal/chaos-harness test/temporal/canary \
  test/sop/fuzz test/harnesses "$@"
