#!/usr/bin/env bash
# The main job (`npm run demo`): set up what is missing, start the embedded Temporal dev server, and run
# the ralph_loop SOP end to end on a copy of examples/slugify with the REAL Codex CLI, offline: the model
# is the project's scripted model server (examples/demo/ralph_loop.scenario.yaml) on loopback.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
node bin/sop.js server start

state="${SOP_STATE_DIR:-$HOME/.local/state/sop-runtime}"
stamp="$(date +%Y%m%d-%H%M%S)"
workspace="$state/demo/slugify-$stamp"
mkdir -p "$workspace"
cp -R examples/slugify/. "$workspace/"
git -C "$workspace" init -q
git -C "$workspace" -c user.name=demo -c user.email=demo@example.invalid add -A
git -C "$workspace" -c user.name=demo -c user.email=demo@example.invalid commit -qm "slugify example"

# the scripted model server, stopped when the demo ends
url_file="$(mktemp)"
node dist/scripted-model/model-server-cli.js --scenario examples/demo/ralph_loop.scenario.yaml > "$url_file" &
model_pid=$!
trap 'kill $model_pid 2>/dev/null || true; rm -f "$url_file"' EXIT
for _ in $(seq 50); do [ -s "$url_file" ] && break; sleep 0.1; done
model_url="$(head -1 "$url_file")"

echo "workspace: $workspace (a git repository)"
echo "scripted model server: $model_url"
# `npm run demo -- --provider claude` runs the same SOP with the real Claude Code binary instead
SOP_CODEX_BASE_URL="$model_url/v1" SOP_CLAUDE_BASE_URL="$model_url" node bin/sop.js run ralph_loop \
  "Make slugify collapse repeated whitespace and drop punctuation" \
  --workspace "$workspace" --task "demo-$stamp" "$@"

ui="http://127.0.0.1:${SOP_TEMPORAL_UI_PORT:-8233}"
echo
echo "What the agents changed:"
git -C "$workspace" status --short
echo
echo "Evidence, prompts and transcripts: $workspace/.sop/runs/ralph_loop/demo-$stamp/"
echo "Open the Web UI at $ui/namespaces/default/workflows (filter: SopName = \"ralph_loop\") to see the run,"
echo "or: node bin/sop.js logs ralph_loop demo-$stamp --events"
echo "The dev server keeps running; stop it with: node bin/sop.js server stop"
