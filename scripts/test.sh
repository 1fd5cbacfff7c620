#!/usr/bin/env bash
# Runs every test (unit tests beside the code, integration tests in test/) with node's test
# runner and ends with one plain line: "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

export NODE_OPTIONS="${NODE_OPTIONS:-} --openssl-legacy-provider"
mapfile -t files < <( { find src -name '*.test.ts'; find test -maxdepth 1 -name '*.test.ts'; } | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found"; echo "0 passed, 0 failed"; exit 1; fi

tap="$(mktemp)"
node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}"
status=$?

count() { grep -E "^# $1 [0-9]+" "$tap" | tail -1 | awk '{print $3}'; }
pass=$(count pass); fail=$(count fail); skipped=$(count skipped); todo=$(count todo); cancelled=$(count cancelled)
pass=${pass:-0}; fail=$(( ${fail:-0} + ${cancelled:-0} )); skipped=$(( ${skipped:-0} + ${todo:-0} ))
rm -f "$tap"
line="$pass passed, $fail failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
if [ "$pass" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
