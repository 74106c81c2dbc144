/**
 * Where accepted chat messages go: ids are handed out from a pool reserved ahead in the
 * database (so a message is shown at once and can be deleted before it is written), rows
 * are written in batches, and a write that fails is retried with backoff from a bounded
 * queue: when the database stays away too long the oldest unwritten messages are shed,
 * counted in a metric and logged. Nothing is shed while the database only runs slow.
 */
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { ChatRepo, StoredMessage } from '../db/chat-repo.ts';

export interface ChatStoreOptions {
  repo: ChatRepo;
  log: Logger;
  metrics: Metrics;
  /** Ids reserved per round trip. */
  idBlock?: number;
  /** Longest wait before a batch is written. */
  batchMs?: number;
  batchMax?: number;
  /** Unwritten messages kept before the oldest are shed. */
  queueMax?: number;
}

export class ChatStore {
  private readonly ids: number[] = [];
  private refilling: Promise<void> | null = null;
  private readonly queue: StoredMessage[] = [];
  private readonly pendingById = new Map<number, StoredMessage>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private readonly idBlock: number;
  private readonly batchMs: number;
  private readonly batchMax: number;
  private readonly queueMax: number;
  private readonly shed: Counter;
  private readonly writeFailures: Counter;
  private readonly written: Counter;

  constructor(private readonly o: ChatStoreOptions) {
    this.idBlock = o.idBlock ?? 200;
    this.batchMs = o.batchMs ?? 25;
    this.batchMax = o.batchMax ?? 500;
    this.queueMax = o.queueMax ?? 20_000;
    const registers = [o.metrics.registry];
    this.shed = new Counter({ name: 'glint_chat_messages_shed_total', help: 'Accepted chat messages dropped unwritten because the database was unavailable too long.', registers });
    this.writeFailures = new Counter({ name: 'glint_chat_write_failures_total', help: 'Failed chat batch writes (retried).', registers });
    this.written = new Counter({ name: 'glint_chat_messages_written_total', help: 'Chat messages written to the database.', registers });
    const queue = this.queue;
    new Gauge({
      name: 'glint_chat_write_queue_length',
      help: 'Accepted chat messages waiting to be written.',
      registers,
      collect() {
        this.set(queue.length);
      },
    });
  }

  async start(): Promise<void> {
    await this.refill();
  }

  /** The next message id, or null when the pool is empty (the database has been away). */
  nextId(): number | null {
    if (this.ids.length < this.idBlock / 2) void this.refill();
    return this.ids.shift() ?? null;
  }

  add(message: StoredMessage): void {
    this.queue.push(message);
    this.pendingById.set(message.id, message);
    if (this.queue.length > this.queueMax) {
      const dropped = this.queue.splice(0, this.queue.length - this.queueMax);
      for (const d of dropped) this.pendingById.delete(d.id);
      this.shed.inc(dropped.length);
      this.o.log.error({ dropped: dropped.length, queued: this.queue.length }, 'chat write queue full: oldest unwritten messages shed');
    }
    this.schedule();
  }

  /** Marks an unwritten message deleted; returns false when it is not waiting here. */
  markPendingDeleted(id: number, by: string): boolean {
    const m = this.pendingById.get(id);
    if (!m) return false;
    m.deletedAt = new Date();
    m.deletedBy = by;
    return true;
  }

  pending(id: number): StoredMessage | undefined {
    return this.pendingById.get(id);
  }

  /** Unwritten messages of a stream, oldest first (for history while the database lags). */
  pendingFor(streamId: string): StoredMessage[] {
    return this.queue.filter((m) => m.streamId === streamId && !m.deletedAt);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Writes everything still queued (tries for up to `timeoutMs`). */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const end = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.writing) && Date.now() < end) {
      await (this.writing ?? this.writeBatch().catch(() => new Promise((r) => setTimeout(r, 100))));
    }
    if (this.queue.length > 0) this.o.log.error({ unwritten: this.queue.length }, 'chat messages left unwritten at shutdown');
  }

  private schedule(delay = this.batchMs): void {
    if (this.timer || this.writing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing = this.writeBatch()
        .then(
          () => {
            this.failures = 0;
          },
          (err) => {
            this.failures++;
            this.writeFailures.inc();
            this.o.log.warn({ err, queued: this.queue.length, attempt: this.failures }, 'chat write failed; will retry');
          },
        )
        .finally(() => {
          this.writing = null;
          if (this.queue.length > 0) this.schedule(this.failures > 0 ? Math.min(5_000, 100 * 2 ** this.failures) : this.batchMs);
        });
    }, delay);
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.slice(0, this.batchMax);
    if (batch.length === 0) return;
    await this.o.repo.insertMessages(batch);
    // Only now leave the queue: a failed write keeps them for the retry.
    this.queue.splice(0, batch.length);
    for (const m of batch) this.pendingById.delete(m.id);
    this.written.inc(batch.length);
  }

  private refill(): Promise<void> {
    this.refilling ??= this.o.repo
      .reserveIds(this.idBlock)
      .then((ids) => {
        this.ids.push(...ids);
      })
      .catch((err) => this.o.log.warn({ err }, 'cannot reserve chat message ids'))
      .finally(() => {
        this.refilling = null;
      });
    return this.refilling;
  }
}
