import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { killGroup, exited, freePort, spawnGroup } from './processes';
import { waitFor } from './wait';

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones, like a dead link or a stopped server. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of a real server, so a test can cut one app's link to the
 * broker without touching the shared server.
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface RedisServer {
  port: number;
  url: string;
  /** The redis-server's pid while it runs (for its CPU time). */
  pid(): number | undefined;
  stop(): Promise<void>;
  /** Starts it again, empty (nothing is kept on disk), on the same port. */
  start(): Promise<void>;
}

/** A Redis of the test's own, on a free port, that the test may stop and restart. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    async start() {
      ({ child } = spawnGroup(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { output: 'ignore' },
      ));
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const s = createConnection({ host: '127.0.0.1', port }, () => {
              s.destroy();
              resolve(true);
            });
            s.on('error', () => resolve(false));
          }),
        10000,
        `redis-server on :${port} (is redis-server installed?)`,
      );
    },
    async stop() {
      if (!child) return;
      killGroup(child, 'SIGKILL');
      await exited(child);
      child = undefined;
    },
  };
  await server.start();
  return server;
}
