import type { SendResult } from '@roomcast/contracts';
import { RedisKeys } from '@roomcast/store';
import {
  connectClient,
  requireServices,
  startCluster,
  startRedisServer,
  waitFor,
  type AnyAck,
  type RedisServer,
  type TestCluster,
} from '@roomcast/testing';
import Redis from 'ioredis';

const DAY = 24 * 3600 * 1000;
/** How long the churn runs and how many sessions it may make at most (CHURN_MS for a longer run). */
const CHURN_MS = Number(process.env.CHURN_MS ?? 15000);
const MAX_SESSIONS = 20000;
const WORKERS = 10;
const LOBBIES = 20;

/**
 * The longest each kind of key may live, from docs/redis-layout.md "Expiry": the room's log and
 * its clientId acks live as long as retention (HISTORY_MAX_AGE_MS, 24 h here), read cursors and a
 * user's index of them 30 days, a room's webhook counter a day.
 */
const LONGEST: Record<string, number> = {
  'room:*:seq': DAY,
  'room:*:gen': DAY,
  'room:*:history': DAY,
  'room:*:ids': DAY,
  'room:*:edits': DAY,
  'room:*:updates': DAY,
  'room:*:reactors': DAY,
  'room:*:client:*': DAY,
  'room:*:uclient:*': DAY,
  'room:*:hooks': DAY,
  'room:*:reads': 30 * DAY,
  'user:*:cursors': 30 * DAY,
};

/** A key's kind: its name without prefix, tag, room, user, instance or clientId. */
function kindOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length).replace(/^\{[^}]*\}/, '');
  const room = /^room:[^:]+:([a-z]+)/.exec(rest);
  if (room)
    return ['client', 'uclient', 'inst'].includes(room[1])
      ? `room:*:${room[1]}:*`
      : `room:*:${room[1]}`;
  if (rest.startsWith('user:')) return rest.replace(/^user:.*:([a-z]+)$/, 'user:*:$1');
  return rest.replace(/inst:[^:]+/, 'inst:*');
}

/**
 * Issue #27 item 17: what a bounded run of user churn leaves in Redis, by kind of key, with each
 * kind's expiry and bytes, on a Redis of the test's own (so its memory is this run's alone).
 * Each session is a new user (open mode: the worst case, every user new): connect, join a busy
 * room, a room of its own and a room it never writes in, send to the first two with a clientId,
 * react, read, ask for unread counts, type, leave, disconnect. The figures go to docs/redis-layout.md.
 */
describe('keys left behind by user churn (a Redis of its own)', () => {
  let redisServer: RedisServer;
  let cluster: TestCluster;
  let redis: Redis;

  beforeAll(async () => {
    await requireServices('rabbitmq');
    redisServer = await startRedisServer();
    cluster = await startCluster({
      label: 'churn',
      gateways: 1,
      env: { REDIS_URL: redisServer.url },
      gatewayEnv: {
        RATE_LIMIT_EVENTS_PER_SEC: '5000',
        RATE_LIMIT_EVENTS_BURST: '5000',
        MAX_CONNECTIONS_PER_IP: '1000',
      },
    });
    redis = new Redis(redisServer.url);
  }, 60000);

  afterAll(async () => {
    await redis?.quit();
    await cluster?.stop();
    await redisServer?.stop();
  }, 30000);

  it('leaves only keys that expire within their kind’s bound, and says what a session costs', async () => {
    const prefix = cluster.env.REDIS_PREFIX;
    const url = cluster.gateways[0].url;
    const memory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    const before = await memory();
    let sessions = 0;
    const deadline = Date.now() + CHURN_MS;
    const session = async (w: number, i: number) => {
      const c = await connectClient(url, `churner-${w}-${i}`);
      try {
        const lobby = `lobby-${(w * 7 + i) % LOBBIES}`;
        const own = `own-${w}-${i}`;
        // Joined and left without a word: it should leave nothing behind.
        const quiet = `quiet-${w}-${i}`;
        for (const room of [lobby, own, quiet]) {
          const joined = await c.ack<AnyAck>('room:join', { room });
          if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined.error)}`);
        }
        const sent = await c.ack<AnyAck & SendResult>('message:send', {
          room: lobby,
          text: `hello from ${w}-${i}`,
          clientId: `c-${i}`,
        });
        await c.ack('message:send', { room: own, text: 'note to self', clientId: `c-${i}` });
        await c.ack('message:react', {
          room: lobby,
          id: sent.id,
          emoji: '\u{1F44D}',
          on: true,
          clientId: `r-${i}`,
        });
        await c.ack('room:read', { room: lobby, seq: Number.MAX_SAFE_INTEGER });
        await c.ack('rooms:unread', {});
        await c.ack('typing', { room: lobby, typing: true });
        for (const room of [lobby, own, quiet]) await c.ack('room:leave', { room });
        sessions++;
      } finally {
        c.close();
      }
    };
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let i = 0; Date.now() < deadline && sessions < MAX_SESSIONS; i++) await session(w, i);
      }),
    );
    await waitFor(
      async () => (await cluster.getStats()).connections === 0,
      10000,
      'every churner gone from presence',
    );

    const named = new RedisKeys(prefix);
    const lasting = new Set([named.instances(), named.instancesSeen(), named.layout()]);
    const kinds = new Map<
      string,
      { keys: number; bytes: number; minTtl: number; maxTtl: number }
    >();
    const forever: string[] = [];
    const tooLong: string[] = [];
    let shared = 0;
    /** Bytes of the keys a session leaves (not the busy rooms'), by how long they stay. */
    const ownBytes = { day: 0, month: 0 };
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        const [ttl, bytes] = await Promise.all([
          redis.pttl(key),
          redis.memory('USAGE', key, 'SAMPLES', '0') as Promise<number | null>,
        ]);
        if (ttl === -2) continue; // expired since SCAN listed it
        const kind = kindOf(key, prefix);
        if (/}room:lobby-\d+:[a-z]+$/.test(key) || !/room:|user:/.test(kind)) shared++;
        else if (ttl > DAY) ownBytes.month += bytes ?? 0;
        else ownBytes.day += bytes ?? 0;
        if (ttl === -1 && !lasting.has(key)) forever.push(key);
        if (ttl > (LONGEST[kind] ?? Infinity)) tooLong.push(`${kind}: ${ttl} ms`);
        const k = kinds.get(kind) ?? { keys: 0, bytes: 0, minTtl: Infinity, maxTtl: -1 };
        k.keys++;
        k.bytes += bytes ?? 0;
        k.minTtl = Math.min(k.minTtl, ttl);
        k.maxTtl = Math.max(k.maxTtl, ttl);
        kinds.set(kind, k);
      }
    } while (cursor !== '0');
    const after = await memory();

    const total = [...kinds.values()].reduce((s, k) => s + k.keys, 0);
    // Per session: what is not the busy rooms' own log and cursors, the instances or the locks.
    const perSession = (total - shared) / sessions;
    const bytes = [...kinds.values()].reduce((s, k) => s + k.bytes, 0);
    const hours = (ms: number) => (ms < 0 ? 'none' : `${(ms / 3600000).toFixed(1)} h`);
    const lines = [...kinds.entries()]
      .sort((a, b) => b[1].keys - a[1].keys)
      .map(
        ([kind, k]) =>
          `| \`${kind}\` | ${k.keys} | ${(k.keys / sessions).toFixed(2)} | ${Math.round(k.bytes / k.keys)} | ${hours(k.minTtl)} - ${hours(k.maxTtl)} |`,
      );
    process.stdout.write(
      [
        `[churn] ${sessions} sessions in ${CHURN_MS} ms (${WORKERS} at a time, ${LOBBIES} busy rooms)`,
        `[churn] ${total} keys, ${shared} of them the busy rooms' and the instances', ${perSession.toFixed(2)} per session; MEMORY USAGE ${bytes} B (${Math.round(bytes / sessions)} B per session); used_memory +${after - before} B (${Math.round((after - before) / sessions)} B per session)`,
        `[churn] a session's own keys: ${Math.round(ownBytes.day / sessions)} B kept up to 24 h, ${Math.round(ownBytes.month / sessions)} B kept up to 30 days`,
        '| kind | keys | per session | bytes per key | expiry left |',
        '| --- | --- | --- | --- | --- |',
        ...lines,
        '',
      ].join('\n'),
    );
    expect(sessions).toBeGreaterThan(20);
    expect(forever).toEqual([]);
    expect(tooLong).toEqual([]);
    expect(await redis.keys(`${prefix}*quiet-*`)).toEqual([]);
    // A session's own room (seq, gen, history, ids, its clientId ack, the user's cursor there),
    // its clientId acks in the busy room (a send, a reaction) and the user's index: 9.
    expect(perSession).toBeLessThanOrEqual(9);
  }, 120000);
});
