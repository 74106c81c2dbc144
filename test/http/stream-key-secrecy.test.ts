/**
 * Stream keys appear in clear only in the owner's create/reveal/rotate responses: never in
 * the database (checked with a full dump), the logs, or any listing.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api } from '../helpers/http.ts';

/** Every row of every table in the public schema, as text. Works on PGlite and PostgreSQL. */
async function dumpAllRows(server: TestServer): Promise<string> {
  const db = server.app.db.db;
  const tables = await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public'`);
  const names = (tables as unknown as { rows: Array<{ table_name: string }> }).rows.map((r) => r.table_name);
  expect(names).toContain('streams');
  let out = '';
  for (const name of names) {
    const rows = await db.execute(sql.raw(`select row_to_json(t)::text as j from "${name}" t`));
    out += (rows as unknown as { rows: Array<{ j: string }> }).rows.map((r) => r.j).join('\n') + '\n';
  }
  return out;
}

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`stream keys at rest on ${backend}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ db: backend });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('never stores, logs or lists the key in clear', async () => {
      const call = api(server.url);
      const reg = await call('POST', '/auth/register', { json: { username: 'keeper', email: 'keeper@example.com', password: 'secret garden gate' } });
      const token = reg.body.accessToken;
      const created = await call('POST', '/streams', { token, json: { title: 'secret' } });
      const firstKey: string = created.body.streamKey;
      const rotated = await call('POST', `/streams/${created.body.stream.id}/key/rotate`, { token });
      const secondKey: string = rotated.body.streamKey;
      await call('GET', `/streams/${created.body.stream.id}/key`, { token });
      await call('POST', `/streams/${created.body.stream.id}/start`, { token });

      const listings = [
        await call('GET', '/streams/live'),
        await call('GET', `/streams/${created.body.stream.id}`),
        await call('GET', '/users/me/streams', { token }),
      ];
      for (const res of listings) {
        expect(res.status).toBe(200);
        expect(res.text).not.toContain(firstKey);
        expect(res.text).not.toContain(secondKey);
        expect(res.text).not.toContain('glint_sk_');
      }

      const dump = await dumpAllRows(server);
      expect(dump).toContain(created.body.stream.id);
      expect(dump).not.toContain(secondKey);
      expect(dump).not.toContain(firstKey);
      expect(dump).not.toContain(secondKey.slice('glint_sk_'.length));
      // Passwords are not stored in clear either.
      expect(dump).not.toContain('secret garden gate');
      expect(dump).toContain('scrypt$');

      if (backend === 'postgres') {
        const pgDump = execFileSync('pg_dump', ['--data-only', server.databaseUrl], { encoding: 'utf8' });
        expect(pgDump).toContain(created.body.stream.id);
        expect(pgDump).not.toContain(secondKey);
        expect(pgDump).not.toContain(firstKey);
      }

      server.app.log.flush();
      const logs = server.logs();
      expect(logs).toContain('stream key rotated');
      expect(logs).not.toContain(firstKey);
      expect(logs).not.toContain(secondKey);
      expect(logs).not.toContain('secret garden gate');
      expect(logs).not.toContain(reg.body.refreshToken);
    });
  });
}
