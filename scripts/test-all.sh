#!/usr/bin/env bash
# The one command that installs what the tests need on a fresh Debian 12 machine (as root) and
# runs them all: system packages (git, git-lfs, nginx, docker-compose for validating the compose
# file), PostgreSQL if it is stopped, npm packages, a
# type check, then every test in both configurations (filesystem + SQLite, S3 + PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v git >/dev/null || need+=(git)
command -v git-lfs >/dev/null || need+=(git-lfs)
command -v psql >/dev/null || need+=(postgresql-client)
command -v nginx >/dev/null || need+=(nginx)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
git lfs install --skip-repo >/dev/null 2>&1 || true

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npx tsc -p tsconfig.test.json
npx vite build --config ui/vite.config.js --logLevel warn
bash scripts/test.sh
