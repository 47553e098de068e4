#!/usr/bin/env bash
# The console screenshots in docs/console.md (docs/images/console-*.png): the console's browser test, run with
# SOP_CONSOLE_SCREENSHOTS, saves the runs list and a run waiting for approval as it goes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
SOP_TEST_TIER=workflow SOP_CONSOLE_SCREENSHOTS="$root/docs/images" npx jest test/console/console.workflow.test.ts
ls -l docs/images/console-*.png
