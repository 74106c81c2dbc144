import { describe, expect, it } from 'vitest';
import { HttpRouter } from './http-router.ts';

const ok = () => ({ json: {} });

describe('HttpRouter', () => {
  const r = new HttpRouter()
    .get('/streams/live', ok)
    .get('/streams/:id', ok)
    .patch('/streams/:id', ok)
    .get('/streams/:id/key', ok)
    .post('/streams/:id/key/rotate', ok)
    .get('/users/me', ok)
    .get('/users/:id/profile', ok);

  it('prefers static segments over parameters', () => {
    const m = r.match('GET', '/streams/live');
    expect(m.kind === 'found' && m.route.pattern).toBe('/streams/live');
    const p = r.match('GET', '/streams/abc');
    expect(p.kind === 'found' && p.params).toEqual({ id: 'abc' });
  });

  it('reports the allowed methods of the most specific pattern only', () => {
    expect(r.match('PATCH', '/streams/live')).toEqual({ kind: 'method-not-allowed', allowed: ['GET', 'HEAD'] });
    expect(r.match('DELETE', '/streams/abc')).toMatchObject({ kind: 'method-not-allowed' });
  });

  it('serves HEAD from GET routes and decodes parameters', () => {
    const m = r.match('HEAD', '/users/J%C3%BCrgen/profile');
    expect(m.kind === 'found' && m.params.id).toBe('Jürgen');
  });

  it('does not match undecodable parameters, extra segments or missing ones', () => {
    expect(r.match('GET', '/streams/%E0%A4%A').kind).toBe('not-found');
    expect(r.match('GET', '/streams/a/key/x').kind).toBe('not-found');
    expect(r.match('GET', '/users').kind).toBe('not-found');
  });

  it('refuses the same route twice', () => {
    expect(() => new HttpRouter().get('/a', ok).get('/a', ok)).toThrow(/twice/);
  });
});
