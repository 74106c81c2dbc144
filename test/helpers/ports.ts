import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';

/** A UDP port on 127.0.0.1 nobody holds right now (a random probe, so parallel test files rarely collide). */
export async function freeUdpPortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = randomInt(42000, 60000);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free UDP port found');
}

/** A TCP port on 127.0.0.1 nobody holds right now (the kernel's pick). */
export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
