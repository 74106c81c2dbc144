/**
 * Small fakes for the chat model tests: a WebSocket the test plays the server of, timers
 * the test moves forward, the session's token source and the chat's HTTP calls.
 * Not imported by the app.
 */
import { signal } from '@preact/signals';
import type { ChatMessage, ChatRole, ChatSettings, ChatUser, ServerMessage } from '../../../protocol/signalling.ts';
import type { TokenSource } from '../lib/http.ts';
import type { Timers } from '../lib/timers.ts';
import type { ChatHttp, ChatSocketLike } from './create-chat.ts';

type Listener = (event: never) => void;

export class FakeChatSocket implements ChatSocketLike {
  readyState = 0;
  /** Frames the client sent, parsed. */
  readonly sent: Array<Record<string, unknown>> = [];
  closedWith: number | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1005): void {
    this.readyState = 3;
    this.closedWith = code;
  }

  // ---- the server's side ----
  open(): void {
    this.readyState = 1;
    this.emit('open', {});
  }

  /** One frame: an event, or a batch of events (a JSON array) as a busy stream gets them. */
  receive(message: ServerMessage | ServerMessage[]): void {
    this.emit('message', { data: JSON.stringify(message) });
  }

  /** Opens the socket and sends the welcome. */
  welcome(partial: Partial<Extract<ServerMessage, { type: 'welcome' }>> = {}): void {
    if (this.readyState === 0) this.open();
    this.receive({ type: 'welcome', user: null, role: null, restriction: null, settings: SETTINGS, history: [], viewers: { webrtc: 0, chat: 1 }, ...partial });
  }

  /** The connection drops (server restart, network). */
  drop(): void {
    this.readyState = 3;
    this.emit('close', { code: 1006 });
  }

  frames(type?: string): Array<Record<string, unknown>> {
    return type ? this.sent.filter((f) => f.type === type) : this.sent;
  }

  lastFrame(): Record<string, unknown> | undefined {
    return this.sent.at(-1);
  }

  private emit(type: string, event: object): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) (listener as (e: object) => void)(event);
  }
}

export function createSocketFactory() {
  const sockets: FakeChatSocket[] = [];
  class WebSocket extends FakeChatSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return {
    WebSocket,
    sockets,
    get last(): FakeChatSocket {
      const s = sockets.at(-1);
      if (!s) throw new Error('no socket was opened');
      return s;
    },
  };
}

/** Timers that only move when the test says so. */
export function createFakeTimers(start = Date.parse('2025-06-01T12:00:00Z')) {
  let time = start;
  let ids = 0;
  const queue: Array<{ id: number; at: number; fn: () => void }> = [];
  const timers: Timers & { advance(ms: number): void; pending(): number } = {
    now: () => time,
    setTimeout(fn, ms) {
      const id = ++ids;
      queue.push({ id, at: time + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      const i = queue.findIndex((t) => t.id === handle);
      if (i >= 0) queue.splice(i, 1);
    },
    advance(ms) {
      const end = time + ms;
      for (;;) {
        queue.sort((a, b) => a.at - b.at || a.id - b.id);
        const next = queue[0];
        if (!next || next.at > end) break;
        queue.shift();
        time = next.at;
        next.fn();
      }
      time = end;
    },
    pending: () => queue.length,
  };
  return timers;
}

/** The session's tokens: `token-1` at first; `renew` hands out the next one (unless told not to). */
export function createFakeTokens(loggedIn = true) {
  let n = 1;
  const state = {
    current: loggedIn ? 'token-1' : (null as string | null),
    renewable: true,
    renewCalls: [] as Array<string | null>,
  };
  const tokens: TokenSource & typeof state = Object.assign(state, {
    accessToken: async () => state.current,
    async renew(failed: string | null) {
      state.renewCalls.push(failed);
      if (!state.renewable || state.current === null) return false;
      state.current = `token-${++n}`;
      return true;
    },
  });
  return tokens;
}

export function createFakeChatHttp(pages: Record<number, { items: ChatMessage[]; nextBefore: number | null }> = {}) {
  const calls: string[] = [];
  const api: ChatHttp & { calls: string[] } = {
    calls,
    async chatMessages(streamId, query = {}) {
      calls.push(`GET /streams/${streamId}/chat/messages?before=${query.before}`);
      const page = pages[query.before ?? 0];
      if (!page) throw new Error('no such page');
      return page;
    },
    async setFollowing(userId, following) {
      calls.push(`${following ? 'PUT' : 'DELETE'} /users/${userId}/follow`);
    },
    async setChatModerator(streamId, userId, moderator) {
      calls.push(`${moderator ? 'PUT' : 'DELETE'} /streams/${streamId}/chat/moderators/${userId}`);
    },
  };
  return api;
}

export const SETTINGS: ChatSettings = { slowModeSeconds: 0, subscribersOnly: false, followersOnly: false, bannedWords: [] };

export const STREAMER: ChatUser = { id: '00000000-0000-4000-8000-0000000000aa', username: 'streamer', displayName: 'The Streamer' };
export const ADA: ChatUser = { id: '00000000-0000-4000-8000-000000000001', username: 'ada', displayName: 'Ada' };
export const BOB: ChatUser = { id: '00000000-0000-4000-8000-000000000002', username: 'bob', displayName: 'Bob' };

export function chatMessage(id: number, user: ChatUser | null, text: string, role: ChatRole = 'viewer'): ChatMessage {
  return { id, user, role, subscriber: false, text, at: new Date(Date.parse('2025-06-01T11:00:00Z') + id * 1000).toISOString() };
}

export function userIdSignal(id: string | null) {
  return signal<string | null>(id);
}

/** Lets awaited promises (token reads, fake HTTP) settle. */
export async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}
