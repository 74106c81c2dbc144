/**
 * The chat WebSocket on uWebSockets.js (`GET /streams/:id/chat`) and its place in the
 * cluster. Sockets of a stream share a native pub/sub topic; every event reaches them
 * through the bus (also on the node where it happened), so each socket on each node gets
 * it exactly once and in the order its sender sent it. Audience counts (chat sockets and
 * WebRTC viewers) are reported per node on the bus and summed by every node.
 */
import { randomUUID } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import uWS from 'uWebSockets.js';
import { CHAT_PROTOCOL, CLIENT_MESSAGE_TYPES, ClientMessage, type ChatErrorCode, type ChatRole, type ServerMessage, type ViewerCounts } from '../../protocol/signalling.ts';
import type { StreamId } from '../../protocol/ids.ts';
import type { Bus, Subscription } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { AccessTokens } from '../auth/tokens.ts';
import type { ChatRepo } from '../db/chat-repo.ts';
import type { StreamService } from '../streams/stream-service.ts';
import type { StreamWithOwner } from '../db/streams-repo.ts';
import type { MediaService } from '../media/media-service.ts';
import type { Channels } from './channels.ts';
import { ChatError, type ChatService, type Participant } from './chat-service.ts';
import { InFlight } from './in-flight.ts';
import { AddressSlots } from '../http/address-slots.ts';

export interface ChatHubOptions {
  app: uWS.TemplatedApp;
  bus: Bus;
  chat: ChatService;
  channels: Channels;
  repo: ChatRepo;
  streams: StreamService;
  media: MediaService;
  tokens: AccessTokens;
  metrics: Metrics;
  log: Logger;
  /** Largest frame accepted; bigger ones close the socket (1009). */
  maxFrameBytes?: number;
  /** Chat sockets one client address may have open on this node. */
  maxSocketsPerIp: number;
  /** The client's address (X-Forwarded-For as the HTTP edge reads it). */
  clientIp: (res: uWS.HttpResponse, headers: Record<string, string>) => string;
  /** Least time between two broadcast frames of one stream (events in between are batched). */
  broadcastIntervalMs?: number;
}

interface SocketData {
  participant: Participant;
  role: ChatRole | null;
  topic: string;
  /** Frames of this socket are handled one after the other. */
  queue: Promise<void>;
  queued: number;
  framesThisSecond: number;
  secondStartedAt: number;
  closed: boolean;
  /** Identity from the Sec-WebSocket-Protocol bearer, verified at upgrade. */
  pendingAuth?: { error?: ChatError; userId?: string; username?: string; expiresAt?: number };
  /** Gives back the socket's place in its address's quota. */
  releaseSlot: () => void;
}

type ChatSocket = uWS.WebSocket<SocketData>;

const MAX_QUEUED_FRAMES = 32;
/**
 * uWS drops a connection whose frame exceeds its limit without a close frame (1006). It is
 * set above ours, so a frame over `maxFrameBytes` gets the documented 1009; only frames
 * over this size (never sent by a client of ours) are cut off by uWS.
 */
const TRANSPORT_FRAME_LIMIT = 64 * 1024;
const MAX_FRAMES_PER_SECOND = 60;
const PRESENCE_EVERY_MS = 2_000;
const PRESENCE_STALE_MS = 6_500;

export class ChatHub {
  readonly node = randomUUID();
  private readonly subscriptions: Subscription[] = [];
  private readonly presence = new Map<string, Map<string, { chat: number; webrtc: number; at: number }>>();
  private readonly lastCounts = new Map<string, string>();
  /** Streams with sockets on this node, with how many. */
  private readonly local = new Map<string, number>();
  /** Stream lookups in flight: a join storm (a node restart, a raid) asks the database once per stream. */
  private readonly streamLookups = new InFlight<StreamWithOwner>();
  private timer: NodeJS.Timeout | undefined;
  private readonly batches = new Map<string, { events: ServerMessage[]; lastFlush: number; timer: NodeJS.Timeout | undefined }>();
  private readonly broadcastIntervalMs: number;
  private readonly maxFrameBytes: number;
  private readonly slots: AddressSlots;
  private readonly frames: Counter<'result'>;
  private readonly sockets: Gauge;

  constructor(private readonly o: ChatHubOptions) {
    this.broadcastIntervalMs = o.broadcastIntervalMs ?? 50;
    this.maxFrameBytes = o.maxFrameBytes ?? 16 * 1024;
    this.slots = new AddressSlots(o.maxSocketsPerIp);
    const registers = [o.metrics.registry];
    this.frames = new Counter({ name: 'glint_chat_frames_total', help: 'Chat frames received, by result.', labelNames: ['result'], registers });
    const local = this.local;
    this.sockets = new Gauge({
      name: 'glint_chat_sockets',
      help: 'Open chat WebSockets on this node.',
      registers,
      collect() {
        let n = 0;
        for (const v of local.values()) n += v;
        this.set(n);
      },
    });
  }

  async start(): Promise<void> {
    const o = this.o;
    o.app.ws<SocketData>('/streams/:id/chat', {
      // No permessage-deflate: uWS compresses per socket, which costs more CPU than the
      // bytes it saves on a busy stream (measured with bench:chat: p99 63 -> 205 ms at 2k sockets).
      compression: uWS.DISABLED,
      maxPayloadLength: Math.max(TRANSPORT_FRAME_LIMIT, this.maxFrameBytes + 1),
      maxBackpressure: 256 * 1024,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.open(ws),
      message: (ws, data, isBinary) => this.message(ws, data, isBinary),
      close: (ws) => this.close(ws),
    });
    this.subscriptions.push(
      await o.bus.subscribe('chat.event', '*', (payload, streamId) => this.onBusEvent(streamId, payload.streamerId, payload.event)),
      await o.bus.subscribe('chat.presence', '*', (report, streamId) => this.onPresence(streamId, report)),
      await o.bus.subscribe('stream.status', '*', (e, streamId) => {
        this.broadcast(streamId, { type: 'system', event: e.status });
        if (e.origin !== this.node) o.media.events.emitLocal(streamId as StreamId, { type: e.status });
      }),
    );
    // Live/reconnecting/offline seen by this node's media plane go to every node.
    o.media.events.onAny((streamId, e) => {
      if (e.type === 'live' || e.type === 'reconnecting' || e.type === 'offline') {
        o.bus.publish('stream.status', streamId, { streamId, status: e.type, at: new Date().toISOString(), origin: this.node }).catch((err) => o.log.warn({ err: (err as Error).message }, 'cannot publish stream status'));
      }
    });
    this.timer = setInterval(() => this.reportPresence(), PRESENCE_EVERY_MS);
    this.timer.unref();
  }

  async close(): Promise<void>;
  close(ws: ChatSocket): void;
  close(ws?: ChatSocket): void | Promise<void> {
    if (ws) return this.onClose(ws);
    clearInterval(this.timer);
    return Promise.all(this.subscriptions.map((s) => s.unsubscribe())).then(() => undefined);
  }

  /** Viewer counts of a stream over every node (chat sockets, WebRTC viewers). */
  counts(streamId: string): ViewerCounts {
    const now = Date.now();
    const byNode = this.presence.get(streamId);
    let chat = this.local.get(streamId) ?? 0;
    let webrtc = this.o.media.viewerCount(streamId as StreamId);
    for (const [node, r] of byNode ?? []) {
      if (node === this.node || now - r.at > PRESENCE_STALE_MS) continue;
      chat += r.chat;
      webrtc += r.webrtc;
    }
    return { chat, webrtc };
  }

  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const streamId = req.getParameter(0) ?? '';
    const key = req.getHeader('sec-websocket-key');
    const protocols = req.getHeader('sec-websocket-protocol').split(',').map((p) => p.trim()).filter(Boolean);
    const extensions = req.getHeader('sec-websocket-extensions');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const bearer = protocols.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length);
    const selected = protocols.includes(CHAT_PROTOCOL) ? CHAT_PROTOCOL : (protocols.find((p) => !p.startsWith('bearer.')) ?? '');
    const releaseSlot = this.slots.acquire(this.o.clientIp(res, { 'x-forwarded-for': req.getHeader('x-forwarded-for') }));
    if (!releaseSlot) {
      this.frames.inc({ result: 'address_full' });
      res.cork(() => {
        res.writeStatus('429 Too Many Requests');
        res.writeHeader('Content-Type', 'application/json');
        res.writeHeader('Retry-After', '10');
        res.end(JSON.stringify({ error: { code: 'RATE_LIMITED', message: `Your address already has ${this.slots.max} chat connections open; close some first.` } }));
      });
      return;
    }
    (async () => {
      const stream = await this.streamLookups.get(streamId, () => this.o.streams.get(streamId));
      const participant = this.o.chat.newParticipant(stream.id, stream.userId);
      const data: SocketData = { participant, role: null, topic: `chat:${stream.id}`, queue: Promise.resolve(), queued: 0, framesThisSecond: 0, secondStartedAt: 0, closed: false, releaseSlot };
      if (bearer) data.pendingAuth = await this.verify(bearer);
      // Loaded before open() so the welcome can be sent at once.
      await Promise.all([this.o.channels.get(stream.userId), this.o.channels.history(stream.id)]);
      if (aborted) return releaseSlot();
      res.cork(() => res.upgrade(data, key, selected, extensions, context));
    })().catch((err) => {
      releaseSlot();
      if (aborted) return;
      const status = err instanceof Error && 'status' in err ? Number((err as { status: number }).status) : 500;
      if (status >= 500) this.o.log.error({ err }, 'chat upgrade failed');
      res.cork(() => {
        res.writeStatus(status === 404 ? '404 Not Found' : '503 Service Unavailable');
        res.writeHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ error: { code: status === 404 ? 'STREAM_NOT_FOUND' : 'SERVICE_UNAVAILABLE', message: status === 404 ? 'No stream has this id.' : 'The chat is not available right now.' } }));
      });
    });
  }

  private async verify(token: string): Promise<NonNullable<SocketData['pendingAuth']>> {
    try {
      const claims = await this.o.tokens.verify(token);
      return { userId: claims.userId, username: claims.username, expiresAt: claims.expiresAt ?? 0 };
    } catch (err) {
      const code = (err as { code?: string }).code === 'TOKEN_EXPIRED' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID';
      return { error: new ChatError(code, code === 'TOKEN_EXPIRED' ? 'Your access token expired; send a fresh one with {"type":"auth"}.' : 'The access token is not valid.') };
    }
  }

  private open(ws: ChatSocket): void {
    const d = ws.getUserData();
    ws.subscribe(d.topic);
    const streamId = d.participant.streamId;
    this.local.set(streamId, (this.local.get(streamId) ?? 0) + 1);
    const pending = d.pendingAuth;
    delete d.pendingAuth;
    this.enqueue(ws, async () => {
      // Every socket gets its welcome: a refused token leaves it reading as a guest, told why.
      let refused = pending?.error;
      try {
        if (pending?.userId) {
          await this.authenticate(ws, pending.userId, pending.expiresAt ?? 0, false).catch((err) => {
            if (!(err instanceof ChatError)) throw err;
            refused = err;
          });
        }
        await this.welcome(ws);
      } catch (err) {
        // Without its welcome the socket is useless: say so and close it; the client reconnects.
        this.o.log.error({ err, streamId }, 'chat welcome failed');
        this.sendError(ws, new ChatError('CHAT_UNAVAILABLE', 'The chat is not available right now; reconnecting.'));
        if (!d.closed) ws.end(1011, 'chat unavailable');
        return;
      }
      if (refused) this.sendError(ws, refused);
    });
  }

  private async welcome(ws: ChatSocket): Promise<void> {
    const d = ws.getUserData();
    const p = d.participant;
    const channel = await this.o.channels.get(p.streamerId);
    const history = (await this.o.channels.history(p.streamId)).map((m) => ({ ...m, role: this.o.chat.role(channel, m.user?.id) }));
    const restriction = await this.o.chat.restriction(p, p.user?.id);
    this.send(ws, { type: 'welcome', user: p.user, role: d.role, restriction, settings: channel.settings, history, viewers: this.counts(p.streamId) });
  }

  private async authenticate(ws: ChatSocket, userId: string, expiresAt: number, announce: boolean): Promise<void> {
    const d = ws.getUserData();
    const user = await this.o.repo.user(userId);
    if (!user) throw new ChatError('TOKEN_INVALID', 'The account of this token no longer exists.');
    d.role = await this.o.chat.identify(d.participant, user, expiresAt);
    if (announce) this.send(ws, { type: 'authenticated', user, role: d.role, restriction: await this.o.chat.restriction(d.participant, user.id) });
  }

  private message(ws: ChatSocket, data: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    if (data.byteLength > this.maxFrameBytes) {
      this.frames.inc({ result: 'too_large' });
      ws.end(1009, `frames are at most ${this.maxFrameBytes} bytes`);
      return;
    }
    const now = Date.now();
    if (now - d.secondStartedAt >= 1000) {
      d.secondStartedAt = now;
      d.framesThisSecond = 0;
    }
    if (++d.framesThisSecond > MAX_FRAMES_PER_SECOND) {
      this.frames.inc({ result: 'flood' });
      if (d.framesThisSecond === MAX_FRAMES_PER_SECOND + 1) this.sendError(ws, new ChatError('RATE_LIMITED', 'Too many frames; slow down.', 1000 - (now - d.secondStartedAt)));
      return;
    }
    if (isBinary) return this.reject(ws, new ChatError('BINARY_NOT_SUPPORTED', 'Send JSON text frames.'));
    let frame: unknown;
    try {
      frame = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      return this.reject(ws, new ChatError('MALFORMED_FRAME', 'The frame is not valid JSON.'));
    }
    const type = (frame as { type?: unknown })?.type;
    if (typeof type !== 'string' || !(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
      return this.reject(ws, new ChatError('UNKNOWN_TYPE', `Unknown message type${typeof type === 'string' ? ` "${type.slice(0, 40)}"` : ''}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}.`));
    }
    const parsed = ClientMessage.safeParse(frame);
    const nonce = typeof (frame as { nonce?: unknown }).nonce === 'string' ? ((frame as { nonce: string }).nonce.slice(0, 64)) : undefined;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.reject(ws, new ChatError('INVALID_MESSAGE', `Invalid "${type}" message: ${issue?.path.join('.') || 'frame'} ${issue?.message ?? ''}`.trim()), nonce);
    }
    if (d.queued >= MAX_QUEUED_FRAMES) return this.reject(ws, new ChatError('RATE_LIMITED', 'Too many frames waiting; slow down.', 1000), nonce);
    const msg = parsed.data;
    this.enqueue(ws, async () => {
      try {
        await this.handle(ws, msg);
        this.frames.inc({ result: 'accepted' });
      } catch (err) {
        if (!(err instanceof ChatError)) {
          this.o.log.error({ err, type: msg.type }, 'chat frame failed');
          err = new ChatError('CHAT_UNAVAILABLE', 'Something went wrong on our side; try again.');
        }
        this.reject(ws, err as ChatError, 'nonce' in msg ? msg.nonce : undefined);
      }
    });
  }

  private async handle(ws: ChatSocket, msg: ClientMessage): Promise<void> {
    const d = ws.getUserData();
    const p = d.participant;
    switch (msg.type) {
      case 'auth': {
        const v = await this.verify(msg.token);
        if (v.error) throw v.error;
        await this.authenticate(ws, v.userId!, v.expiresAt ?? 0, true);
        return;
      }
      case 'send': {
        const message = await this.o.chat.send(p, msg.text);
        this.send(ws, { type: 'ack', nonce: msg.nonce, id: message.id });
        return;
      }
      case 'react':
        return this.o.chat.react(p, msg.emoji);
      case 'delete':
        await this.o.chat.deleteMessage(p, msg.messageId);
        break;
      case 'timeout':
        await this.o.chat.timeout(p, msg.userId, msg.seconds, msg.reason);
        break;
      case 'ban':
        await this.o.chat.ban(p, msg.userId, msg.reason);
        break;
      case 'unban':
        await this.o.chat.unban(p, msg.userId);
        break;
    }
    this.send(ws, { type: 'ack', nonce: msg.nonce });
  }

  private enqueue(ws: ChatSocket, work: () => Promise<void>): void {
    const d = ws.getUserData();
    d.queued++;
    d.queue = d.queue
      .then(() => (d.closed ? undefined : work()))
      .catch((err) => {
        if (err instanceof ChatError) this.sendError(ws, err);
        else this.o.log.error({ err }, 'chat socket task failed');
      })
      .finally(() => {
        d.queued--;
      });
  }

  private onClose(ws: ChatSocket): void {
    const d = ws.getUserData();
    d.closed = true;
    d.releaseSlot();
    const streamId = d.participant.streamId;
    const left = (this.local.get(streamId) ?? 1) - 1;
    if (left > 0) this.local.set(streamId, left);
    else {
      this.local.delete(streamId);
      this.o.channels.dropHistory(streamId);
    }
  }

  private reject(ws: ChatSocket, err: ChatError, nonce?: string): void {
    this.frames.inc({ result: err.code });
    this.sendError(ws, err, nonce);
  }

  private sendError(ws: ChatSocket, err: ChatError, nonce?: string): void {
    const e: ServerMessage = { type: 'error', code: err.code as ChatErrorCode, message: err.message };
    if (nonce !== undefined) e.nonce = nonce;
    if (err.retryAfterMs !== undefined) e.retryAfterMs = Math.ceil(err.retryAfterMs);
    this.send(ws, e);
  }

  private send(ws: ChatSocket, m: ServerMessage): void {
    const d = ws.getUserData();
    if (d.closed) return;
    ws.cork(() => ws.send(JSON.stringify(m), false));
  }

  /**
   * Hands an event to every socket of the stream on this node. A quiet stream's event goes
   * out at once; on a busy one, events within `broadcastIntervalMs` of the last frame are
   * sent together as one JSON array: one frame (one write per socket) instead of one per
   * message, which is what lets one node fan out to thousands of sockets.
   */
  private broadcast(streamId: string, m: ServerMessage): void {
    if (!this.local.has(streamId)) return; // no socket of that stream on this node
    let b = this.batches.get(streamId);
    if (!b) this.batches.set(streamId, (b = { events: [], lastFlush: 0, timer: undefined }));
    b.events.push(m);
    if (b.timer) return;
    const wait = b.lastFlush + this.broadcastIntervalMs - Date.now();
    if (wait <= 0) this.flush(streamId, b);
    else b.timer = setTimeout(() => this.flush(streamId, b), wait);
  }

  private flush(streamId: string, b: { events: ServerMessage[]; lastFlush: number; timer: NodeJS.Timeout | undefined }): void {
    b.timer = undefined;
    b.lastFlush = Date.now();
    const events = b.events;
    b.events = [];
    if (events.length === 0) return;
    this.o.app.publish(`chat:${streamId}`, JSON.stringify(events.length === 1 ? events[0] : events), false);
    if (!this.local.has(streamId)) this.batches.delete(streamId);
  }

  /** Every node: keep caches current, then hand the event to this node's sockets. */
  private onBusEvent(streamId: string, streamerId: string, e: ServerMessage): void {
    const channel = this.o.channels.peek(streamerId);
    switch (e.type) {
      case 'message':
        void this.o.channels.addRecent(streamId, e.message);
        break;
      case 'deleted':
        void this.o.channels.removeRecent(streamId, e.messageId);
        break;
      case 'moderation':
        if (channel) {
          if (e.action === 'unban') channel.bans.delete(e.user.id);
          else channel.bans.set(e.user.id, e.until ? Date.parse(e.until) : Infinity);
        }
        break;
      case 'settings':
        if (channel) channel.settings = e.settings;
        break;
      case 'moderators':
        if (channel) channel.moderators = new Set(e.userIds);
        break;
      default:
        break;
    }
    this.broadcast(streamId, e);
  }

  private onPresence(streamId: string, r: { node: string; chat: number; webrtc: number }): void {
    if (r.node === this.node) return;
    let byNode = this.presence.get(streamId);
    if (!byNode) this.presence.set(streamId, (byNode = new Map()));
    byNode.set(r.node, { chat: r.chat, webrtc: r.webrtc, at: Date.now() });
  }

  /** Tells the cluster this node's audience of each stream, and its sockets the new totals. */
  private reportPresence(): void {
    const streams = new Set([...this.local.keys(), ...this.o.media.liveStreamIds()]);
    for (const streamId of streams) {
      const report = { node: this.node, chat: this.local.get(streamId) ?? 0, webrtc: this.o.media.viewerCount(streamId as StreamId) };
      this.o.bus.publish('chat.presence', streamId, report).catch(() => {});
    }
    const now = Date.now();
    for (const [streamId, byNode] of this.presence) {
      for (const [node, r] of byNode) if (now - r.at > PRESENCE_STALE_MS) byNode.delete(node);
      if (byNode.size === 0) this.presence.delete(streamId);
    }
    for (const streamId of this.local.keys()) {
      const counts = this.counts(streamId);
      const key = `${counts.chat}/${counts.webrtc}`;
      if (this.lastCounts.get(streamId) === key) continue;
      this.lastCounts.set(streamId, key);
      this.broadcast(streamId, { type: 'viewers', viewers: counts });
    }
    for (const streamId of this.lastCounts.keys()) if (!this.local.has(streamId)) this.lastCounts.delete(streamId);
  }
}
