#!/usr/bin/env bash
# Stops what start.sh started from the same SOP_CLUSTER_STATE_DIR: the Web UI, the Temporal server and
# PostgreSQL. The database is kept, so the next start.sh resumes with the same namespaces and workflows.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

stop_pid() { # pidfile, name
  [[ -f "$1" ]] || return 0
  local pid
  pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $2 (pid $pid)"
  fi
  rm -f "$1"
}
stop_pid "$state/ui.pid" "Temporal Web UI"
stop_pid "$state/server.pid" "Temporal server"

pgdata="$state/postgres/data"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [[ -f "$pgdata/postmaster.pid" && -n "$pgbin" ]]; then
  as_pg=()
  [[ "$(id -u)" -eq 0 ]] && as_pg=(runuser -u postgres --)
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null && echo "stopped PostgreSQL (data $pgdata)"
fi
