#!/usr/bin/env bash
# The main job (`npm run demo`): set up what is missing, start the embedded Temporal dev server, and run
# a workflow end to end, printing where to look in the Web UI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
node bin/sop.js server start
node bin/sop.js smoke
ui="http://127.0.0.1:${SOP_TEMPORAL_UI_PORT:-8233}"
echo
echo "Open the Web UI at $ui/namespaces/default/workflows to see the run (filter: SopName = \"smoke\")."
echo "The dev server keeps running (database: ${SOP_TEMPORAL_STATE_DIR:-~/.local/state/sop-runtime/temporal}/dev.db); stop it with: node bin/sop.js server stop"
