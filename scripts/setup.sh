#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: npm dependencies (when missing or out of date), the TypeScript
# build, and the pinned Temporal dev server. Every README command runs this first, so a newcomer never
# has to. Quiet when there is nothing to do.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/check-node.sh

# npm ci when node_modules is missing or older than the lock file (it also builds, via `prepare`).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
else
  npm run --silent build >/dev/null
fi

# Claude Code's sandbox needs bubblewrap and socat on Linux (docs/harnesses.md); Codex ships its own bwrap.
if [[ "$(uname -s)" == Linux ]] && ! { command -v bwrap && command -v socat; } >/dev/null 2>&1; then
  as_root=""
  [[ "$(id -u)" -ne 0 ]] && as_root="sudo -n"
  echo "installing bubblewrap and socat (Claude Code's sandbox)..." >&2
  if ! { $as_root apt-get install -y -qq bubblewrap socat >/dev/null 2>&1 ||
         { $as_root apt-get update -qq >/dev/null 2>&1 && $as_root apt-get install -y -qq bubblewrap socat >/dev/null 2>&1; }; }; then
    echo "error: could not install bubblewrap and socat; install them (e.g. apt-get install bubblewrap socat) and re-run" >&2
    exit 1
  fi
fi

# The console's browser tests drive Debian's Chromium with playwright-core (no downloaded browser build).
if [[ "$(uname -s)" == Linux ]] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  as_root=""
  [[ "$(id -u)" -ne 0 ]] && as_root="sudo -n"
  echo "installing chromium (the console's browser tests)..." >&2
  if ! { $as_root apt-get install -y -qq chromium >/dev/null 2>&1 ||
         { $as_root apt-get update -qq >/dev/null 2>&1 && $as_root apt-get install -y -qq chromium >/dev/null 2>&1; }; }; then
    echo "warning: could not install chromium; the console's browser tests need it (apt-get install chromium, or SOP_CHROMIUM=/path/to/chromium)" >&2
  fi
fi

bash temporal/build.sh >&2
