#!/usr/bin/env bash
# Quick start: install (first run only), build (only when the sources changed since the last
# build), and run the hub with the embedded defaults: SQLite and local files under ./data, on
# port 8080 (PACKHUB_* variables override).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ ! -f ui/dist/index.html ] \
  || [ -n "$(find src ui/src ui/index.html ui/vite.config.js package-lock.json tsconfig.json -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  echo "building packhub..." >&2
  npm run build --silent
  touch "$stamp"
fi
exec node dist/cli.js serve
