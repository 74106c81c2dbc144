import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from './db/index.ts';
import { streams, users } from './db/schema.ts';
import { createLogger } from './logger.ts';

let db: Database;
beforeAll(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
});
afterAll(async () => {
  await db?.close();
});

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger({ level: 'info', destination }), text: () => lines.join('') };
}

describe('logged errors', () => {
  it('keep the query, the driver message and the cause chain, never the parameters or row values', async () => {
    const [user] = await db.db.insert(users).values({ username: 'owner', email: 'owner@example.com', passwordHash: 'PASSWORD-HASH-SECRET' }).returning();
    const err = await db.db
      .insert(streams)
      .values({ userId: user!.id, title: 'bad\u0000title', streamKeyHash: 'KEY-HASH-SECRET', streamKeyCiphertext: 'KEY-CIPHERTEXT-SECRET' })
      .then(() => undefined, (e: unknown) => e);
    expect(String((err as Error).message)).toContain('KEY-HASH-SECRET'); // what drizzle would have printed
    const dup = await db.db.insert(users).values({ username: 'other', email: 'owner@example.com', passwordHash: 'x' }).then(() => undefined, (e: unknown) => e);

    const { log, text } = capture();
    log.error({ err }, 'query failed');
    log.error({ err: dup }, 'duplicate');
    log.flush();
    await new Promise((r) => setTimeout(r, 50));
    const out = text();
    expect(out).toContain('insert into \\"streams\\"');
    expect(out).toContain('invalid byte sequence');
    expect(out).toContain('caused by');
    expect(out).not.toMatch(/KEY-HASH-SECRET|KEY-CIPHERTEXT-SECRET|bad.u0000title|params:/);
    expect(out).toContain('duplicate key value');
    expect(out).not.toContain('owner@example.com');
  });
});
