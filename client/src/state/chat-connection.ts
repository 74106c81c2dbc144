import { batch, effect, signal, type ReadonlySignal } from '@preact/signals';
import type { ChatErrorCode, ClientMessage, ServerMessage } from '../../../protocol/signalling.ts';
import { chatErrorText } from '../lib/chat-errors.ts';
import { chatProtocols } from '../lib/chat-protocol.ts';
import type { TokenSource } from '../lib/http.ts';
import { backoffMs } from '../lib/retry.ts';
import type { Timers } from '../lib/timers.ts';

/** The part of the browser's WebSocket the chat uses (a fake in tests). */
export interface ChatSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: (event: unknown) => void): void;
}
export type ChatSocketConstructor = new (url: string, protocols: string[]) => ChatSocketLike;

/** idle: not started · connecting: first socket · connected: welcomed · reconnecting: waiting or trying again · closed. */
export type ChatStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export type ActionResult =
  | { ok: true; id?: number }
  | { ok: false; code: ChatErrorCode | 'DISCONNECTED'; error: string; retryAfterMs?: number };

/** Frames answered by `ack` or `error` with their nonce. */
export type NonceFrame = Exclude<ClientMessage, { type: 'auth' } | { type: 'react' }>;

export interface ChatConnectionDeps {
  url: string;
  WebSocket: ChatSocketConstructor;
  tokens: TokenSource;
  /** Who the session says is logged in. */
  userId: ReadonlySignal<string | null>;
  /** Who the socket is signed in as (from the welcome or the last `authenticated`). */
  identity(): string | null;
  /** Every event that is not the answer to a call, in order (a batched frame in one signal batch). */
  onEvent(event: ServerMessage): void;
  /** A refusal without a nonce the connection does not handle itself (reactions, floods, a refused login). */
  onRefused(code: ChatErrorCode, retryAfterMs: number | undefined): void;
  timers: Timers;
  random: () => number;
}

interface Call {
  frame: NonceFrame & { nonce: string };
  retried: boolean;
  resolve(result: ActionResult): void;
}

const disconnected = (): ActionResult => ({ ok: false, code: 'DISCONNECTED', error: chatErrorText('DISCONNECTED') });

export type ChatConnection = ReturnType<typeof createChatConnection>;

/**
 * The chat's WebSocket: connects with the access token as a `bearer.` subprotocol when
 * logged in, reconnects with jittered backoff after a drop, splits batched frames (a JSON
 * array) into events, and matches `ack`/`error` answers to calls by nonce. The socket
 * follows the session: a login sends `auth`, a logout reconnects anonymously, a refreshed
 * token is sent before the next frame, and a TOKEN_EXPIRED refusal renews the token and
 * sends the frame once more.
 */
export function createChatConnection(deps: ChatConnectionDeps) {
  const { timers } = deps;
  const status = signal<ChatStatus>('idle');
  const attempt = signal(0);
  /** When the next reconnection attempt starts (ms since epoch), while waiting for it. */
  const retryAt = signal<number | null>(null);

  let socket: ChatSocketLike | null = null;
  let welcomed = false;
  /** The token the open socket is authenticated with (bearer at connect, or the last `auth`). */
  let socketToken: string | null = null;
  let renewTried = false;
  let reconnectTimer: unknown = null;
  let running = false;
  let nonces = 0;
  const calls = new Map<string, Call>();
  let stopIdentity: (() => void) | null = null;

  async function token(): Promise<string | null> {
    try {
      return await deps.tokens.accessToken();
    } catch {
      return null; // the session could not be restored right now: read anonymously
    }
  }

  async function connect(): Promise<void> {
    if (!running || socket) return;
    retryAt.value = null;
    status.value = attempt.peek() === 0 && status.peek() !== 'reconnecting' ? 'connecting' : 'reconnecting';
    const t = await token();
    if (!running || socket) return;
    const ws = new deps.WebSocket(deps.url, chatProtocols(t));
    socket = ws;
    welcomed = false;
    socketToken = t;
    renewTried = false;
    ws.addEventListener('message', (event) => {
      if (socket !== ws || typeof event.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return;
      }
      // A busy stream's events come batched: one frame holding a JSON array of them, in order.
      const events = Array.isArray(parsed) ? parsed : [parsed];
      batch(() => {
        for (const e of events) {
          if (socket !== ws) return; // a logout while handling replaced the socket
          if (typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string') receive(e as ServerMessage);
        }
      });
    });
    ws.addEventListener('close', () => {
      if (socket === ws) dropped();
    });
  }

  /** The socket closed without us asking: fail what waited for an answer, then try again. */
  function dropped(): void {
    socket = null;
    welcomed = false;
    failCalls();
    if (!running) return;
    const delay = Math.round(backoffMs(attempt.peek()) * (0.8 + 0.4 * deps.random()));
    batch(() => {
      status.value = 'reconnecting';
      attempt.value += 1;
      retryAt.value = timers.now() + delay;
    });
    reconnectTimer = timers.setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, delay);
  }

  /** Closes the socket on purpose and opens a new one at once (after a logout). */
  function reconnectNow(): void {
    const ws = socket;
    socket = null;
    welcomed = false;
    failCalls();
    ws?.close(1000, 'reconnect');
    attempt.value = 0;
    void connect();
  }

  function failCalls(): void {
    const waiting = [...calls.values()];
    calls.clear();
    for (const c of waiting) c.resolve(disconnected());
  }

  function receive(e: ServerMessage): void {
    switch (e.type) {
      case 'welcome':
        welcomed = true;
        status.value = 'connected';
        attempt.value = 0;
        deps.onEvent(e);
        reconcileIdentity();
        return;
      case 'authenticated':
        renewTried = false;
        return deps.onEvent(e);
      case 'ack': {
        const c = e.nonce === undefined ? undefined : calls.get(e.nonce);
        if (!c) return;
        calls.delete(c.frame.nonce);
        return c.resolve({ ok: true, ...(e.id === undefined ? {} : { id: e.id }) });
      }
      case 'error': {
        const c = e.nonce === undefined ? undefined : calls.get(e.nonce);
        if (c) return refusedCall(c, e.code, e.retryAfterMs);
        return refused(e.code, e.retryAfterMs);
      }
      default:
        return deps.onEvent(e);
    }
  }

  function refusedCall(c: Call, code: ChatErrorCode, retryAfterMs: number | undefined): void {
    if (code === 'TOKEN_EXPIRED' && !c.retried) {
      c.retried = true;
      void renewAndRetry(c);
      return;
    }
    calls.delete(c.frame.nonce);
    c.resolve({ ok: false, code, error: chatErrorText(code, retryAfterMs), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }

  /** An error without a nonce: a refused bearer or `auth`, a reaction, or too many frames. */
  function refused(code: ChatErrorCode, retryAfterMs: number | undefined): void {
    if (code === 'TOKEN_EXPIRED' && !renewTried && deps.userId.peek() !== null) {
      renewTried = true;
      void deps.tokens
        .renew(socketToken)
        .then((ok) => (ok ? authenticate() : deps.onRefused(code, undefined)))
        .catch(() => deps.onRefused(code, undefined));
      return;
    }
    deps.onRefused(code, retryAfterMs);
  }

  async function renewAndRetry(c: Call): Promise<void> {
    let renewed = false;
    try {
      renewed = await deps.tokens.renew(socketToken);
    } catch {
      renewed = false;
    }
    if (calls.get(c.frame.nonce) !== c) return;
    if (!renewed || !(await transmit(c.frame))) {
      calls.delete(c.frame.nonce);
      c.resolve({ ok: false, code: 'TOKEN_EXPIRED', error: chatErrorText('TOKEN_EXPIRED') });
    }
  }

  function raw(frame: ClientMessage): boolean {
    if (!socket || !welcomed || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a frame once welcomed; `auth` goes first when the session holds a newer token than the socket. */
  async function transmit(frame: ClientMessage): Promise<boolean> {
    if (deps.userId.peek() !== null) {
      const t = await token();
      if (t && t !== socketToken && raw({ type: 'auth', token: t })) socketToken = t;
    }
    return raw(frame);
  }

  /** Sends a frame with a fresh nonce; resolves with its `ack` or `error` (or DISCONNECTED). */
  function call(frame: NonceFrame): Promise<ActionResult> {
    return new Promise((resolve) => {
      const c: Call = { frame: { ...frame, nonce: `n${++nonces}` }, retried: false, resolve };
      calls.set(c.frame.nonce, c);
      void transmit(c.frame).then((sent) => {
        if (!sent && calls.get(c.frame.nonce) === c) {
          calls.delete(c.frame.nonce);
          resolve(disconnected());
        }
      });
    });
  }

  /** Tells the socket who is logged in now (after a login, a follow, or a refused bearer). */
  async function authenticate(): Promise<void> {
    const t = await token();
    if (t && raw({ type: 'auth', token: t })) socketToken = t;
  }

  /** The session and the socket disagree on who is logged in: fix the socket. */
  function reconcileIdentity(): void {
    if (!socket || !welcomed) return;
    const want = deps.userId.peek();
    if (want === deps.identity()) return;
    if (want === null) reconnectNow();
    else void authenticate();
  }

  function start(): void {
    if (running) return;
    running = true;
    stopIdentity = effect(() => {
      deps.userId.value;
      reconcileIdentity();
    });
    void connect();
  }

  function close(): void {
    running = false;
    stopIdentity?.();
    stopIdentity = null;
    if (reconnectTimer) timers.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const ws = socket;
    socket = null;
    welcomed = false;
    failCalls();
    ws?.close(1000, 'leaving');
    batch(() => {
      status.value = 'closed';
      retryAt.value = null;
    });
  }

  return {
    status,
    attempt,
    retryAt,
    /** Welcomed on an open socket: frames can go out now. */
    isOpen: () => welcomed && socket !== null,
    start,
    close,
    call,
    transmit,
    authenticate,
  };
}
