import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { ephemeralLow, freePort } from './processes';

const listenOn = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });

/** A random draw that makes `freePort` pick `port` (its range starts at 10000). */
const at = (port: number) => (port - 10000 + 0.5) / (ephemeralLow() - 10000);

describe('ephemeralLow', () => {
  it("reads the range's lower end", () => {
    expect(ephemeralLow(() => '40000\t60999\n')).toBe(40000);
  });

  it('falls back to 32768 when the file is unreadable or holds no port', () => {
    expect(
      ephemeralLow(() => {
        throw new Error('ENOENT');
      }),
    ).toBe(32768);
    expect(ephemeralLow(() => 'nonsense')).toBe(32768);
    expect(ephemeralLow(() => '0 0')).toBe(32768);
  });
});

describe('freePort', () => {
  it("hands out distinct ports below the kernel's ephemeral range that can be listened on", async () => {
    const low = ephemeralLow();
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10000);
      expect(port).toBeLessThan(low);
    }
    await Promise.all(ports.slice(0, 5).map(listenOn));
  });

  it('passes over a port something listens on, and one it handed out before', async () => {
    const low = ephemeralLow();
    const busy = 10000 + Math.floor((low - 10000) / 3);
    const handed = busy + 7;
    const next = busy + 11;
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(busy, '127.0.0.1', resolve));
    try {
      const first = await freePort(() => at(handed));
      expect(first).toBe(handed);
      const draws = [at(busy), at(handed), at(next)];
      expect(await freePort(() => draws.shift()!)).toBe(next);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it("never hands out a port that fetch refuses (10080, one of the Fetch standard's bad ports)", async () => {
    const draws = [at(10080), at(10080), at(10090)];
    const port = await freePort(() => draws.shift()!);
    expect(port).toBe(10090);
    const srv = createHttpServer((_req, res) => res.writeHead(200, { connection: 'close' }).end());
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
    try {
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});
