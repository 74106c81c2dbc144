/**
 * docs/api.md is the API reference: every route the server registers must be listed there
 * (as a `### METHOD /path` heading), nothing listed may be missing from the server, and its
 * error table must equal the catalogue in protocol/errors.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERRORS } from '../protocol/errors.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

it('lists every route the server has, and no route it lacks', () => {
  const documented = [...doc.matchAll(/^### ([A-Z]+) (\S+)\s*$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const registered = server.app.http.router.routes().map((r) => `${r.method} ${r.pattern}`).sort();
  expect(registered.length).toBeGreaterThan(15);
  expect(documented).toEqual(registered);
});

it('documents every error code with its status', () => {
  const rows = [...doc.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
});
