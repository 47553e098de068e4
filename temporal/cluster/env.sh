# Settings shared by start.sh and stop.sh (sourced): ports, addresses and the state directory.
port="${SOP_CLUSTER_PORT:-17233}"
ui_port="${SOP_CLUSTER_UI_PORT:-18233}"
pg_port="${SOP_CLUSTER_PG_PORT:-55432}"
if [[ "$(id -u)" -eq 0 ]]; then
  state="${SOP_CLUSTER_STATE_DIR:-/var/lib/sop-runtime/cluster}"
else
  state="${SOP_CLUSTER_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/sop-runtime/cluster}"
fi
address="127.0.0.1:$port"
