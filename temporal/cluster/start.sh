#!/usr/bin/env bash
# Starts a production-shaped Temporal in the background: a private PostgreSQL instance (Debian's packages,
# installed when missing), the Temporal server built from the Go module proxy (build.sh) on PostgreSQL with
# SQL advanced visibility, the Web UI, the `default` namespace and the runtime's search attributes; returns
# when a client can start and list workflows with those attributes. Idempotent: a second run reuses the
# database, the schema and whatever already runs. Settings (environment):
#   SOP_CLUSTER_PORT       frontend gRPC port (others: +1 history, +2 matching, +6 worker, +10 frontend
#                          HTTP, +100.. membership)                                     (default 17233)
#   SOP_CLUSTER_UI_PORT    Web UI port                                                  (default 18233)
#   SOP_CLUSTER_PG_PORT    PostgreSQL port (127.0.0.1 only)                             (default 55432)
#   SOP_CLUSTER_STATE_DIR  PostgreSQL data, configs, logs, pid files
#                          (default ~/.local/state/sop-runtime/cluster; /var/lib/sop-runtime/cluster as root,
#                          because PostgreSQL then runs as the `postgres` user, who cannot enter /root)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/../bin"
# shellcheck source=env.sh
source "$here/env.sh"

health() { "$bin/temporal" operator cluster health --address "$address" --command-timeout 2s >/dev/null 2>&1; }
say() { echo "$*" >&2; }

# 1. Binaries: the Temporal CLI (client commands below) and the cluster's server, SQL tool and UI.
bash "$here/../build.sh" >&2
bash "$here/build.sh" >&2

# 2. PostgreSQL from Debian's packages, only when this mode is asked for.
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [[ -z "$(pg_bindir)" ]]; then
  as_root=""
  [[ "$(id -u)" -ne 0 ]] && as_root="sudo -n"
  say "installing PostgreSQL (Debian package postgresql)..."
  if ! { $as_root apt-get install -y -qq postgresql >/dev/null 2>&1 ||
         { $as_root apt-get update -qq >/dev/null 2>&1 && $as_root apt-get install -y -qq postgresql >/dev/null 2>&1; }; }; then
    say "error: could not install PostgreSQL; install it (apt-get install postgresql) and re-run"
    exit 1
  fi
fi
pgbin="$(pg_bindir)"

# PostgreSQL refuses to run as root: as root it runs as the `postgres` user the Debian package creates.
as_pg=()
if [[ "$(id -u)" -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    say "error: running as root but there is no 'postgres' user to run PostgreSQL as"
    say "hint: install Debian's postgresql package (it creates the user) or run as a non-root user"
    exit 1
  fi
  as_pg=(runuser -u postgres --)
fi
pg() { "${as_pg[@]}" "$@"; }

mkdir -p "$state" "$state/config/dynamicconfig" "$state/ui-config"
pgroot="$state/postgres"
pgdata="$pgroot/data"
if [[ ! -d "$pgroot" ]]; then
  mkdir -m 700 "$pgroot"
  [[ ${#as_pg[@]} -gt 0 ]] && chown postgres: "$pgroot"
fi
if ! pg test -w "$pgroot"; then
  say "error: PostgreSQL's user cannot write $pgroot (a parent directory is closed to it)"
  say "hint: choose another SOP_CLUSTER_STATE_DIR"
  exit 1
fi

pwfile="$state/postgres.password"
if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  say "creating the PostgreSQL database cluster in $pgdata..."
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$pwfile")
  install -m 600 "$pwfile" "$pgroot/pwfile"
  [[ ${#as_pg[@]} -gt 0 ]] && chown postgres: "$pgroot/pwfile"
  pg "$pgbin/initdb" -D "$pgdata" -U temporal --pwfile="$pgroot/pwfile" --auth-host=scram-sha-256 \
    --auth-local=peer -E UTF8 --no-locale >"$state/initdb.log" 2>&1 || {
    say "error: initdb failed (log: $state/initdb.log)"
    exit 1
  }
  rm -f "$pgroot/pwfile"
  # TCP on 127.0.0.1 only, no Unix socket (the port is given at start); room for the server's pools.
  pg tee -a "$pgdata/postgresql.conf" >/dev/null <<'EOF'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
EOF
fi
password="$(cat "$pwfile")"
psql_do() { PGPASSWORD="$password" "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U temporal -v ON_ERROR_STOP=1 -qtA "$@"; }

if ! pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  if (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; then
    say "error: port $pg_port on 127.0.0.1 is in use by something other than this cluster's PostgreSQL"
    say "hint: stop that process or choose another port with SOP_CLUSTER_PG_PORT"
    exit 1
  fi
  pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgroot/postgres.log" -w -t 60 -o "-p $pg_port" start >/dev/null || {
    say "error: PostgreSQL did not start; last lines of $pgroot/postgres.log:"
    tail -n 15 "$pgroot/postgres.log" >&2
    exit 1
  }
  say "PostgreSQL started on 127.0.0.1:$pg_port (data $pgdata)"
fi

# 3. Databases and schemas with the server's own tool: create, set up at 0.0, then update to the newest
#    version in the server module's schema directories (update-schema is a no-op when already current).
schema="$bin/cluster-schema"
sqltool() {
  SQL_PASSWORD="$password" "$bin/temporal-sql-tool" --plugin postgres12 --endpoint 127.0.0.1 --port "$pg_port" \
    --user temporal --database "$1" "${@:2}"
}
schema_stamp="$state/schema.stamp"
want_schema="$(cat "$bin/.cluster-build-stamp")"
if [[ ! -f "$schema_stamp" || "$(cat "$schema_stamp")" != "$want_schema" ]]; then
  for pair in temporal:temporal temporal_visibility:visibility; do
    db="${pair%%:*}" dir="${pair##*:}"
    if [[ -z "$(psql_do -d postgres -c "select 1 from pg_database where datname = '$db'")" ]]; then
      sqltool "$db" create-database >>"$state/schema.log" 2>&1
    fi
    if [[ -z "$(psql_do -d "$db" -c "select to_regclass('schema_version')")" ]]; then
      sqltool "$db" setup-schema -v 0.0 >>"$state/schema.log" 2>&1
    fi
    sqltool "$db" update-schema -d "$schema/$dir/versioned" >>"$state/schema.log" 2>&1 || {
      say "error: schema update of $db failed (log: $state/schema.log)"
      exit 1
    }
  done
  echo "$want_schema" >"$schema_stamp"
  say "schemas of temporal and temporal_visibility are current (log: $state/schema.log)"
fi

# 4. Server and Web UI configuration (rewritten each start: ports may change; the data stays).
p_front="$port" p_hist=$((port + 1)) p_match=$((port + 2)) p_work=$((port + 6)) p_http=$((port + 10))
(umask 077 && cat >"$state/config/development.yaml" <<EOF
log:
  stdout: true
  level: warn
  format: json
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$pg_port"
        connectProtocol: tcp
        user: temporal
        password: "$password"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:$pg_port"
        connectProtocol: tcp
        user: temporal
        password: "$password"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: { grpcPort: $p_front, membershipPort: $((p_front + 100)), bindOnLocalHost: true, httpPort: $p_http }
  history:
    rpc: { grpcPort: $p_hist, membershipPort: $((p_hist + 100)), bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $p_match, membershipPort: $((p_match + 100)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $p_work, membershipPort: $((p_work + 100)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$p_front"
      httpAddress: "127.0.0.1:$p_http"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$state/config/dynamicconfig/cluster.yaml"
  pollInterval: 10s
EOF
)
cp "$here/dynamicconfig.yaml" "$state/config/dynamicconfig/cluster.yaml"
cat >"$state/ui-config/development.yaml" <<EOF
temporalGrpcAddress: "$address"
host: 127.0.0.1
port: $ui_port
enableUi: true
defaultNamespace: default
notifyOnNewVersion: false
EOF

# 5. Server and Web UI processes (setsid: they outlive this script and its terminal).
running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
if ! health; then
  if running "$state/server.pid"; then
    say "waiting for the Temporal server (pid $(cat "$state/server.pid")) to answer..."
  else
    for p in "$p_front" "$p_hist" "$p_match" "$p_work" "$p_http"; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        say "error: port $p on 127.0.0.1 is in use; the cluster needs $p_front-$p_http and +100 of each"
        say "hint: stop that process or choose another base port with SOP_CLUSTER_PORT"
        exit 1
      fi
    done
    setsid "$bin/temporal-server" --root "$state" --config config --env development --allow-no-auth start \
      >>"$state/server.log" 2>&1 </dev/null &
    echo $! >"$state/server.pid"
    say "Temporal server started (pid $!, log $state/server.log)"
  fi
fi
if ! running "$state/ui.pid"; then
  setsid "$bin/temporal-ui-server" --root "$state" --config ui-config --env development start \
    >>"$state/ui.log" 2>&1 </dev/null &
  echo $! >"$state/ui.pid"
fi

wait_for() { # seconds, description, command...
  local limit=$1 what=$2
  shift 2
  for _ in $(seq 1 $((limit * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    if ! running "$state/server.pid"; then
      say "error: the Temporal server exited; last lines of $state/server.log:"
      tail -n 15 "$state/server.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  say "error: $what within $limit s (log: $state/server.log)"
  exit 1
}
wait_for 120 "the Temporal server did not answer at $address" health

# 6. The default namespace and the runtime's search attributes (SQL visibility: per namespace).
t() { "$bin/temporal" --address "$address" --namespace default "$@"; }
if ! t operator namespace describe >/dev/null 2>&1; then
  t operator namespace create --retention 72h >/dev/null
  say "created namespace default"
fi
wait_for 60 "namespace default did not become usable" t workflow list --limit 1
have="$(t operator search-attribute list -o json)"
probe=()
while IFS='=' read -r name type; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if ! grep -q "\"$name\"" <<<"$have"; then
    t operator search-attribute create --name "$name" --type "$type" >/dev/null
    say "registered search attribute $name ($type)"
  fi
  probe+=("$name = 'ready'")
done <"$here/../search-attributes.txt"
# The frontend caches search attributes (refreshed every 60 s): wait until a query may use all of them.
query="$(printf '%s OR ' "${probe[@]}")"
wait_for 90 "the search attributes did not become queryable" t workflow list --limit 1 --query "${query% OR }"

echo "Temporal cluster (PostgreSQL) ready at $address (Web UI http://127.0.0.1:$ui_port, PostgreSQL 127.0.0.1:$pg_port, state $state)"
