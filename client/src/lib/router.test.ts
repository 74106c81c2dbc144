import { describe, expect, it } from 'vitest';
import { isApiPath } from './api-paths.ts';
import { createRouter, matchPath, safeNext, type RouterHost } from './router.ts';

function fakeHost(path = '/') {
  const pushed: string[] = [];
  const host: RouterHost & { pushed: string[] } = {
    pushed,
    location: { pathname: path, search: '', origin: 'https://glint.test' },
    history: {
      pushState: (_d, _u, url) => void pushed.push(url),
      replaceState: (_d, _u, url) => void pushed.push(`replace:${url}`),
    },
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  };
  return host;
}

function fakeClick(href: string, init: Partial<MouseEvent> & { attrs?: Record<string, string> } = {}) {
  const attrs = init.attrs ?? {};
  const anchor = {
    href: new URL(href, 'https://glint.test').href,
    target: attrs.target ?? '',
    getAttribute: (name: string) => (name === 'href' ? href : (attrs[name] ?? null)),
    hasAttribute: (name: string) => name in attrs,
  };
  const target = { closest: (selector: string) => (selector === 'a[href]' ? anchor : null) };
  let prevented = false;
  const event = {
    button: 0,
    metaKey: false,
    ctrlKey: false,
    shiftKey: false,
    altKey: false,
    ...init,
    target,
    get defaultPrevented() {
      return prevented;
    },
    preventDefault() {
      prevented = true;
    },
  };
  return event as unknown as MouseEvent;
}

describe('matchPath', () => {
  it('extracts decoded params from a pattern', () => {
    expect(matchPath('/watch/:id', '/watch/abc%20def')).toEqual({ id: 'abc def' });
    expect(matchPath('/u/:id', '/u/42/')).toEqual({ id: '42' });
    expect(matchPath('/', '/')).toEqual({});
  });

  it('refuses paths of another shape', () => {
    expect(matchPath('/watch/:id', '/watch')).toBeNull();
    expect(matchPath('/watch/:id', '/studio/1')).toBeNull();
    expect(matchPath('/me/streams', '/me/streams/extra')).toBeNull();
  });
});

describe('client routes', () => {
  it('never collide with the API paths the server answers', () => {
    for (const route of ['/', '/login', '/register', '/u/1', '/me/streams', '/watch/1', '/studio/1']) {
      expect(isApiPath(route)).toBe(false);
    }
    for (const path of ['/auth/login', '/users/me', '/streams/live', '/streams', '/whip/x', '/hls/a.m3u8', '/healthz']) {
      expect(isApiPath(path)).toBe(true);
    }
    expect(isApiPath('/author')).toBe(false);
  });
});

describe('safeNext', () => {
  it('follows a local client path', () => {
    expect(safeNext('?next=%2Fme%2Fstreams', '/')).toBe('/me/streams');
  });

  it('falls back for other origins, protocol-relative URLs and API paths', () => {
    expect(safeNext('?next=https://evil.test/', '/me/streams')).toBe('/me/streams');
    expect(safeNext('?next=//evil.test/', '/me/streams')).toBe('/me/streams');
    expect(safeNext('?next=/auth/logout', '/me/streams')).toBe('/me/streams');
    expect(safeNext('', '/me/streams')).toBe('/me/streams');
  });
});

describe('router', () => {
  it('updates the location signal and the history on navigate', () => {
    const host = fakeHost('/');
    const router = createRouter(host);
    router.navigate('/watch/7?t=1');
    expect(router.location.value).toEqual({ path: '/watch/7', search: '?t=1' });
    expect(host.pushed).toEqual(['/watch/7?t=1']);
  });

  it('turns a plain click on a local link into a navigation', () => {
    const router = createRouter(fakeHost('/'));
    const event = fakeClick('/me/streams');
    expect(router.interceptClick(event)).toBe(true);
    expect(event.defaultPrevented).toBe(true);
    expect(router.location.value.path).toBe('/me/streams');
  });

  it('leaves API links, other origins, new-tab clicks and downloads to the browser', () => {
    const router = createRouter(fakeHost('/'));
    expect(router.interceptClick(fakeClick('/hls/1/index.m3u8'))).toBe(false);
    expect(router.interceptClick(fakeClick('https://example.com/'))).toBe(false);
    expect(router.interceptClick(fakeClick('/watch/1', { ctrlKey: true }))).toBe(false);
    expect(router.interceptClick(fakeClick('/watch/1', { attrs: { target: '_blank' } }))).toBe(false);
    expect(router.interceptClick(fakeClick('/watch/1', { attrs: { download: '' } }))).toBe(false);
    expect(router.location.value.path).toBe('/');
  });
});
