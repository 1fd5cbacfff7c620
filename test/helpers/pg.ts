import crypto from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use (trust auth on the dev and CI machines). */
export const PG_URL = process.env.PACKHUB_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Schema {
  name: string;
  /** PACKHUB_DATABASE_URL for a server that keeps all its tables in this schema. */
  url: string;
  drop(): Promise<void>;
}

async function query(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty schema with a unique name; `drop()` removes it with everything in it. */
export async function freshSchema(prefix = 'packhub_t'): Promise<Schema> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  await query(`CREATE SCHEMA "${name}"`);
  let dropped = false;
  return {
    name,
    url: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${name}`,
    async drop() {
      if (dropped) return;
      dropped = true;
      await query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    },
  };
}
