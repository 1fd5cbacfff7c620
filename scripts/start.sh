#!/usr/bin/env bash
# Quick start: install (first run only), build, and run the hub with the embedded defaults:
# SQLite and local files under ./data, on port 8080 (PACKHUB_* variables override).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
exec node dist/cli.js serve
