#!/usr/bin/env bash
# Generate a migration for both drivers from the entity changes: scripts/db-migration.sh NAME
# Needs PostgreSQL at $PACKHUB_TEST_PG (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/db-migration.sh NAME}"
pgurl="${PACKHUB_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
tmp="$(mktemp -d)"; schema="packhub_gen_$$"
trap 'rm -rf "$tmp"; psql "$pgurl" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT
root="$(pwd)"
cat > "$tmp/sqlite.ts" <<TS
import { createDataSource } from '$root/src/db/data-source.ts';
export default createDataSource({ kind: 'sqlite', file: '$tmp/gen.sqlite' });
TS
cat > "$tmp/pg.ts" <<TS
import { createDataSource } from '$root/src/db/data-source.ts';
export default createDataSource({ kind: 'postgres', url: '$pgurl?schema=$schema' });
TS
psql "$pgurl" -qc "CREATE SCHEMA $schema"
# Bring both databases to the current migrations, then diff against the entities.
for d in sqlite pg; do npx tsx node_modules/typeorm/cli.js migration:run -d "$tmp/$d.ts" >/dev/null; done
npx tsx node_modules/typeorm/cli.js migration:generate -d "$tmp/sqlite.ts" "src/db/migrations/sqlite/$name"
npx tsx node_modules/typeorm/cli.js migration:generate -d "$tmp/pg.ts" "src/db/migrations/pg/$name"
sed -i "s/\"$schema\"\.//g" src/db/migrations/pg/*"$name".ts
echo "now add the new classes to src/db/migrations/index.ts"
