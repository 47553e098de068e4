#!/usr/bin/env bash
# Refuses a Node.js older than package.json's engines.node (">=MAJOR.MINOR"): one place says the version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
required="$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' package.json | head -n1)"
found="$(node -p 'process.versions.node' 2>/dev/null || echo none)"
if ! node -e 'const [a,b]=process.argv[1].split(".").map(Number), [x,y]=process.versions.node.split(".").map(Number); process.exit(x>a||(x===a&&y>=(b||0))?0:1)' "${required:?package.json has no engines.node of the form >=MAJOR.MINOR}" 2>/dev/null; then
  echo "error: Node.js >= ${required} is required (package.json engines.node); found ${found}" >&2
  exit 1
fi
