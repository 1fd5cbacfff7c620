#!/usr/bin/env bash
# 20 concurrent full clones of `deep` (../shared/bench/baseline.sh's 2,000-commit repo) against
# packhub and against C git's own `git http-backend` (nginx + fcgiwrap), rounds alternating
# between the two servers. Every clone must succeed and pass `git fsck --full`; prints the wall
# time of each round, the medians, the ratio packhub / reference, and packhub's peak RSS.
#
#   bash bench/concurrent-clones.sh          (CLONES=20 ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BASELINE="${BASELINE:-$ROOT/../shared/bench/baseline.sh}"
[[ -f "$BASELINE" ]] || { echo "baseline harness not found at $BASELINE" >&2; exit 1; }
export BENCH_DIR="${BENCH_DIR:-$ROOT/bench/work}"
export PORT="${PORT:-8181}"
export REPOS=deep
PH_PORT="${PH_PORT:-8191}"
CLONES="${CLONES:-20}"
ROUNDS="${ROUNDS:-3}"

source "$ROOT/bench/setup.sh"

# The client environment of baseline.sh (protocol v2, no user config).
export HOME="$BENCH_DIR/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
SCRATCH=/dev/shm/packhub-concurrent-clones
[[ -d /dev/shm && -w /dev/shm ]] || SCRATCH="$BENCH_DIR/concurrent"

# One round: CLONES clones at once; prints the seconds, fails unless all clones are complete and fsck-clean.
round() {
  local label="$1" url="$2"
  rm -rf "$SCRATCH"; mkdir -p "$SCRATCH"
  local t0 t1 pids=() failed=0
  t0=$(date +%s.%N)
  for i in $(seq "$CLONES"); do
    git clone -q "$url/deep.git" "$SCRATCH/c$i" 2>"$SCRATCH/err$i" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  t1=$(date +%s.%N)
  local want; want="$(git -C "$BENCH_DIR/srv/deep.git" rev-parse main)"
  for i in $(seq "$CLONES"); do
    if [[ ! -d "$SCRATCH/c$i" ]] || [[ "$(git -C "$SCRATCH/c$i" rev-parse HEAD 2>/dev/null)" != "$want" ]] || ! git -C "$SCRATCH/c$i" fsck --full >/dev/null 2>&1; then
      failed=$((failed + 1)); echo "$label clone $i failed: $(cat "$SCRATCH/err$i")" >&2
    fi
  done
  rm -rf "$SCRATCH"
  [[ $failed -eq 0 ]] || { echo "$label: $failed of $CLONES clones failed" >&2; exit 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}

ref_times=(); ph_times=()
for r in $(seq "$ROUNDS"); do
  ref_times+=("$(round reference "$REF")")
  ph_times+=("$(round packhub "$PH")")
  echo "round $r of $ROUNDS: reference ${ref_times[-1]} s, packhub ${ph_times[-1]} s (all $CLONES clones of each fsck-clean)" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
R=$(median "${ref_times[@]}"); P=$(median "${ph_times[@]}")
echo
echo "## $CLONES concurrent full clones of deep ($(nproc) cores, $(git --version), ROUNDS=$ROUNDS, medians)"
printf '%-12s %10s\n' server seconds
printf '%-12s %10.3f\n' reference "$R" packhub "$P"
awk -v r="$R" -v p="$P" 'BEGIN{printf "ratio packhub / reference: %.2f\n", p/r}'
echo "packhub peak RSS: $(( $(awk '/VmHWM/{print $2}' "/proc/$PH_PID/status") / 1024 )) MiB"
