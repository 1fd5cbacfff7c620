#!/usr/bin/env bash
# Longer fuzzing of the parsers that take bytes from the network (the *.fuzz.test.ts files, which
# the test suite runs briefly). Every crash or hang found becomes a fixed regression test.
#   bash scripts/fuzz.sh              20,000 runs per property (a few minutes)
#   PACKHUB_FUZZ_RUNS=200000 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PACKHUB_FUZZ_RUNS="${PACKHUB_FUZZ_RUNS:-20000}"
mapfile -t files < <(find src -name '*.fuzz.test.ts' | sort)
echo "fuzzing ${#files[@]} files, $PACKHUB_FUZZ_RUNS runs per property"
exec bash scripts/test.sh "${files[@]}"
