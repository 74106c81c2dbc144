/**
 * What each node keeps in memory about the channels its sockets are in: chat settings,
 * moderators, bans and timeouts (loaded from the database once, then kept current by the
 * bus events every node receives), and the last messages of each stream for new joiners.
 */
import { WELCOME_HISTORY } from '../../protocol/chat-constants.ts';
import type { ChatMessage, ChatSettings, ChatUser } from '../../protocol/signalling.ts';
import type { ChatRepo, HistoryRow } from '../db/chat-repo.ts';
import type { ChatStore } from './chat-store.ts';
import { InFlight } from './in-flight.ts';

export interface Channel {
  streamerId: string;
  settings: ChatSettings;
  moderators: Set<string>;
  /** userId -> end of timeout in ms, or Infinity for a ban. */
  bans: Map<string, number>;
  loadedAt: number;
}

const CHANNEL_TTL_MS = 5 * 60_000;

export class Channels {
  private readonly channels = new Map<string, Channel>();
  private readonly loading = new InFlight<Channel>();
  private readonly recent = new Map<string, Promise<ChatMessage[]>>();

  constructor(
    private readonly repo: ChatRepo,
    private readonly store: ChatStore,
  ) {}

  async get(streamerId: string): Promise<Channel> {
    const c = this.channels.get(streamerId);
    if (c && Date.now() - c.loadedAt < CHANNEL_TTL_MS) return c;
    return this.loading.get(streamerId, () => this.load(streamerId));
  }

  /** The cached channel, if loaded (bus events only update channels someone here uses). */
  peek(streamerId: string): Channel | undefined {
    return this.channels.get(streamerId);
  }

  forget(streamerId: string): void {
    this.channels.delete(streamerId);
  }

  /** The last messages of a stream, oldest first (loaded once per node, then kept by events). */
  async history(streamId: string): Promise<ChatMessage[]> {
    let p = this.recent.get(streamId);
    if (!p) {
      p = this.loadHistory(streamId);
      this.recent.set(streamId, p);
      p.catch(() => this.recent.delete(streamId));
    }
    return p;
  }

  async addRecent(streamId: string, message: ChatMessage): Promise<void> {
    const list = this.recent.get(streamId);
    if (!list) return;
    const items = await list;
    if (items.some((m) => m.id === message.id)) return;
    items.push(message);
    if (items.length > WELCOME_HISTORY) items.splice(0, items.length - WELCOME_HISTORY);
  }

  async removeRecent(streamId: string, messageId: number): Promise<void> {
    const list = this.recent.get(streamId);
    if (!list) return;
    const items = await list;
    const i = items.findIndex((m) => m.id === messageId);
    if (i >= 0) items.splice(i, 1);
  }

  /** Drops caches of streams with no sockets left here. */
  dropHistory(streamId: string): void {
    this.recent.delete(streamId);
  }

  private async load(streamerId: string): Promise<Channel> {
    const [settings, moderators, bans] = await Promise.all([this.repo.settings(streamerId), this.repo.moderators(streamerId), this.repo.activeBans(streamerId)]);
    const channel: Channel = {
      streamerId,
      settings,
      moderators: new Set(moderators.map((m) => m.id)),
      bans: new Map(bans.map((b) => [b.userId, b.expiresAt ? b.expiresAt.getTime() : Infinity])),
      loadedAt: Date.now(),
    };
    this.channels.set(streamerId, channel);
    return channel;
  }

  private async loadHistory(streamId: string): Promise<ChatMessage[]> {
    return (await this.page(streamId, WELCOME_HISTORY)).map(toChatMessage);
  }

  /**
   * A page of a stream's history from the database, newest last, with the messages accepted
   * but not written yet (the database is slow or down) merged in: they are history too.
   */
  async page(streamId: string, limit: number, before?: number): Promise<HistoryRow[]> {
    const rows = await this.repo.history(streamId, limit, before);
    const written = new Set(rows.map((r) => r.id));
    const pending = this.store.pendingFor(streamId).filter((m) => !written.has(m.id) && (before === undefined || m.id < before));
    if (pending.length === 0) return rows;
    const users = new Map<string, ChatUser>();
    for (const m of pending) {
      if (m.userId && !users.has(m.userId)) {
        const u = await this.repo.user(m.userId);
        if (u) users.set(m.userId, u);
      }
    }
    const merged: HistoryRow[] = [
      ...rows,
      ...pending.map((m) => {
        const u = m.userId ? users.get(m.userId) : undefined;
        return { id: m.id, userId: m.userId, username: u?.username ?? null, displayName: u?.displayName ?? null, text: m.text, at: m.at };
      }),
    ];
    merged.sort((a, b) => a.id - b.id);
    return merged.slice(-limit);
  }
}

export function toChatMessage(r: HistoryRow): ChatMessage {
  return {
    id: r.id,
    user: r.userId && r.username ? { id: r.userId, username: r.username, displayName: r.displayName ?? r.username } : null,
    role: 'viewer',
    subscriber: false,
    text: r.text,
    at: r.at.toISOString(),
  };
}
