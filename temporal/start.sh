#!/usr/bin/env bash
# Starts the embedded Temporal dev server (built by build.sh) in the background on 127.0.0.1 with a
# persistent SQLite database, the Web UI, and the runtime's search attributes. A no-op when a server
# already answers on the port. Settings (environment):
#   SOP_TEMPORAL_PORT      frontend gRPC port            (default 7233)
#   SOP_TEMPORAL_UI_PORT   Web UI port                   (default 8233)
#   SOP_TEMPORAL_STATE_DIR database, log and pid file    (default ~/.local/state/sop-runtime/temporal)
#   SOP_TEMPORAL_BIN       a Temporal CLI to use instead of building temporal/bin/temporal (see build.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${SOP_TEMPORAL_BIN:-$here/bin/temporal}"
ip=127.0.0.1
port="${SOP_TEMPORAL_PORT:-7233}"
ui_port="${SOP_TEMPORAL_UI_PORT:-8233}"
state="${SOP_TEMPORAL_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/sop-runtime/temporal}"
address="$ip:$port"

healthy() { "$bin" operator cluster health --address "$address" --command-timeout 2s >/dev/null 2>&1; }

ensure_search_attributes() {
  local have
  have="$("$bin" operator search-attribute list --address "$address" -o json)"
  while IFS='=' read -r name type; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    if ! grep -q "\"$name\"" <<<"$have"; then
      "$bin" operator search-attribute create --address "$address" --name "$name" --type "$type" >/dev/null
    fi
  done <"$here/search-attributes.txt"
}

bash "$here/build.sh" >&2

if healthy; then
  ensure_search_attributes
  echo "Temporal dev server already running at $address (Web UI http://$ip:$ui_port)"
  exit 0
fi

if (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null; then
  echo "error: port $port on $ip is in use by something that is not a Temporal server" >&2
  echo "hint: stop that process or choose another port with SOP_TEMPORAL_PORT" >&2
  exit 1
fi

mkdir -p "$state"
sa_flags=()
while IFS='=' read -r name type; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  sa_flags+=(--search-attribute "$name=$type")
done <"$here/search-attributes.txt"

# setsid: the server outlives this script and the terminal that started it.
setsid "$bin" server start-dev --ip "$ip" --port "$port" --ui-port "$ui_port" \
  --db-filename "$state/dev.db" --log-level warn --log-format json "${sa_flags[@]}" \
  >>"$state/server.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/server.pid"

for _ in $(seq 1 300); do
  if healthy; then
    ensure_search_attributes
    echo "Temporal dev server started at $address (pid $pid, database $state/dev.db, Web UI http://$ip:$ui_port)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: the Temporal dev server exited during start-up; last lines of $state/server.log:" >&2
    tail -n 15 "$state/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "error: the Temporal dev server did not answer at $address within 60 s (log: $state/server.log)" >&2
exit 1
