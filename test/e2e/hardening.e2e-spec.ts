import type { Message, SendResult } from '@roomcast/contracts';
import {
  connectClient,
  readMetric,
  requireServices,
  startCluster,
  startRedisServer,
  waitFor,
  type AnyAck,
  type RedisServer,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { PresenceQueries, PresenceStore, RedisKeys } from '@roomcast/store';
import Redis from 'ioredis';
import { readFileSync } from 'node:fs';

type SendAck = AnyAck & SendResult;

/** Text no client should ever see in an ack: what leaks from Redis, Lua or a Node stack. */
const INTERNAL_TEXT = /ERR |Error:|TypeError|RangeError|cjson|Lua|script|\n\s+at /;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const retryAfterOf = (ack: AnyAck) =>
  (ack.error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? NaN;

/**
 * The hostile-but-realistic client steps of the hardening issue, each against real processes:
 * a lone surrogate, a null clientId, a pipelined join and leave, a room named like a socket id,
 * a client that asks for much and reads nothing, keys left behind by churn, and presence that
 * lost events without anyone noticing.
 */
describe('guarantees against hostile clients (3 gateways)', () => {
  let cluster: TestCluster;
  let redis: Redis;
  const clients: TestClient[] = [];
  const client = async (gateway: number, name: string) => {
    const c = await connectClient(cluster.gateways[gateway].url, name);
    clients.push(c);
    return c;
  };
  const received = (c: TestClient, room: string) =>
    c.messages.filter((m: Message) => m.room === room).map((m) => m.text);

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({ label: 'hard', gateways: 3 });
    redis = new Redis(cluster.env.REDIS_URL);
  }, 60000);

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await redis?.quit();
    await cluster?.stop();
  }, 30000);

  it('refuses a lone surrogate and the room keeps working for everyone', async () => {
    const ann = await client(0, 'Ann');
    const bob = await client(1, 'Bob');
    await ann.ack('room:join', { room: 'surrogate' });
    await bob.ack('room:join', { room: 'surrogate' });
    const bad = await ann.ack<AnyAck>('message:send', { room: 'surrogate', text: 'hi \uD800' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(bad.error?.message).not.toMatch(INTERNAL_TEXT);
    for (const [c, text] of [
      [ann, 'after 1'],
      [bob, 'after 2'],
      [ann, 'emoji \u{1F600} whole'],
    ] as const) {
      expect(await c.ack('message:send', { room: 'surrogate', text })).toMatchObject({ ok: true });
    }
    for (const c of [ann, bob]) {
      await waitFor(() => received(c, 'surrogate').length === 3, 3000, 'three messages');
      expect(received(c, 'surrogate')).toEqual(['after 1', 'after 2', 'emoji \u{1F600} whole']);
    }
    const history = new RedisKeys(cluster.env.REDIS_PREFIX).roomHistory('surrogate');
    expect(await redis.pttl(history)).toBeGreaterThan(0);
  });

  it('refuses null, non-finite and deeply nested fields with INVALID_PAYLOAD, and never drops a send', async () => {
    const ann = await client(0, 'Ann');
    const bob = await client(2, 'Bob');
    await ann.ack('room:join', { room: 'nulls' });
    await bob.ack('room:join', { room: 'nulls' });
    let deep: unknown = 'x';
    for (let i = 0; i < 2500; i++) deep = { a: deep };
    const attempts: [string, unknown][] = [
      ['message:send', { room: 'nulls', text: 'first', clientId: null }],
      ['message:send', { room: 'nulls', text: null }],
      ['room:join', { room: 'nulls', sinceSeq: null }],
      ['room:history', { room: 'nulls', afterSeq: null }],
      ['room:history', { room: 'nulls', beforeSeq: 1e300 }],
      ['room:history', { room: 'nulls', limit: null }],
      ['typing', { room: 'nulls', typing: null }],
      ['message:send', { room: 'nulls', text: 'deep', deep }],
      ['room:join', { room: deep }],
    ];
    for (const [event, payload] of attempts) {
      const ack = await ann.ack<AnyAck>(event, payload);
      expect([event, ack]).toEqual([
        event,
        expect.objectContaining({
          ok: false,
          error: expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
        }),
      ]);
      expect(ack.error?.message).not.toMatch(INTERNAL_TEXT);
    }
    // Sends without a clientId are each a message of their own, delivered.
    for (const text of ['one', 'two', 'three'])
      expect(await ann.ack('message:send', { room: 'nulls', text })).toMatchObject({ ok: true });
    await waitFor(() => received(bob, 'nulls').length === 3, 3000, 'three messages at Bob');
    expect(received(bob, 'nulls')).toEqual(['one', 'two', 'three']);
    const log = cluster.gateways[0].logs.join('');
    expect(log).not.toContain('RangeError');
  });

  it('applies a pipelined join and leave in order: no invisible listener', async () => {
    const host = await client(0, 'Host');
    const remote = await client(1, 'Remote');
    for (let i = 0; i < 12; i++) {
      const room = `pipe-${i}`;
      await host.ack('room:join', { room });
      await remote.ack('room:join', { room });
      // Same gateway as the host on even tries, another one on odd tries.
      const spy = await client(i % 2 === 0 ? 0 : 2, `Spy${i}`);
      const [joined, left] = await Promise.all([
        spy.ack<AnyAck>('room:join', { room }),
        spy.ack<AnyAck>('room:leave', { room }),
      ]);
      expect(joined.ok && left.ok).toBe(true);
      expect(await host.ack('message:send', { room, text: `secret ${i}` })).toMatchObject({
        ok: true,
      });
      await waitFor(() => received(remote, room).length === 1, 3000, 'the message at Remote');
      await sleep(100); // would the spy still get it?
      expect(received(spy, room)).toEqual([]);
      const members = await remote.ack<{ members: { name: string }[] }>('room:members', { room });
      expect(members.members.map((m) => m.name).sort()).toEqual(['Host', 'Remote']);
      // join, leave, join: ends a member, and hears the room.
      await Promise.all([
        spy.ack('room:join', { room }),
        spy.ack('room:leave', { room }),
        spy.ack('room:join', { room }),
      ]);
      expect(await host.ack('message:send', { room, text: `hello ${i}` })).toMatchObject({
        ok: true,
      });
      await waitFor(() => received(spy, room).includes(`hello ${i}`), 3000, 'the spy rejoined');
      spy.close();
    }
  }, 60000);

  it('keeps chat rooms apart from the rooms Socket.IO makes of socket ids', async () => {
    const victim = await client(0, 'Victim');
    const mallory = await client(0, 'Mallory');
    const room = victim.socket.id!;
    expect(room).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(await mallory.ack('room:join', { room })).toMatchObject({ ok: true });
    expect(await mallory.ack('message:send', { room, text: 'to your socket' })).toMatchObject({
      ok: true,
    });
    await waitFor(() => received(mallory, room).length === 1, 3000, 'the message at Mallory');
    await sleep(100);
    expect(victim.messages).toEqual([]);
  });

  it('gives a join at most 100 messages with more, and pages the rest', async () => {
    const ann = await client(0, 'Ann');
    await ann.ack('room:join', { room: 'long' });
    // Sends on two connections so that the send budget is no obstacle.
    const bob = await client(1, 'Bob');
    await bob.ack('room:join', { room: 'long' });
    const acks: SendAck[] = [];
    for (let i = 0; i < 130; i++) {
      const sender = i % 2 === 0 ? ann : bob;
      acks.push(await sender.ack<SendAck>('message:send', { room: 'long', text: `m${i}` }));
      if (i % 30 === 29) await sleep(1000); // within 20/s and the burst of 40
    }
    expect(acks.every((a) => a.ok)).toBe(true);
    const since = acks[9].seq;
    const late = await client(2, 'Late');
    const joined = await late.ack<{ history: Message[]; more: boolean; complete: boolean }>(
      'room:join',
      { room: 'long', sinceSeq: since },
    );
    expect(joined.history).toHaveLength(100);
    expect(joined.history[0].seq).toBe(acks[10].seq);
    expect(joined.more).toBe(true);
    expect(joined.complete).toBe(true);
    const rest = await late.ack<{ messages: Message[] }>('room:history', {
      room: 'long',
      afterSeq: joined.history[99].seq,
      limit: 100,
    });
    expect(rest.messages.map((m) => m.text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `m${110 + i}`),
    );
    const recent = await late.ack<{ history: Message[]; more: boolean }>('room:join', {
      room: 'long',
    });
    expect(recent.history).toHaveLength(50);
    expect(recent.more).toBe(false);
  }, 30000);

  it('rate-limits every event of a connection, reads included', async () => {
    const reader = await client(0, 'Reader');
    const results = await Promise.all(
      Array.from({ length: 160 }, () => reader.ack<AnyAck>('room:history', { room: 'quiet' })),
    );
    const limited = results.filter((r) => r.error?.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThanOrEqual(50);
    expect(results.filter((r) => r.ok).length).toBeLessThanOrEqual(110);
    expect(reader.socket.connected).toBe(true);
    // Each refusal says when a retry passes: within one token's time at 50 events/s.
    const waits = results.flatMap((r) =>
      r.error?.code === 'RATE_LIMITED' ? [retryAfterOf(r)] : [],
    );
    expect(waits.filter((w) => !(Number.isInteger(w) && w >= 1 && w <= 20))).toEqual([]);
    const again = await reader.ack<AnyAck>('room:history', { room: 'quiet' });
    if (!again.ok) {
      await sleep(retryAfterOf(again));
      expect(await reader.ack('room:history', { room: 'quiet' })).toMatchObject({ ok: true });
    }
  });

  it('leaves no key without an expiry behind room churn', async () => {
    const churner = await client(1, 'Churner');
    for (let i = 0; i < 20; i++) {
      const room = `churn-${i}`;
      await churner.ack('room:join', { room });
      await churner.ack('typing', { room, typing: true });
      if (i % 4 === 0) await churner.ack('message:send', { room, text: 'x', clientId: `c${i}` });
      await churner.ack('room:leave', { room });
    }
    churner.close();
    const prefix = cluster.env.REDIS_PREFIX;
    const queries = new PresenceQueries(redis, prefix);
    await waitFor(
      async () => (await queries.clusterStats()).connections === 0,
      5000,
      'the churner gone from presence',
    );
    // What may stay without an expiry: the live instances, removed when they go, and the mark of
    // the key layout.
    const named = new RedisKeys(prefix);
    const lasting = new Set([named.instances(), named.instancesSeen(), named.layout()]);
    const keys = await redis.keys(`${prefix}*`);
    const forever: string[] = [];
    for (const key of keys) {
      // -1: no expiry. -2 is a key that expired since KEYS listed it (the presence locks live
      // half a second), which is the opposite of staying forever.
      if (!lasting.has(key) && (await redis.pttl(key)) === -1) forever.push(key);
    }
    expect(forever).toEqual([]);
    expect(keys.filter((k) => k.includes('churn-')).length).toBeGreaterThan(0);
  });

  it('re-syncs an instance whose heartbeat disagrees with what presence holds', async () => {
    const ann = await client(2, 'Ann');
    const bob = await client(2, 'Bob');
    await ann.ack('room:join', { room: 'resync' });
    await bob.ack('room:join', { room: 'resync' });
    const users = async () =>
      (
        (await (await fetch(`${cluster.api.url}/stats/rooms/resync`)).json()) as {
          users: number;
        }
      ).users;
    await waitFor(async () => (await users()) === 2, 3000, 'both in presence');
    // Presence loses Bob's connection without the gateway knowing (events lost in an outage,
    // or a sync request whose reply timed out).
    const store = new PresenceStore(redis, cluster.env.REDIS_PREFIX);
    // client(2, ...) connects through gateways[2].
    await store.disconnect(cluster.gatewayId(2), bob.socket.id!);
    expect(await users()).toBe(1);
    const lostAt = Date.now();
    await waitFor(async () => (await users()) === 2, 10000, 'Bob back in presence', 200);
    process.stdout.write(`[hardening] presence re-synced ${Date.now() - lostAt} ms after a loss\n`);
  }, 20000);
});

describe('a client that asks for much and reads nothing (a Redis of its own)', () => {
  let redisServer: RedisServer;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
    redisServer = await startRedisServer();
    cluster = await startCluster({
      label: 'amp',
      gateways: 1,
      env: { REDIS_URL: redisServer.url },
      // Limits high enough for the writer's 150 sends: the buffer cap is what is under test.
      gatewayEnv: {
        RATE_LIMIT_PER_SEC: '500',
        RATE_LIMIT_BURST: '1000',
        RATE_LIMIT_EVENTS_PER_SEC: '500',
        RATE_LIMIT_EVENTS_BURST: '1000',
      },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await redisServer?.stop();
  }, 30000);

  it('disconnects it before the gateway buffers without bound, and others keep chatting', async () => {
    const writer = await connectClient(cluster.gateways[0].url, 'Writer');
    clients.push(writer);
    await writer.ack('room:join', { room: 'big' });
    await writer.ack('room:join', { room: 'calm' });
    // 12 KB messages: 4000 three-byte characters each.
    const text = '\u20AC'.repeat(4000);
    for (let i = 0; i < 150; i++)
      expect(await writer.ack('message:send', { room: 'big', text })).toMatchObject({ ok: true });

    const hog = await connectClient(cluster.gateways[0].url, 'Hog');
    clients.push(hog);
    const closed = new Promise<string>((r) => hog.socket.once('disconnect', (why) => r(why)));
    // Stop reading: the kernel buffers fill, then the gateway's.
    const tcp = (
      hog.socket.io.engine.transport as unknown as {
        ws: { _socket: { pause(): void; resume(): void } };
      }
    ).ws._socket;
    tcp.pause();
    for (let i = 0; i < 90; i++)
      hog.socket.emit('room:join', { room: 'big', sinceSeq: 0 }, () => {});

    const gatewayPid = cluster.gateways[0].child.pid!;
    const rssMb = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gatewayPid}/status`, 'utf8'))![1]) / 1024;
    let peak = 0;
    const latencies: number[] = [];
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      peak = Math.max(peak, rssMb());
      const t0 = Date.now();
      expect(await writer.ack('message:send', { room: 'calm', text: 'still fine' })).toMatchObject({
        ok: true,
      });
      expect(await writer.ack('room:history', { room: 'calm' })).toMatchObject({ ok: true });
      latencies.push(Date.now() - t0);
      if (
        (await readMetric(cluster.gateways[0].url, 'roomcast_slow_consumers_disconnected_total')) >
        0
      )
        break;
      await sleep(100);
    }
    expect(
      await readMetric(cluster.gateways[0].url, 'roomcast_slow_consumers_disconnected_total'),
    ).toBe(1);
    tcp.resume();
    expect(await closed).toBe('transport close');
    expect(peak).toBeLessThan(400);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(await writer.ack('message:send', { room: 'big', text: 'after' })).toMatchObject({
      ok: true,
    });
    process.stdout.write(
      `[hardening] non-reader cut off; gateway RSS peak ${peak.toFixed(0)} MB; other client's round trip max ${Math.max(...latencies)} ms\n`,
    );
  }, 60000);
});
