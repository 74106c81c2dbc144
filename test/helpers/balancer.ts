/**
 * A small HTTP load balancer for tests, as operators put in front of a cluster: every request
 * goes to the first backend that accepts the connection (fail-over, in order), streamed both
 * ways (server-sent events included). On 127.0.0.1.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** How many requests each backend got. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: string[]): Promise<Balancer> {
  const counts = new Map<string, number>(backends.map((b) => [b, 0]));
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
  });
  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, i: number): void {
    const backend = backends[i];
    if (!backend) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('no backend answered');
      return;
    }
    const target = new URL(backend);
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: `${target.hostname}:${target.port}` }, agent: false },
      (upRes) => {
        counts.set(backend, (counts.get(backend) ?? 0) + 1);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        // The backend died mid-answer (an event stream): the client sees the connection end.
        upRes.on('error', () => res.destroy());
        upRes.on('aborted', () => res.destroy());
      },
    );
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      // Not accepted there: the next backend (a request that reached one is never replayed).
      if (err.code === 'ECONNREFUSED') forward(req, res, body, i + 1);
      else res.writeHead(502).end(err.message);
    });
    res.on('close', () => up.destroy());
    up.end(body);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    async close() {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
