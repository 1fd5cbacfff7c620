#!/usr/bin/env bash
# The one command that installs what the tests need and runs them all, on a fresh Debian 12 machine
# where you are root (on a machine that already has everything it installs nothing):
#   - system packages through apt-get, only those missing: git, git-lfs, nginx, fcgiwrap, chromium
#     (UI test), docker-compose (compose file validation), the PostgreSQL client, and the PostgreSQL
#     server if there is none;
#   - starts the local PostgreSQL cluster if it is not accepting connections, and creates the
#     database `test` if it is missing;
#   - npm packages (npm ci, skipped when node_modules matches the lock file), a type check of the code and the tests, the build
#     (dist/ and the UI) that the tests then start packhub from;
#   - every test in both configurations (filesystem + SQLite, S3 + PostgreSQL), two files at a
#     time: scripts/test.sh, which ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

PG_HOST=127.0.0.1
PG_PORT=5432

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need=()
command -v git >/dev/null || need+=(git)
command -v git-lfs >/dev/null || need+=(git-lfs)
command -v nginx >/dev/null || need+=(nginx)
has_pkg fcgiwrap || need+=(fcgiwrap)
command -v chromium >/dev/null || need+=(chromium)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v psql >/dev/null || need+=(postgresql-client)
installed_pg=0
if ! command -v pg_ctlcluster >/dev/null && ! { command -v pg_isready >/dev/null && pg_up; }; then
  need+=(postgresql)
  installed_pg=1
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
git lfs install --skip-repo >/dev/null 2>&1 || true

if ! pg_up; then
  cluster="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [ -n "$cluster" ]; then
    if [ "$installed_pg" = 1 ]; then
      # A cluster installed just now: let local TCP connections in without a password, as on the
      # dev and CI machines (postgres://postgres@127.0.0.1:5432/test).
      hba="/etc/postgresql/$cluster/main/pg_hba.conf"
      grep -q '^host all all 127.0.0.1/32 trust' "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT" >&2; exit 1; }
fi
if [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc 'CREATE DATABASE test'
fi

# npm packages: a clean install from the lock file, unless node_modules already matches it.
if [ ! -f package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc -p tsconfig.test.json
# The build `npm start` runs (scripts/start.sh: dist/ and ui/dist/, stamped as built): the tests start
# packhub from it, as users do, at half the CPU of compiling the sources on every start.
npx tsc -p tsconfig.json
npx vite build --config ui/vite.config.js --logLevel warn
touch dist/.build-stamp
export PACKHUB_TEST_CLI=dist/cli.js
# Two test files at a time: every test server, database schema, bucket and temp dir is its own, so
# files do not share state; on two cores the suite takes ~10 minutes instead of ~30.
export PACKHUB_TEST_CONCURRENCY="${PACKHUB_TEST_CONCURRENCY:-2}"
bash scripts/test.sh
