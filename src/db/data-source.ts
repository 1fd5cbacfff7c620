import 'reflect-metadata';
import { DataSource } from 'typeorm';
import type { Config } from '../core/config.js';
import { ENTITIES } from './entities/index.js';
import { PG_MIGRATIONS, SQLITE_MIGRATIONS } from './migrations/index.js';

/** The TypeORM data source for the configured database. Migrations only: never synchronize. */
export function createDataSource(database: Config['database']): DataSource {
  if (database.kind === 'sqlite') {
    return new DataSource({
      type: 'better-sqlite3',
      database: database.file,
      entities: ENTITIES,
      migrations: SQLITE_MIGRATIONS,
      migrationsRun: false,
      synchronize: false,
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    });
  }
  const url = new URL(database.url);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return new DataSource({
    type: 'postgres',
    url: url.toString(),
    schema,
    entities: ENTITIES,
    migrations: PG_MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    // Unqualified names (migrations included) resolve in the configured schema.
    extra: { max: 20, ...(schema ? { options: `-c search_path=${schema}` } : {}) },
  });
}
