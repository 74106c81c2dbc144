import { signal } from '@preact/signals';
import { isApiPath } from './api-paths.ts';

export interface RouteLocation {
  path: string;
  search: string;
}

/** The parts of `window` the router touches; a fake one makes it testable in node. */
export interface RouterHost {
  location: { pathname: string; search: string; origin: string };
  history: { pushState(data: unknown, unused: string, url: string): void; replaceState(data: unknown, unused: string, url: string): void };
  addEventListener(type: 'popstate', listener: () => void): void;
  removeEventListener(type: 'popstate', listener: () => void): void;
  scrollTo?(x: number, y: number): void;
}

export type Router = ReturnType<typeof createRouter>;

/**
 * A location signal kept in step with the History API. Clicks on same-origin `<a href>`s
 * become `navigate()` calls (see `interceptClick`); links to API paths are left to the browser.
 */
export function createRouter(host: RouterHost) {
  const location = signal<RouteLocation>(read());

  function read(): RouteLocation {
    return { path: host.location.pathname || '/', search: host.location.search };
  }

  function navigate(to: string, opts: { replace?: boolean } = {}): void {
    const url = new URL(to, host.location.origin);
    const target = url.pathname + url.search + url.hash;
    if (opts.replace) host.history.replaceState(null, '', target);
    else host.history.pushState(null, '', target);
    const next = { path: url.pathname, search: url.search };
    if (next.path !== location.peek().path || next.search !== location.peek().search) {
      location.value = next;
      if (!opts.replace) host.scrollTo?.(0, 0);
    }
  }

  /** Handles a click on the document; returns true when it became a client-side navigation. */
  function interceptClick(event: MouseEvent): boolean {
    if (event.defaultPrevented || event.button !== 0) return false;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
    const anchor = findAnchor(event.target);
    if (!anchor) return false;
    if (anchor.hasAttribute('download') || anchor.hasAttribute('data-native')) return false;
    if (anchor.target && anchor.target !== '_self') return false;
    const href = anchor.getAttribute('href');
    if (!href || href.startsWith('#')) return false;
    const url = new URL(anchor.href, host.location.origin);
    if (url.origin !== host.location.origin || isApiPath(url.pathname)) return false;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
    return true;
  }

  /** Starts following back/forward and link clicks; returns the function that stops it. */
  function start(doc: Pick<Document, 'addEventListener' | 'removeEventListener'>): () => void {
    const onPop = () => {
      location.value = read();
    };
    const onClick = (event: MouseEvent) => void interceptClick(event);
    host.addEventListener('popstate', onPop);
    doc.addEventListener('click', onClick);
    return () => {
      host.removeEventListener('popstate', onPop);
      doc.removeEventListener('click', onClick);
    };
  }

  return { location, navigate, interceptClick, start };
}

function findAnchor(target: EventTarget | null): HTMLAnchorElement | null {
  let node = target as (Node & { closest?: (selector: string) => Element | null }) | null;
  if (node && typeof node.closest !== 'function') node = node.parentNode as typeof node;
  const found = node?.closest?.('a[href]');
  return (found as HTMLAnchorElement | null | undefined) ?? null;
}

/**
 * Matches `/watch/:id`-style patterns. Returns the decoded params, or null.
 * A trailing slash on the path is ignored.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const patternParts = split(pattern);
  const pathParts = split(path);
  if (patternParts.length !== pathParts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < patternParts.length; i++) {
    const expected = patternParts[i]!;
    const actual = pathParts[i]!;
    if (expected.startsWith(':')) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return null;
      }
    } else if (expected !== actual) {
      return null;
    }
  }
  return params;
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/**
 * Where to go after logging in: the `next` query parameter when it is a client path of this
 * site (never another origin, never an API path), else `fallback`.
 */
export function safeNext(search: string, fallback: string): string {
  const next = new URLSearchParams(search).get('next');
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return fallback;
  const path = next.split(/[?#]/)[0] ?? '';
  if (isApiPath(path)) return fallback;
  return next;
}
