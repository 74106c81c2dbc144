/**
 * Server side of the channel to one sfu-worker process: typed requests with timeouts,
 * pending requests in a map (all rejected when the channel closes), and events delivered
 * after the response that caused them.
 */
import type { ChildProcess } from 'node:child_process';
import type { ChannelMessage, SfuErrorCode, SfuEvent, SfuEvents, SfuMethod, SfuMethods } from '../../protocol/sfu.ts';

export class WorkerRequestError extends Error {
  override name = 'WorkerRequestError';
  constructor(
    readonly code: SfuErrorCode | 'TIMEOUT' | 'CHANNEL_CLOSED',
    message: string,
  ) {
    super(message);
  }
}

type Listener<E extends SfuEvent> = (data: SfuEvents[E]) => void;

export class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly listeners = new Map<SfuEvent, Set<Listener<SfuEvent>>>();
  private closed = false;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (m: ChannelMessage) => this.onMessage(m));
  }

  request<M extends SfuMethod>(method: M, data: SfuMethods[M]['req'], options: { timeoutMs?: number } = {}): Promise<SfuMethods[M]['res']> {
    if (this.closed || !this.child.connected) return Promise.reject(new WorkerRequestError('CHANNEL_CLOSED', 'the worker is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WorkerRequestError('TIMEOUT', `worker did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const message: ChannelMessage = { t: 'req', id, method, data };
      this.child.send(message, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new WorkerRequestError('CHANNEL_CLOSED', `cannot reach the worker: ${err.message}`));
      });
    });
  }

  on<E extends SfuEvent>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<SfuEvent>);
    return () => set.delete(listener as Listener<SfuEvent>);
  }

  /** Rejects every pending request. Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new WorkerRequestError('CHANNEL_CLOSED', reason));
      this.pending.delete(id);
    }
  }

  private onMessage(m: ChannelMessage): void {
    if (m?.t === 'res') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.data);
      else p.reject(new WorkerRequestError(m.error.code, m.error.message));
    } else if (m?.t === 'evt') {
      // After the response that caused it: a request's continuation runs first.
      setImmediate(() => {
        for (const l of this.listeners.get(m.event) ?? []) l(m.data as never);
      });
    }
  }
}
