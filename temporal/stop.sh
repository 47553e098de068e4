#!/usr/bin/env bash
# Stops the embedded dev server that start.sh started (same SOP_TEMPORAL_STATE_DIR); its database is kept.
set -euo pipefail
state="${SOP_TEMPORAL_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/sop-runtime/temporal}"
pidfile="$state/server.pid"
if [[ ! -f "$pidfile" ]]; then
  echo "no dev server started from $state"
  exit 0
fi
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "stopped Temporal dev server (pid $pid)"
else
  echo "dev server (pid $pid) was not running"
fi
rm -f "$pidfile"
