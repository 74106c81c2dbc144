import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENV_VARS, loadConfig, ConfigError } from '../server/config.ts';

const root = new URL('../', import.meta.url);

describe('configuration', () => {
  it('uses the documented defaults when nothing is set', () => {
    const c = loadConfig({ env: {} });
    expect(c).toEqual(DEFAULTS);
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe('./data');
    expect(Object.isFrozen(c.http)).toBe(true);
  });

  it('ships an example config file equal to the defaults', () => {
    const example = JSON.parse(readFileSync(new URL('config.example.json', root), 'utf8'));
    expect(example).toEqual(DEFAULTS);
  });

  it('layers defaults, then the file, then env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'glint-config-'));
    const file = join(dir, 'glint.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000, host: '127.0.0.1' }, log: { level: 'debug' } }));
    const c = loadConfig({ env: { GLINT_CONFIG: file, PORT: '9100', DATABASE_URL: 'postgres://db/glint', CORS_ORIGINS: 'https://a.example, https://b.example', TRUST_PROXY: 'yes', PUBLIC_URL: 'https://live.example.com/' } });
    expect(c.http.port).toBe(9100);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.log.level).toBe('debug');
    expect(c.database.url).toBe('postgres://db/glint');
    expect(c.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.http.trustProxy).toBe(true);
    expect(c.http.publicUrl).toBe('https://live.example.com');
  });

  it('refuses bad values and unknown keys with every problem listed', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig({ env: { PORT: '70000' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { LOG_LEVEL: 'loud' } })).toThrow(/log\.level/);
    expect(() => loadConfig({ env: { TRUST_PROXY: 'maybe' } })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ env: { TURN_URLS: 'turn:t.example.com:3478' } })).toThrow(/turn\.secret: TURN_URLS needs TURN_SECRET/);
    expect(() => loadConfig({ env: { TURN_URLS: 'stun:t.example.com:3478', TURN_SECRET: '0123456789abcdef' } })).toThrow(/turn\.urls\.0: must be a turn: or turns: URL/);
    expect(loadConfig({ env: { TURN_URLS: 'turn:t.example.com:3478?transport=udp, turns:t.example.com:443?transport=tcp', TURN_SECRET: '0123456789abcdef' } }).turn.urls).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'glint-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ http: { prot: 1 }, dataDir: 3 }));
    expect(() => loadConfig({ env: { GLINT_CONFIG: file } })).toThrow(/http[\s\S]*dataDir|dataDir[\s\S]*http/);
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ env: { GLINT_CONFIG: file } })).toThrow(/cannot read config file/);
  });

  it('keeps the public env names of the deployment contract', () => {
    const byEnv = Object.fromEntries(ENV_VARS.map((e) => [e.env, e.path]));
    expect(byEnv).toMatchObject({
      PORT: 'http.port', HOST: 'http.host', PUBLIC_URL: 'http.publicUrl', DATA_DIR: 'dataDir',
      DATABASE_URL: 'database.url', REDIS_URL: 'redis.url', LOG_LEVEL: 'log.level',
    });
  });

  it('documents every key with its env name and default in docs/configuration.md', () => {
    const doc = readFileSync(new URL('docs/configuration.md', root), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `([\w.]+)` \| `(\w+)` \| `([^`]*)` \|/gm)].map((m) => [m[1]!, { env: m[2]!, def: m[3]! }]));
    const leaves: Array<[string, unknown]> = [];
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
        else leaves.push([`${prefix}${k}`, v]);
      }
    };
    walk(DEFAULTS as unknown as Record<string, unknown>, '');
    expect([...rows.keys()].sort()).toEqual(leaves.map(([k]) => k).sort());
    for (const [path, value] of leaves) {
      const row = rows.get(path)!;
      expect(ENV_VARS.find((e) => e.path === path)?.env, path).toBe(row.env);
      const shown = Array.isArray(value) ? (value.length > 0 && value.every((v) => typeof v === 'string') ? value.join(',') : JSON.stringify(value)) : value === '' ? '""' : String(value);
      expect(row.def, path).toBe(shown);
    }
  });
});
