#!/usr/bin/env bash
# `npm run test:cluster`: every *.temporal.test.ts file against the PostgreSQL-backed Temporal cluster of
# temporal/cluster/ instead of a dev server (the first run installs PostgreSQL and builds the server).
# The cluster keeps running when it was already running; otherwise the run stops it at the end.
# Extra arguments go to jest (e.g. a test file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
SOP_TEMPORAL_MODE=cluster exec npx jest --selectProjects temporal "$@"
