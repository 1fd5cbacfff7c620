#!/usr/bin/env bash
# packhub vs C git's own smart HTTP server (git http-backend behind nginx + fcgiwrap), side by side
# on this machine: builds the three reference repos (wide, deep, fat), seeds both servers with them,
# times clones, fetches and pushes alternately (A B A B ...), and prints medians, the ratio
# packhub / reference per test, and packhub's peak RSS.
#
#   bash bench/compare.sh            (RUNS=5 REPOS="wide deep fat" TESTS=... as in baseline.sh;
#                                     then bench/hf-transfer.ts: HF_MIB=1024 HF_RUNS=3, HF_MIB=0 skips it)
#
# The client-side harness is ../shared/bench/baseline.sh (override with BASELINE=path).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BASELINE="${BASELINE:-$ROOT/../shared/bench/baseline.sh}"
[[ -f "$BASELINE" ]] || { echo "baseline harness not found at $BASELINE" >&2; exit 1; }
export BENCH_DIR="${BENCH_DIR:-$ROOT/bench/work}"
export PORT="${PORT:-8181}"
export REPOS="${REPOS:-wide deep fat}"
export TESTS="${TESTS:-clone_full clone_bare clone_depth1 clone_blobless fetch_incr push_empty}"
RUNS="${RUNS:-5}"
PH_PORT="${PH_PORT:-8191}"
RESULTS="$BENCH_DIR/compare-$(date +%Y%m%d-%H%M%S).tsv"
export RESULTS

source "$ROOT/bench/setup.sh"

# Alternate the servers run by run, so drifts of the machine hit both alike.
for i in $(seq "$RUNS"); do
  RUNS=1 CREATE_CMD= bash "$BASELINE" bench "$REF" reference > /dev/null
  RUNS=1 bash "$BASELINE" bench "$PH" packhub > /dev/null
  echo "round $i of $RUNS done" >&2
done
RSS_KB=$(awk '/VmHWM/{print $2}' "/proc/$PH_PID/status")

echo
echo "## packhub vs git http-backend  ($(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(git --version), RUNS=$RUNS)"
awk -F'\t' -v runs="$RUNS" '
  NR > 1 { key = $4 "\t" $5; v[$2, key, ++n[$2, key]] = $7; keys[key] = 1; order[key] = order[key] ? order[key] : NR }
  function median(label, key,   m, i, a, j, t) {
    m = n[label, key]; for (i = 1; i <= m; i++) a[i] = v[label, key, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  END {
    printf "%-6s %-16s %12s %12s %8s\n", "repo", "test", "reference s", "packhub s", "ratio"
    PROCINFO["sorted_in"] = "@val_num_asc"
    for (key in order) {
      split(key, k, "\t"); r = median("reference", key); p = median("packhub", key)
      printf "%-6s %-16s %12.3f %12.3f %8.2f\n", k[1], k[2], r, p, (r > 0 ? p / r : 0)
    }
  }' "$RESULTS"
echo "packhub peak RSS: $((RSS_KB / 1024)) MiB"
echo "every run: $RESULTS"

# The HF-API transfer beside nginx static and cp (HF_MIB=0 skips it; --behind-nginx via HF_ARGS).
if [[ "${HF_MIB:-1024}" != 0 ]]; then
  cleanup
  trap - EXIT
  npx tsx bench/hf-transfer.ts --size-mib "${HF_MIB:-1024}" --runs "${HF_RUNS:-3}" ${HF_ARGS:-}
fi
