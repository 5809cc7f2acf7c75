import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, exited, freePort, spawnGroup } from './processes';
import { waitFor } from './wait';

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones, like a dead link or a stopped server. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** What a proxy does to the bytes of one connection, each way. */
export interface ProxyRewrite {
  fromClient(chunk: Buffer): Buffer;
  fromBroker(chunk: Buffer): Buffer;
  close(): void;
}

/**
 * A TCP proxy on loopback in front of a real server, so a test can cut one app's link to the
 * broker without touching the shared server.
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
  rewrite?: () => ProxyRewrite,
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
    if (!rewrite) {
      client.pipe(upstream).pipe(client);
      return;
    }
    const r = rewrite();
    client.on('data', (chunk: Buffer) => upstream.write(r.fromClient(chunk)));
    upstream.on('data', (chunk: Buffer) => client.write(r.fromBroker(chunk)));
    client.on('close', r.close);
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
  /** Starts it again on the same port: empty, or with `persist` what it held when stopped. */
  start(): Promise<void>;
}

/**
 * A Redis of the test's own, on a free port, that the test may stop and restart. With
 * `persist`, it keeps an append-only file (fsync always) in a temporary directory, so a restart
 * finds what it held, as a production Redis does; by default it keeps nothing.
 */
export async function startRedisServer(options: { persist?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = options.persist ? mkdtempSync(join(tmpdir(), 'roomcast-redis-')) : undefined;
  const keep = dir
    ? ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--save', '', '--appendonly', 'no'];
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    async start() {
      ({ child } = spawnGroup(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', ...keep],
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
      // A persisting one stops as a restart does (SIGTERM: its file flushed); else a crash.
      killGroup(child, dir ? 'SIGTERM' : 'SIGKILL');
      await exited(child);
      child = undefined;
    },
  };
  await server.start();
  return server;
}

export interface NackingProxy extends TcpProxy {
  /**
   * From now on, the broker's confirms of publishes whose routing key starts with `prefix`, on
   * every channel open at this moment, reach the client as nacks; channels opened later are
   * left alone. This is how a RabbitMQ channel whose quorum-queue state went stale (its queue's
   * leader died as the channel opened) behaves: every publish to that queue nacked, the other
   * queues' publishes on the same channel confirmed, and a fresh channel fine.
   */
  poison(prefix: string): void;
  /** Confirms turned into nacks so far. */
  nacked(): number;
}

const FRAME_METHOD = 1;
const FRAME_END = 0xce;
const PROTOCOL_HEADER_BYTES = 8;
/** AMQP 0-9-1 class and method ids the proxy reads. */
const CHANNEL_OPEN = [20, 10];
const BASIC_PUBLISH = [60, 40];
const BASIC_ACK = [60, 80];
const BASIC_NACK = [60, 120];

interface ChannelState {
  /** Publishes counted since the channel opened: a confirm's delivery tag. */
  published: number;
  /** The highest delivery tag confirmed so far (for `multiple` confirms). */
  confirmed: number;
  /** Delivery tags of publishes to be nacked. */
  doomed: Set<number>;
  /** The prefix this channel's publishes are nacked for, once poisoned. */
  poisonedFor?: string;
}

/**
 * A TCP proxy in front of RabbitMQ that reads the AMQP frames going through it and, once
 * `poison(prefix)` is called, turns the broker's `basic.ack` of a matching publish on an already
 * open channel into a `basic.nack` (a `multiple` ack is split into one confirm per tag). Every
 * other frame passes unchanged.
 */
export async function startNackingProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<NackingProxy> {
  const links = new Set<{ channels: Map<number, ChannelState> }>();
  let nacks = 0;
  const method = (payload: Buffer, [cls, m]: number[]) =>
    payload.length >= 4 && payload.readUInt16BE(0) === cls && payload.readUInt16BE(2) === m;
  const frame = (channel: number, payload: Buffer) => {
    const head = Buffer.alloc(7);
    head.writeUInt8(FRAME_METHOD, 0);
    head.writeUInt16BE(channel, 1);
    head.writeUInt32BE(payload.length, 3);
    return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
  };
  const confirm = (channel: number, tag: number, ack: boolean) => {
    const payload = Buffer.alloc(13);
    payload.writeUInt16BE(60, 0);
    payload.writeUInt16BE(ack ? BASIC_ACK[1] : BASIC_NACK[1], 2);
    payload.writeBigUInt64BE(BigInt(tag), 4);
    payload.writeUInt8(0, 12); // not multiple; a nack not requeued
    return frame(channel, payload);
  };
  /** Splits a byte stream into frames, skipping the client's protocol header. */
  const framer = (skip: number, onFrame: (raw: Buffer) => Buffer[]) => {
    let pending = Buffer.alloc(0);
    let toSkip = skip;
    return (chunk: Buffer): Buffer => {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      if (toSkip > 0) {
        const n = Math.min(toSkip, pending.length);
        out.push(pending.subarray(0, n));
        pending = pending.subarray(n);
        toSkip -= n;
      }
      while (pending.length >= 7) {
        const size = pending.readUInt32BE(3);
        if (pending.length < 8 + size) break;
        out.push(...onFrame(pending.subarray(0, 8 + size)));
        pending = pending.subarray(8 + size);
      }
      return Buffer.concat(out);
    };
  };

  const proxy = await startTcpProxy(targetPort, targetHost, () => {
    const link = { channels: new Map<number, ChannelState>() };
    links.add(link);
    const stateOf = (channel: number) => {
      let s = link.channels.get(channel);
      if (!s) link.channels.set(channel, (s = { published: 0, confirmed: 0, doomed: new Set() }));
      return s;
    };
    const fromClient = framer(PROTOCOL_HEADER_BYTES, (raw) => {
      const channel = raw.readUInt16BE(1);
      const payload = raw.subarray(7, raw.length - 1);
      if (raw[0] !== FRAME_METHOD) return [raw];
      if (method(payload, CHANNEL_OPEN)) {
        link.channels.set(channel, { published: 0, confirmed: 0, doomed: new Set() });
      } else if (method(payload, BASIC_PUBLISH)) {
        const s = stateOf(channel);
        s.published++;
        const exchangeLength = payload.readUInt8(6);
        const keyAt = 7 + exchangeLength;
        const key = payload.toString('utf8', keyAt + 1, keyAt + 1 + payload.readUInt8(keyAt));
        if (s.poisonedFor !== undefined && key.startsWith(s.poisonedFor)) s.doomed.add(s.published);
      }
      return [raw];
    });
    const fromBroker = framer(0, (raw) => {
      const channel = raw.readUInt16BE(1);
      const payload = raw.subarray(7, raw.length - 1);
      const s = link.channels.get(channel);
      if (raw[0] !== FRAME_METHOD || !s) return [raw];
      const isAck = method(payload, BASIC_ACK);
      if (!isAck && !method(payload, BASIC_NACK)) return [raw];
      const tag = Number(payload.readBigUInt64BE(4));
      const multiple = (payload.readUInt8(12) & 1) === 1;
      const tags = multiple ? range(s.confirmed + 1, tag) : [tag];
      s.confirmed = Math.max(s.confirmed, tag);
      if (!isAck || !tags.some((t) => s.doomed.has(t))) return [raw];
      return tags.map((t) => {
        const doomed = s.doomed.delete(t);
        if (doomed) nacks++;
        return confirm(channel, t, !doomed);
      });
    });
    return { fromClient, fromBroker, close: () => links.delete(link) };
  });
  return {
    ...proxy,
    poison(prefix) {
      for (const link of links) for (const s of link.channels.values()) s.poisonedFor = prefix;
    },
    nacked: () => nacks,
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
