# Sourced by bench/compare.sh and bench/concurrent-clones.sh: installs nginx + fcgiwrap if missing,
# builds packhub, builds the reference repos, starts the reference (git http-backend) and packhub
# (from dist/, embedded defaults), and seeds packhub with the repos.
# Expects ROOT, BASELINE, BENCH_DIR, PORT, PH_PORT, REPOS; sets PH_PID, REF, PH, TOKEN, PH_DATA.
for pkg in nginx fcgiwrap; do
  command -v "$pkg" >/dev/null || [[ -x "/usr/sbin/$pkg" ]] || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx fcgiwrap >/dev/null; }
done
[[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
npx tsc -p tsconfig.json

mkdir -p "$BENCH_DIR"
bash "$BASELINE" build
bash "$BASELINE" serve

PH_DATA="$BENCH_DIR/packhub-data"
rm -rf "$PH_DATA"
export PACKHUB_DATA_DIR="$PH_DATA" PACKHUB_PORT="$PH_PORT" PACKHUB_HOST=127.0.0.1 PACKHUB_LOG_LEVEL=warn
node dist/cli.js user create bench >/dev/null
TOKEN="$(node dist/cli.js token create bench --scope write | tail -1)"
node dist/cli.js serve > "$BENCH_DIR/packhub.log" 2>&1 &
PH_PID=$!
cleanup() { kill "$PH_PID" 2>/dev/null || true; bash "$BASELINE" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PH_PORT/healthz" >/dev/null && break; sleep 0.1; done

REF="http://127.0.0.1:$PORT"
PH="http://bench:$TOKEN@127.0.0.1:$PH_PORT/bench"
export CREATE_CMD="PACKHUB_DATA_DIR=$PH_DATA node $ROOT/dist/cli.js repo create bench/{name}"
bash "$BASELINE" seed "$PH" >/dev/null

