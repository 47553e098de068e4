#!/usr/bin/env bash
# The test command (`npm test`): set up what is missing, then every jest project — unit tests and the
# suites that run against a real Temporal dev server started for this run. Extra arguments go to jest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
exec npx jest "$@"
