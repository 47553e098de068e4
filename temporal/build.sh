#!/usr/bin/env bash
# Builds the pinned Temporal CLI (which embeds the dev server and Web UI) from the Go module proxy into
# temporal/bin/. Does nothing when the binary there is already this version built from this go.sum,
# so a second run is instant and needs no Go toolchain. With SOP_TEMPORAL_BIN set, builds nothing: that
# Temporal CLI is used instead (it must run; another version than the pinned one is used with a warning).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/bin/temporal"
stamp="$here/bin/.build-stamp"

version="$(awk '$1 == "github.com/temporalio/cli" { sub(/^v/, "", $2); print $2 }' "$here/go.mod")"
if [[ -z "$version" ]]; then
  echo "error: temporal/go.mod does not pin github.com/temporalio/cli" >&2
  exit 1
fi
if [[ -n "${SOP_TEMPORAL_BIN:-}" ]]; then
  if [[ ! -f "$SOP_TEMPORAL_BIN" || ! -x "$SOP_TEMPORAL_BIN" ]] || ! have="$("$SOP_TEMPORAL_BIN" --version 2>&1 | head -n 1)"; then
    echo "error: SOP_TEMPORAL_BIN=$SOP_TEMPORAL_BIN is not a Temporal CLI that runs" >&2
    echo "hint: point it at a temporal executable (temporal --version must work), or unset it to build temporal/bin/temporal" >&2
    exit 1
  fi
  if [[ "$have" != "temporal version $version "* ]]; then
    echo "warning: SOP_TEMPORAL_BIN is $have; this runtime pins and is tested with temporal CLI $version" >&2
  fi
  echo "temporal CLI: using SOP_TEMPORAL_BIN ($SOP_TEMPORAL_BIN), nothing to build"
  exit 0
fi

want="cli=$version go.sum=$(sha256sum "$here/go.sum" | cut -c1-16)"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "temporal CLI $version is up to date ($bin)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: the Temporal dev server is not built and Go is not installed" >&2
  echo "hint: install Go >= 1.25 (https://go.dev/dl) and run 'bash temporal/build.sh'," >&2
  echo "      or set TEMPORAL_ADDRESS to use an existing Temporal cluster instead" >&2
  exit 1
fi

echo "building temporal CLI $version from the Go module proxy (first time only, ~2-5 min)..."
mkdir -p "$here/bin"
cd "$here"
# -mod=readonly: go.mod/go.sum are the lock; a mismatch is an error, never a silent upgrade.
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$version" \
  -o "$bin.tmp" github.com/temporalio/cli/cmd/temporal
mv "$bin.tmp" "$bin"
echo "$want" >"$stamp"
echo "built $("$bin" --version)"
