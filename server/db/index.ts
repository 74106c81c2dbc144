/**
 * One factory decides the backend: PostgreSQL (node-postgres pool) when a database URL
 * is configured, else embedded PGlite with its files under the data folder. Both run the
 * same drizzle schema and the same migrations, applied at start-up.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';
import { makePrivate } from '../data-dir.ts';

export { schema };
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  readonly db: Db;
  readonly kind: 'pglite' | 'postgres';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://... ; empty for embedded PGlite. */
  url: string;
  /** PGlite files go to <dataDir>/pglite; 'memory://' keeps them in memory (tests). */
  dataDir: string;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
// Any constant works; it only has to be the same for every Glint node sharing the database.
const MIGRATION_LOCK_ID = 0x676c696e74;

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? createPostgres(options.url) : createPglite(options.dataDir);
}

async function createPostgres(url: string): Promise<Database> {
  const { Pool } = (await import('pg')).default;
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const { migrate } = await import('drizzle-orm/node-postgres/migrator');
  const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  // An idle client erroring (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => {});
  const db = drizzle(pool, { schema });
  // Several nodes may start together against one database: migrate one at a time.
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    client.release();
  }
  let closed = false;
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

async function createPglite(dataDir: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  let target = dataDir;
  if (dataDir !== 'memory://') {
    target = join(dataDir, 'pglite');
    mkdirSync(target, { recursive: true });
  }
  const client = new PGlite(target);
  await client.waitReady;
  if (target !== 'memory://') makePrivate(target);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  let closed = false;
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    async ping() {
      if (closed) throw new Error('database closed');
      await db.execute(sql`select 1`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
