/**
 * deploy/kubernetes sets Glint's settings by environment variable: every variable the
 * manifests set must be one the config reads (server/config.ts ENV_VARS, the deployment
 * contract), the pod's environment as Kubernetes would build it must load without errors,
 * and each node must get its own identity (NODE_ID, NODE_URL, RTC_PIPE_ADDRESS) and the
 * shared CLUSTER_SECRET.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ENV_VARS, loadConfig } from '../server/config.ts';

const dir = new URL('../deploy/kubernetes/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');

/** `key: "value"` lines of the map under `section:` (our manifests: two-space indents, quoted values). */
function mapUnder(text: string, section: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trimEnd() === `${section}:`);
  expect(start, `${section}: in the manifest`).toBeGreaterThanOrEqual(0);
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const m = /^ {2}([A-Z0-9_]+): "(.*)"$/.exec(line);
    if (!m) break;
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The container's `env:` list: name -> literal value (undefined for valueFrom: the downward API). */
function containerEnv(text: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s+env:$/.test(l));
  expect(start).toBeGreaterThanOrEqual(0);
  const indent = lines[start]!.search(/\S/);
  let current: string | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (line.search(/\S/) <= indent) break;
    const name = /^\s+- name: ([A-Z0-9_]+)$/.exec(line);
    if (name) {
      current = name[1]!;
      out.set(current, undefined);
      continue;
    }
    const value = /^\s+value: "(.*)"$/.exec(line);
    if (value && current) out.set(current, value[1]!);
  }
  return out;
}

const known = new Set(ENV_VARS.map((e) => e.env));
const config = mapUnder(read('config.yaml'), 'data');
const secret = mapUnder(read('secret.yaml'), 'stringData');
const env = containerEnv(read('statefulset.yaml'));

it('sets only variables the config reads (downward-API helpers aside)', () => {
  // Helpers only feed other values through $(NAME).
  const referenced = new Set([...env.values()].flatMap((v) => [...(v ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((m) => m[1]!)));
  const unknown = [...config.keys(), ...secret.keys(), ...env.keys()].filter((name) => !known.has(name) && !referenced.has(name));
  expect(unknown).toEqual([]);
  for (const helper of referenced) expect(env.has(helper), `${helper} is defined in env`).toBe(true);
  expect(config.size + secret.size + env.size).toBeGreaterThan(15);
});

it('gives each pod its own identity and every pod the shared secrets', () => {
  for (const name of ['NODE_ID', 'NODE_URL', 'RTC_PIPE_ADDRESS', 'RTC_ANNOUNCED_ADDRESS']) expect(env.has(name), name).toBe(true);
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'STREAM_KEY_ENCRYPTION_KEY', 'CLUSTER_SECRET']) expect(secret.has(name), name).toBe(true);
  expect(env.get('NODE_ID')).toBe('$(POD_NAME)');
});

it('builds a pod environment that loads as a valid configuration', () => {
  const pod: Record<string, string> = { POD_NAME: 'glint-0', POD_IP: '10.0.3.7', HOST_IP: '10.0.3.7' };
  for (const [k, v] of [...config, ...secret]) pod[k] = v;
  for (const [k, v] of env) if (v !== undefined) pod[k] = v.replace(/\$\(([A-Z0-9_]+)\)/g, (_m, ref: string) => pod[ref] ?? '');
  const c = loadConfig({ env: pod });
  expect(c.cluster).toMatchObject({ nodeId: 'glint-0', nodeUrl: 'http://10.0.3.7:8080' });
  expect(c.rtc.pipeAddress).toBe('10.0.3.7');
  expect(c.redis.url).toMatch(/^redis:\/\//);
  expect(c.http.port).toBe(8080);
});
