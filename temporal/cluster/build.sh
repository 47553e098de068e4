#!/usr/bin/env bash
# Builds the PostgreSQL-backed Temporal server (`temporal-server`, the server's own cmd/server), its
# schema tool (`temporal-sql-tool`, cmd/tools/sql) and the Web UI (`temporal-ui-server`, ui-server's
# cmd/server, assets embedded) from the Go module proxy into temporal/bin/, at the versions pinned in this
# directory's go.mod (the same go.temporal.io/server and ui-server versions the CLI build pins, with the
# CLI's dependency versions, so the Go build cache of the CLI build is reused).
# Used only for cluster mode (SOP_TEMPORAL_MODE=cluster); does nothing when both binaries are already built
# from this go.sum, so a second run is instant and needs no Go toolchain.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/../bin"
stamp="$bin/.cluster-build-stamp"

version="$(awk '$1 == "go.temporal.io/server" { sub(/^v/, "", $2); print $2 }' "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "error: temporal/cluster/go.mod does not pin go.temporal.io/server" >&2
  exit 1
fi
want="server=$version go.sum=$(sha256sum "$here/go.sum" | cut -c1-16)"

if [[ -x "$bin/temporal-server" && -x "$bin/temporal-sql-tool" && -x "$bin/temporal-ui-server" &&
  -d "$bin/cluster-schema" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "temporal-server $version is up to date ($bin/temporal-server)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: the PostgreSQL-backed Temporal server is not built and Go is not installed" >&2
  echo "hint: install Go >= 1.25 (https://go.dev/dl) and run 'bash temporal/cluster/build.sh'" >&2
  exit 1
fi

echo "building temporal-server, temporal-sql-tool and temporal-ui-server $version from the Go module proxy (first time only, ~5-15 min)..."
mkdir -p "$bin"
cd "$here"
# -mod=readonly: go.mod/go.sum are the lock. -p: the build is heavy; SOP_GO_BUILD_JOBS caps parallel jobs.
build() {
  GOFLAGS=-mod=readonly CGO_ENABLED=0 nice -n 10 go build -p "${SOP_GO_BUILD_JOBS:-1}" -trimpath \
    -ldflags "-s -w" -o "$bin/$1.tmp" "$2"
  mv "$bin/$1.tmp" "$bin/$1"
}
build temporal-server go.temporal.io/server/cmd/server
build temporal-sql-tool go.temporal.io/server/cmd/tools/sql
build temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server
# The schema files ship in the server module: keep a copy next to the binaries so start.sh needs no Go.
schema="$(GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12"
rm -rf "$bin/cluster-schema" && mkdir -p "$bin/cluster-schema" && cp -r "$schema"/. "$bin/cluster-schema/"
chmod -R u+w "$bin/cluster-schema"
echo "$want" >"$stamp"
echo "built $("$bin/temporal-server" --version | head -n 1)"
