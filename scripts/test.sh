#!/usr/bin/env bash
# Runs the tests with node's test runner and ends with one plain line: "N passed, N failed[, N skipped]".
#   bash scripts/test.sh                 every test: unit tests beside the code (src/**/*.test.ts), then
#                                        the integration tests (test/*.test.ts), in both configurations
#   bash scripts/test.sh FILE...         only these test files
#   PACKHUB_TEST_BACKENDS=fs bash scripts/test.sh   one configuration only (fs, s3 or fs,s3)
#   PACKHUB_TEST_CONCURRENCY=2 bash scripts/test.sh  two test files at a time (default one here;
#                                        scripts/test-all.sh, which CI runs, runs two)
# Exits non-zero if any test failed or was cancelled, or if no test ran at all.
set -uo pipefail
cd "$(dirname "$0")/.."

# s3rver (in the S3 tests) needs the legacy OpenSSL provider for paged listings.
export NODE_OPTIONS="${NODE_OPTIONS:-} --openssl-legacy-provider"

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t unit < <(find src -name '*.test.ts' -not -path '*/node_modules/*' | sort)
  mapfile -t integration < <(find test -maxdepth 1 -name '*.test.ts' | sort)
  files=("${unit[@]}" "${integration[@]}")
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found" >&2
  echo "0 passed, 0 failed"
  exit 1
fi

tap="$(mktemp)"
trap 'rm -f "$tap"' EXIT
node --import tsx --test --test-concurrency="${PACKHUB_TEST_CONCURRENCY:-1}" --test-timeout=900000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}"
status=$?

# The TAP stream ends with the run's totals ("# pass N" ...), unindented.
total() { grep -E "^# $1 [0-9]+$" "$tap" | tail -1 | awk '{print $3}'; }
tests=$(total tests); pass=$(total pass); fail=$(total fail); cancelled=$(total cancelled)
skipped=$(total skipped); todo=$(total todo)
tests=${tests:-0}; pass=${pass:-0}
fail=$(( ${fail:-0} + ${cancelled:-0} ))
skipped=$(( ${skipped:-0} + ${todo:-0} ))
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  echo "the test runner exited with status $status without reporting a failed test" >&2
  fail=1
fi

line="$pass passed, $fail failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
if [ "$tests" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
