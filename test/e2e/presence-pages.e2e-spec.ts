import { gatewayQueueName, type User } from '@roomcast/contracts';
import { PresenceStore } from '@roomcast/store';
import {
  AMQP_URL,
  connectClient,
  exited,
  REDIS_URL,
  requireServices,
  startCluster,
  startService,
  stopService,
  waitFor,
  type RunningService,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import amqplib from 'amqplib';
import Redis from 'ioredis';

interface MembersAck {
  ok: boolean;
  members: User[];
  next?: string;
}
interface RoomStatsBody {
  room: string;
  users: number;
  connections: number;
  members: User[];
  next?: string;
}
interface RoutingBody {
  rooms: { room: string; instances: string[] }[];
}

const MEMBERS = 1000;
const TOKEN = 'pages-e2e-stats-token-0123456789';

/**
 * Member pages and the routing map against real processes: 3 gateways, presence and stats, with
 * 1,000 socket.io clients spread over the gateways in one room.
 */
describe('member pages and the routing map (3 gateways, 1,000 members)', () => {
  let cluster: TestCluster;
  /** A second stats process on the same Redis, with STATS_TOKEN: it shows private rooms. */
  let tokenStats: RunningService;
  const clients: TestClient[] = [];
  const closeAll = (some: TestClient[]) => {
    for (const c of some) {
      c.close();
      clients.splice(clients.indexOf(c), 1);
    }
  };

  /** Connects `names[i]` to gateway i % 3, a batch of 100 at a time. */
  const connectSpread = async (names: string[]): Promise<TestClient[]> => {
    const out: TestClient[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const batch = await Promise.all(
        names
          .slice(i, i + 100)
          .map((name, j) => connectClient(cluster.gateways[(i + j) % 3].url, name)),
      );
      clients.push(...batch);
      out.push(...batch);
    }
    return out;
  };
  /**
   * Joins in batches of 100. Each join sends a presence notice to every member already there, so
   * 1,000 joins cost about 500,000 notices, most of the suite's time; acks get time to match.
   */
  const joinAll = async (some: TestClient[], room: string) => {
    for (let i = 0; i < some.length; i += 100) {
      const acks = await Promise.all(
        some.slice(i, i + 100).map((c) => c.ack<{ ok: boolean }>('room:join', { room }, 20000)),
      );
      expect(acks.every((a) => a.ok)).toBe(true);
    }
  };
  const getJson = async <T>(path: string, service = cluster.api): Promise<T> => {
    const headers: Record<string, string> =
      service === tokenStats ? { authorization: `Bearer ${TOKEN}` } : {};
    const res = await fetch(`${service.url}${path}`, { headers });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const routing = async (service = cluster.api) =>
    Object.fromEntries(
      (await getJson<RoutingBody>('/stats/routing', service)).rooms.map((r) => [
        r.room,
        r.instances,
      ]),
    );
  /**
   * The routing map restricted to `rooms` (a room absent: no entry), read at once: joins and
   * leaves are acked once presence applied them (read-your-writes).
   */
  const routingIs = async (rooms: string[], expected: Record<string, string[]>) => {
    expect(await routingOf(rooms)).toEqual(expected);
  };
  const routingOf = async (rooms: string[]) => {
    const map = await routing();
    return Object.fromEntries(rooms.filter((r) => map[r]).map((r) => [r, map[r]]));
  };
  /** A disconnect has no ack: wait for the map to show it. */
  const routingBecomes = (rooms: string[], expected: Record<string, string[]>) =>
    waitFor(
      async () => JSON.stringify(await routingOf(rooms)) === JSON.stringify(expected),
      5000,
      `routing ${JSON.stringify(expected)}`,
    );

  /** Every page of `room:members` as one client sees it. */
  const walkSocket = async (client: TestClient, room: string, limit?: number) => {
    const pages: MembersAck[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.ack<MembersAck>('room:members', {
        room,
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit === undefined ? {} : { limit }),
      });
      expect(page.ok).toBe(true);
      pages.push(page);
      cursor = page.next;
    } while (cursor !== undefined && pages.length < 50);
    return pages;
  };
  /** Every page of `GET /stats/rooms/:room`. */
  const walkStats = async (room: string, limit?: number) => {
    const pages: RoomStatsBody[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams();
      if (cursor !== undefined) q.set('cursor', cursor);
      if (limit !== undefined) q.set('limit', String(limit));
      pages.push(await getJson<RoomStatsBody>(`/stats/rooms/${room}?${q.toString()}`));
      cursor = pages[pages.length - 1].next;
    } while (cursor !== undefined && pages.length < 200);
    return pages;
  };
  /** No duplicate, none missing, in order, full pages but the last, no `next` on the last. */
  const expectWalk = (pages: { members: User[]; next?: string }[], ids: string[], size: number) => {
    expect(pages).toHaveLength(Math.ceil(ids.length / size));
    for (const p of pages.slice(0, -1)) expect(p.members).toHaveLength(size);
    expect(pages[pages.length - 1].next).toBeUndefined();
    const seen = pages.flatMap((p) => p.members.map((m) => m.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(ids);
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'pages',
      // 1,000 loopback clients share one source address.
      gatewayEnv: { MAX_CONNECTIONS_PER_IP: '2000' },
    });
    tokenStats = await startService('api', { ...cluster.env, STATS_TOKEN: TOKEN });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (tokenStats) {
      stopService(tokenStats, 'SIGKILL');
      await exited(tokenStats.child);
    }
    await cluster?.stop();
  }, 30000);

  it('walks every page of a room of 1,000 over 3 gateways, by socket and by the Stats API', async () => {
    // Names m0000..m0999: in open mode the user id is derived from the name.
    const names = Array.from({ length: MEMBERS }, (_, i) => `m${String(i).padStart(4, '0')}`);
    const crowd = await connectSpread(names);
    await joinAll(crowd, 'crowd');
    // Every join was acked, so presence has applied them all (read-your-writes).
    expect((await getJson<RoomStatsBody>('/stats/rooms/crowd?limit=1')).users).toBe(MEMBERS);
    const byName = new Map(
      (await walkSocket(crowd[0], 'crowd', 500)).flatMap((p) => p.members).map((m) => [m.name, m]),
    );
    expect([...byName.keys()].sort()).toEqual(names);
    // Ids in Redis's (byte) order, as the pages come.
    const ids = [...byName.values()]
      .map((m) => m.id)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

    // From a member on each gateway, with limit 500 and with the default (100).
    for (const gw of [0, 1, 2]) {
      expectWalk(await walkSocket(crowd[gw], 'crowd', 500), ids, 500);
      expectWalk(await walkSocket(crowd[gw], 'crowd'), ids, 100);
    }
    for (const [limit, size] of [
      [500, 500],
      [undefined, 100],
      [7, 7],
    ] as const) {
      const pages = await walkStats('crowd', limit);
      expectWalk(pages, ids, size);
      expect(pages.every((p) => p.users === MEMBERS && p.connections === MEMBERS)).toBe(true);
    }

    // A second tab of a member is no new user; a new user is one more, on every gateway.
    const [tab, late] = await connectSpread(['m0500', 'late-comer']);
    const tabAck = await tab.ack<{ memberCount: number; members: User[] }>('room:join', {
      room: 'crowd',
    });
    expect(tabAck.memberCount).toBe(MEMBERS);
    expect(tabAck.members.map((m) => m.id)).toEqual(ids.slice(0, 100));
    expect((await getJson<RoomStatsBody>('/stats/rooms/crowd?limit=1')).connections).toBe(1001);
    const lateAck = await late.ack<{ memberCount: number }>('room:join', { room: 'crowd' });
    expect(lateAck.memberCount).toBe(MEMBERS + 1);
    expect((await getJson<RoomStatsBody>('/stats/rooms/crowd?limit=1')).users).toBe(1001);
    expect((await walkSocket(crowd[2], 'crowd', 500)).flatMap((p) => p.members)).toHaveLength(
      MEMBERS + 1,
    );
    expect(await routing()).toMatchObject({ crowd: [0, 1, 2].map((i) => cluster.gatewayId(i)) });

    closeAll([...crowd, tab, late]);
    await waitFor(
      async () => (await cluster.getStats()).connections === 0,
      10000,
      'every crowd connection gone',
    );
    // A disconnect takes the instance's connections first, then the rooms it was in (group by
    // group): the routing map follows within the contract's 1 s, not at the same instant.
    await waitFor(
      async () => Object.keys(await routing()).length === 0,
      1000,
      'the routing map empty within 1 s of the last disconnect',
    ).catch(() => undefined);
    expect(await routing()).toEqual({});
    expect((await cluster.getStats()).instances.map((i) => i.rooms)).toEqual([0, 0, 0]);
  }, 120000);

  it('lists an instance for a room exactly while it has a member there', async () => {
    const [g1, g2, g3] = [0, 1, 2].map((i) => cluster.gatewayId(i));
    const rooms = ['route-a', 'route-b'];
    // ann on gateway 1, bob on 2, cat on 3, and a second tab of ann on 3.
    const [ann, bob, cat] = await connectSpread(['ann', 'bob', 'cat']);
    const ann2 = await connectClient(cluster.gateways[2].url, 'ann');
    clients.push(ann2);
    const instRooms = async () =>
      Object.fromEntries((await cluster.getStats()).instances.map((i) => [i.id, i.rooms]));
    await routingIs(rooms, {});

    await ann.ack('room:join', { room: 'route-a' });
    await routingIs(rooms, { 'route-a': [g1] });
    await bob.ack('room:join', { room: 'route-a' });
    await cat.ack('room:join', { room: 'route-b' });
    await routingIs(rooms, { 'route-a': [g1, g2], 'route-b': [g3] });
    await ann2.ack('room:join', { room: 'route-a' });
    await routingIs(rooms, { 'route-a': [g1, g2, g3], 'route-b': [g3] });
    expect(await instRooms()).toEqual({ [g1]: 1, [g2]: 1, [g3]: 2 });

    // Ann leaves on gateway 1 but stays in the room through gateway 3.
    await ann.ack('room:leave', { room: 'route-a' });
    await routingIs(rooms, { 'route-a': [g2, g3], 'route-b': [g3] });
    expect(await instRooms()).toEqual({ [g1]: 0, [g2]: 1, [g3]: 2 });
    const page = await bob.ack<MembersAck>('room:members', { room: 'route-a' });
    expect(page.members.map((m) => m.name).sort()).toEqual(['ann', 'bob']);

    // Bob disconnects; Ann's second tab leaves: route-a is on no instance.
    closeAll([bob]);
    await routingBecomes(rooms, { 'route-a': [g3], 'route-b': [g3] });
    await ann2.ack('room:leave', { room: 'route-a' });
    await routingIs(rooms, { 'route-b': [g3] });
    expect(await instRooms()).toEqual({ [g1]: 0, [g2]: 0, [g3]: 1 });
    await cat.ack('room:join', { room: 'route-a' });
    await ann.ack('room:join', { room: 'route-b' });
    await routingIs(rooms, { 'route-a': [g3], 'route-b': [g1, g3] });
    closeAll([ann, cat, ann2]);
    await routingBecomes(rooms, {});
  }, 30000);

  it('shows private rooms in the routing map only to callers with the stats token', async () => {
    // Open mode refuses private rooms to sockets: write the membership as presence would.
    const redis = new Redis(REDIS_URL);
    const store = new PresenceStore(redis, cluster.env.REDIS_PREFIX);
    const instance = `${cluster.prefix}-elsewhere`;
    // Its queue, as a live gateway's: presence's liveness check keeps the instance meanwhile.
    const broker = await amqplib.connect(AMQP_URL);
    const channel = await broker.createChannel();
    await channel.assertQueue(gatewayQueueName(cluster.env.EXCHANGE, instance), {
      exclusive: true,
      autoDelete: true,
      durable: false,
    });
    try {
      await store.connect(instance, 'ops-socket', { id: 'u-ops', name: 'Ops' });
      const ops = { id: 'u-ops', name: 'Ops' };
      await store.join(instance, 'ops-socket', ops, 'private-ops');
      await store.join(instance, 'ops-socket', ops, 'lobby');
      expect(await getJson<RoutingBody>('/stats/routing')).toEqual({
        rooms: [{ room: 'lobby', instances: [instance] }],
      });
      expect(await getJson<RoutingBody>('/stats/routing', tokenStats)).toEqual({
        rooms: [
          { room: 'lobby', instances: [instance] },
          { room: 'private-ops', instances: [instance] },
        ],
      });
      const open = await fetch(`${tokenStats.url}/stats/routing`);
      expect(open.status).toBe(401);
    } finally {
      await store.removeInstance(instance);
      await redis.quit();
      await broker.close();
    }
    expect(await getJson<RoutingBody>('/stats/routing', tokenStats)).toEqual({ rooms: [] });
  });
});
