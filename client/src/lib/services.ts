import { createGlintApi, type GlintApi } from './api.ts';
import { createHttpClient } from './http.ts';
import { browserRtc } from './peer.ts';
import { createRouter, type Router } from './router.ts';
import { broadcastSessionChannel, createSession, webLocks, type Session } from '../state/session.ts';
import type { ChatSocketConstructor } from '../state/create-chat.ts';

/** The long-lived objects every page may use; created once, in main.tsx. */
export interface Services {
  session: Session;
  api: GlintApi;
  router: Router;
  /** fetch, EventSource and WebRTC factories for the media pages. */
  media: MediaEnvironment;
  /** The WebSocket constructor, for the live chat. */
  WebSocket: ChatSocketConstructor;
}

export type MediaEnvironment = ReturnType<typeof browserRtc>;

export function createServices(win: Window & typeof globalThis): Services {
  const fetch = win.fetch.bind(win);
  const session = createSession({
    fetch,
    storage: safeStorage(win),
    locks: webLocks(win.navigator),
    channel: broadcastSessionChannel(),
  });
  const api = createGlintApi(createHttpClient({ fetch, tokens: session.tokens }));
  const router = createRouter(win);
  return { session, api, router, media: browserRtc(win), WebSocket: win.WebSocket };
}

/** localStorage, or a memory stand-in where storage is blocked (then logins last one page load). */
function safeStorage(win: Window): Storage | Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  try {
    const storage = win.localStorage;
    storage.getItem('glint.probe');
    return storage;
  } catch {
    const data = new Map<string, string>();
    return {
      getItem: (key) => data.get(key) ?? null,
      setItem: (key, value) => void data.set(key, value),
      removeItem: (key) => void data.delete(key),
    };
  }
}
