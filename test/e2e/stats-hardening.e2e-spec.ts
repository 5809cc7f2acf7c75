import { PresenceStore } from '@roomcast/store';
import {
  exited,
  runPrefix,
  startRedisServer,
  startService,
  stopService,
  waitFor,
  type RedisServer,
  type RunningService,
} from '@roomcast/testing';
import Redis from 'ioredis';

const TOKEN = 'stats-hardening-token-0123456789';
const ROOMS = 3000;
const PRIVATE = 30;
const INSTANCES = ['gw-a', 'gw-b'];
const WINDOW_MS = 3000;
const MAX_FAILURES = 5;

interface RoutingBody {
  rooms: { room: string; instances: string[] }[];
  next?: string;
}

/**
 * The stats service's hardening (issue 27, items 12 and 15), against a Redis of the test's own
 * holding 3,000 rooms: the routing map comes in pages that cover every room once, and a page or
 * a poll of /admin/state reads a bounded number of rooms however many there are (counted with
 * Redis's own INFO commandstats); the operations page's headers; failed sign-ins throttled.
 */
describe('stats: bounded routing map and /admin/state, page headers, sign-in throttle', () => {
  let redis: RedisServer;
  let client: Redis;
  let stats: RunningService;
  const prefix = `${runPrefix('stats-hard')}:`;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const expected = new Map<string, string[]>();

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    // Small groups as listpacks would answer a ZSCAN whole: make every ranking a hash table, so
    // the walk goes through ZSCAN cursors and cuts batches, as it does with many rooms per group.
    await client.config('SET', 'zset-max-ziplist-entries', '4');
    const store = new PresenceStore(client, prefix);
    const names = [
      ...Array.from({ length: ROOMS }, (_, i) => `room-${i}`),
      ...Array.from({ length: PRIVATE }, (_, i) => `private-p${i}`),
    ];
    // Ten rooms per connection; a room's connections on one or both instances.
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(
        names.slice(i, i + 500).map(async (room, j) => {
          const n = i + j;
          const socket = `s${Math.floor(n / 10)}`;
          const user = { id: `u${Math.floor(n / 10)}`, name: `U${n}` };
          const on = n % 3 === 0 ? INSTANCES : [INSTANCES[n % 2]];
          for (const instance of on)
            await store.join(instance, `${instance}-${socket}`, user, room);
          expected.set(room, [...on].sort());
        }),
      );
    }
    stats = await startService('api', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      STATS_TOKEN: TOKEN,
      SIGNIN_MAX_FAILURES: String(MAX_FAILURES),
      SIGNIN_WINDOW_MS: String(WINDOW_MS),
    });
  }, 120000);

  afterAll(async () => {
    if (stats) {
      stopService(stats, 'SIGKILL');
      await exited(stats.child);
    }
    client?.disconnect();
    await redis?.stop();
  }, 30000);

  /** How many times Redis ran each command while `run` ran (INFO commandstats). */
  async function commandsDuring<T>(run: () => Promise<T>): Promise<[T, Record<string, number>]> {
    await client.config('RESETSTAT');
    const result = await run();
    const info = await client.info('commandstats');
    const calls: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    return [result, calls];
  }

  const get = (path: string, headers: Record<string, string> = auth) =>
    fetch(`${stats.url}${path}`, { headers });

  it.each([100, 37])(
    'walks the routing map in pages of %i: every room once, then no next',
    async (limit) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 2 * (ROOMS + PRIVATE); pages++) {
        const q = new URLSearchParams({ limit: String(limit) });
        if (cursor) q.set('cursor', cursor);
        const res = await get(`/stats/routing?${q.toString()}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as RoutingBody;
        expect(body.rooms.length).toBeLessThanOrEqual(limit);
        for (const r of body.rooms) {
          expect([r.room, r.instances]).toEqual([r.room, expected.get(r.room)]);
          seen.push(r.room);
        }
        cursor = body.next;
        if (cursor === undefined) break;
      }
      expect(cursor).toBeUndefined();
      expect(seen.length).toBe(ROOMS + PRIVATE);
      expect(new Set(seen).size).toBe(ROOMS + PRIVATE);
    },
    120000,
  );

  it('reads about one page of rooms per routing request, not the whole map', async () => {
    const [body, calls] = await commandsDuring(async () =>
      (await get('/stats/routing?limit=100')).json(),
    );
    expect((body as RoutingBody).rooms).toHaveLength(100);
    // One HKEYS per listed room, a ZCARD per ranking, a few ZSCANs: nothing per room of the map.
    expect(calls.hkeys).toBe(100);
    expect(calls.zscan).toBeLessThanOrEqual(16);
    expect(calls.zrange ?? 0).toBe(0);
    // The default page.
    const first = (await (await get('/stats/routing')).json()) as RoutingBody;
    expect(first.rooms).toHaveLength(100);
    expect(first.next).toEqual(expect.any(String));
  });

  it('answers a poll of /admin/state with a bounded read: the busiest rooms and one routing page', async () => {
    const [res, calls] = await commandsDuring(() => get('/admin/state'));
    expect(res.status).toBe(200);
    const text = await res.text();
    const state = JSON.parse(text) as {
      rooms: { room: string; instances: string[] }[];
      routing: RoutingBody['rooms'];
      routedRooms: number;
    };
    expect(state.routedRooms).toBe(ROOMS + PRIVATE);
    expect(state.routing).toHaveLength(200);
    expect(state.rooms).toHaveLength(20);
    for (const r of state.rooms) expect(r.instances).toEqual(expected.get(r.room));
    // 200 routing rows and 20 busiest rooms (their instances, then their connections).
    expect(calls.hkeys).toBe(220);
    expect(calls.hvals).toBe(20);
    // The one ZRANGE is the instances' list (/stats's); no ranking is read whole.
    expect(calls.zrange ?? 0).toBeLessThanOrEqual(1);
    expect(Buffer.byteLength(text)).toBeLessThan(32 * 1024);
  });

  it('refuses a bad limit or cursor with 400', async () => {
    for (const q of [
      'limit=0',
      'limit=501',
      'limit=abc',
      'limit=1e2',
      'cursor=%2A',
      'cursor=Zm9v',
    ]) {
      expect([q, (await get(`/stats/routing?${q}`)).status]).toEqual([q, 400]);
    }
    expect((await get('/stats/routing?limit=500')).status).toBe(200);
  });

  it('sends the operations page and its data with anti-framing and nosniff headers, no X-Powered-By', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` };
    for (const [path, headers] of [
      ['/admin', basic],
      ['/admin/state', basic],
      ['/admin', {}],
      ['/stats', auth],
    ] as const) {
      const res = await get(path, headers);
      expect([path, res.status < 500]).toEqual([path, true]);
      expect([path, res.headers.get('x-powered-by')]).toEqual([path, null]);
      expect([path, res.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
      expect([path, res.headers.get('x-frame-options')]).toEqual([path, 'DENY']);
    }
    const page = await get('/admin', basic);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  });

  it('throttles failed sign-ins per address: 429 with Retry-After, even for the right token, until the window ends', async () => {
    const basic = (password: string) => ({
      authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
    });
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES; i++)
      statuses.push((await get('/admin', basic(`guess-${i}`))).status);
    expect(statuses).toEqual(Array.from({ length: MAX_FAILURES }, () => 401));
    const blocked = await get('/admin', basic('guess-x'));
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(await blocked.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringMatching(/sign-ins/) },
    });
    // The right password is held back too (and so is Bearer on the Stats API).
    expect((await get('/admin', basic(TOKEN))).status).toBe(429);
    expect((await get('/stats')).status).toBe(429);
    // After the window the right one signs in.
    await waitFor(
      async () => (await get('/admin', basic(TOKEN))).status === 200,
      WINDOW_MS + 3000,
      'a sign-in once the window ended',
    );
  }, 20000);
});
