import { PgInit1795349636722 } from './pg/1795349636722-init.js';
import { SqliteInit1795349635621 } from './sqlite/1795349635621-init.js';

/** Migrations are generated per driver (`npm run db:migration:generate`) and kept apart. */
export const SQLITE_MIGRATIONS = [SqliteInit1795349635621];
export const PG_MIGRATIONS = [PgInit1795349636722];
