/** A chat WebSocket client for tests: collects every server message and waits for one. */
import WebSocket from 'ws';
import type { ServerMessage } from '../../protocol/signalling.ts';

export class ChatClient {
  readonly received: ServerMessage[] = [];
  /** The welcome the server sent first. */
  welcome!: Extract<ServerMessage, { type: 'welcome' }>;
  private waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void; fail: (why: string) => void }> = [];
  closed = false;
  closeCode: number | undefined;
  /** Frames received (a batched frame carries several messages). */
  frames = 0;
  private readonly openedAt = Date.now();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = JSON.parse(String(data)) as ServerMessage | ServerMessage[];
      this.frames++;
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        this.received.push(m);
        this.waiters = this.waiters.filter((w) => {
          if (!w.match(m)) return true;
          w.resolve(m);
          return false;
        });
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      // Nothing more can arrive: a waiter learns it now, not at its timeout.
      for (const w of this.waiters.splice(0)) w.fail('the socket closed');
    });
  }

  /** Connects to a stream's chat; resolves after the welcome. */
  static async connect(baseUrl: string, streamId: string, token?: string): Promise<ChatClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/streams/${streamId}/chat`, token ? ['glint-chat.v1', `bearer.${token}`] : ['glint-chat.v1']);
    const client = new ChatClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    client.welcome = await client.next('welcome');
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /**
   * The next message of `type` (already received ones count) that matches. Fails at once if
   * the socket closes; the timeout is a bound for a loaded CI machine, not a latency check.
   */
  next<T extends ServerMessage['type']>(type: T, match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    const test = (m: ServerMessage) => m.type === type && match(m as Extract<ServerMessage, { type: T }>);
    const i = this.received.findIndex(test);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`no "${type}" message: ${why}; got ${JSON.stringify(this.received.map((m) => m.type))}; ${this.state()}`));
      };
      if (this.closed) return fail('the socket is closed');
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.fail !== fail);
        fail(`none within ${timeoutMs} ms`);
      }, timeoutMs);
      this.waiters.push({
        fail,
        match: test,
        resolve: (m) => {
          clearTimeout(timer);
          const at = this.received.indexOf(m);
          if (at >= 0) this.received.splice(at, 1);
          resolve(m as Extract<ServerMessage, { type: T }>);
        },
      });
    });
  }

  /** Sends a frame and waits for the error answering it. */
  async expectError(frame: unknown, code: string): Promise<Extract<ServerMessage, { type: 'error' }>> {
    this.send(frame);
    return this.next('error', (e) => e.code === code);
  }

  /** What a timeout message needs to tell a dead socket from a slow server. */
  private state(): string {
    return `${this.frames} frames in ${Date.now() - this.openedAt} ms, ${this.closed ? `closed (${this.closeCode})` : 'open'}`;
  }

  close(): void {
    this.ws.close();
  }
}
