import { createConnection } from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function reachable(url: string, defaultPort: number, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails at once, naming the URL, when a service the tests need is not running. */
export async function requireServices(...which: ('redis' | 'rabbitmq')[]): Promise<void> {
  for (const name of which) {
    const url = name === 'redis' ? REDIS_URL : AMQP_URL;
    if (!(await reachable(url, name === 'redis' ? 6379 : 5672))) {
      throw new Error(
        `${name} is not reachable at ${url}: start it (see DEVELOPERS notes / .ci/run) or set ${
          name === 'redis' ? 'REDIS_URL' : 'AMQP_URL'
        }`,
      );
    }
  }
}

/** A prefix unique to this run, for exchanges, queues and Redis keys. */
export function runPrefix(label: string): string {
  return `t-${label}-${process.pid}-${Date.now().toString(36)}`;
}
