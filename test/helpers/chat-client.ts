/** A chat WebSocket client for tests: collects every server message and waits for one. */
import WebSocket from 'ws';
import type { ServerMessage } from '../../protocol/signalling.ts';

export class ChatClient {
  readonly received: ServerMessage[] = [];
  /** The welcome the server sent first. */
  welcome!: Extract<ServerMessage, { type: 'welcome' }>;
  private waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  closed = false;
  /** Frames received (a batched frame carries several messages). */
  frames = 0;

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
    ws.on('close', () => {
      this.closed = true;
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

  /** The next message of `type` (already received ones count) that matches. */
  next<T extends ServerMessage['type']>(type: T, match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<ServerMessage, { type: T }>> {
    const test = (m: ServerMessage) => m.type === type && match(m as Extract<ServerMessage, { type: T }>);
    const i = this.received.findIndex(test);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((m) => m.type))}`)), timeoutMs);
      this.waiters.push({
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

  close(): void {
    this.ws.close();
  }
}
