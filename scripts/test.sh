#!/usr/bin/env bash
# The test command (`npm test`): set up what is missing, then the three tiers one after another, each with
# its time: unit (nothing running), workflow (the interpreter on a dev server with the scripted stand-in for
# the harness, and the recorded histories replayed), e2e (the real harness binaries, `sop` processes, killed
# workers). Extra arguments go to each tier's jest run (a path runs what each tier has under it).
# SOP_TEST_RESULTS=DIR writes each tier's jest JSON results to DIR/<tier>.json and its time in seconds to
# DIR/<tier>.seconds (.ci/run prints and sums them).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
bash scripts/setup.sh || exit 1
summary="setup $(($(date +%s) - started)) s"
status=0
for tier in unit workflow e2e; do
  started=$(date +%s)
  results=()
  [[ -n "${SOP_TEST_RESULTS:-}" ]] && results=(--json "--outputFile=$SOP_TEST_RESULTS/$tier.json")
  SOP_TEST_TIER=$tier npx jest --passWithNoTests "${results[@]}" "$@" || status=1
  took=$(($(date +%s) - started))
  echo "tier $tier took $took s"
  [[ -n "${SOP_TEST_RESULTS:-}" ]] && echo "$took" >"$SOP_TEST_RESULTS/$tier.seconds"
  summary="$summary, $tier $took s"
done
echo "tiers: $summary"
exit $status
