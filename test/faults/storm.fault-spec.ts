import type { PresenceNotice } from '@roomcast/contracts';
import {
  connectClient,
  exited,
  readMetric,
  requireServices,
  startCluster,
  startRedisServer,
  stopService,
  waitFor,
  type RedisServer,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';

const USERS = 3000;
const ROOMS = 300;
/** Users with a second connection, on another gateway, in the same room. */
const DUALS = 100;

const roomOf = (i: number) => `storm-${i % ROOMS}`;
const report = (line: string) => process.stdout.write(`[storm] ${line}\n`);

interface RoomStats {
  users: number;
  connections: number;
}

/**
 * A reconnect storm (issue 12): a gateway with 3,000 sockets in 300 rooms is killed and its
 * clients come back on the other two within 5 s. Presence has two replicas and a Redis of the
 * test's own.
 */
describe('a gateway with 3,000 sockets dies and they all reconnect elsewhere', () => {
  let redisServer: RedisServer;
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
    redisServer = await startRedisServer();
    cluster = await startCluster({
      label: 'storm',
      gateways: 3,
      presenceReplicas: 2,
      env: { REDIS_URL: redisServer.url },
      gatewayEnv: { MAX_CONNECTIONS_PER_IP: '10000', PRESENCE_TIMEOUT_MS: '20000' },
      keepLogs: 200,
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await redisServer?.stop();
  }, 60000);

  /** Connects `names` to a gateway and joins each to its room, `batch` at a time. */
  async function connectAll(
    names: { name: string; room: string; gateway: number }[],
    batch = 150,
  ): Promise<TestClient[]> {
    const out: TestClient[] = [];
    for (let i = 0; i < names.length; i += batch) {
      const group = await Promise.all(
        names.slice(i, i + batch).map(async ({ name, room, gateway }) => {
          const c = await connectClient(cluster.gateways[gateway].url, name, { timeoutMs: 20000 });
          clients.push(c);
          const ack = await c.ack<{ ok: boolean }>('room:join', { room });
          if (!ack.ok) throw new Error(`join of ${name} failed: ${JSON.stringify(ack)}`);
          return c;
        }),
      );
      out.push(...group);
    }
    return out;
  }

  const stats = {
    all: () => cluster.getStats(),
    room: async (room: string) =>
      (await (await fetch(`${cluster.api.url}/stats/rooms/${room}`)).json()) as RoomStats,
  };

  it('converges to exact counts within 2 s of the last reconnect, with no false leave notice', async () => {
    const users = Array.from({ length: USERS }, (_, i) => ({ name: `s${i}`, room: roomOf(i) }));
    // Gateway 1 holds the 3,000; gateway 2 the second connections; gateway 3 one watcher per room.
    const doomed = await connectAll(users.map((u) => ({ ...u, gateway: 0 })));
    await connectAll(users.slice(0, DUALS).map((u) => ({ ...u, gateway: 1 })));
    const watchers = await connectAll(
      Array.from({ length: ROOMS }, (_, k) => ({ name: `w${k}`, room: `storm-${k}`, gateway: 2 })),
    );
    const expected = { online: USERS + ROOMS, connections: USERS + DUALS + ROOMS };
    const before = await stats.all();
    expect(before).toMatchObject({ ...expected, rooms: ROOMS });
    const applied = () =>
      Promise.all(
        cluster.presences.map((p) => readMetric(p.url, 'roomcast_presence_applied_total')),
      );
    const appliedBefore = await applied();
    for (const w of watchers) w.presence.length = 0;

    const killedAt = Date.now();
    stopService(cluster.gateways[0], 'SIGKILL');
    await exited(cluster.gateways[0].child);
    for (const c of doomed) c.close();
    // Back as fast as this process can connect them, spread over gateways 2 and 3.
    await connectAll(
      users.map((u, i) => ({ ...u, gateway: 1 + (i % 2) })),
      300,
    );
    const lastReconnect = Date.now();
    report(`reconnected ${USERS} clients in ${lastReconnect - killedAt} ms after the kill`);

    const exact = async () => {
      const s = await stats.all();
      if (s.online !== expected.online || s.connections !== expected.connections) return false;
      if (s.rooms !== ROOMS || s.instances.length !== 2) return false;
      const rooms = await Promise.all(
        Array.from({ length: ROOMS }, (_, k) => stats.room(`storm-${k}`)),
      );
      return rooms.every((r) => r.users === USERS / ROOMS + 1);
    };
    await waitFor(exact, 15000, 'exact counts after the storm', 100);
    const convergedAt = Date.now();
    const after = Math.max(0, convergedAt - lastReconnect);
    report(
      `counts exact ${after} ms after the last reconnect (${convergedAt - killedAt} ms after the kill)`,
    );
    expect(after).toBeLessThanOrEqual(2000);

    // Work shared by both replicas: what each applied over the storm, and its rate.
    const appliedAfter = await applied();
    const seconds = (convergedAt - killedAt) / 1000;
    const perReplica = appliedAfter.map((n, i) => n - appliedBefore[i]);
    report(
      `presence applied ${perReplica.join(' + ')} events in ${seconds.toFixed(1)} s ` +
        `(${perReplica.map((n) => Math.round(n / seconds)).join(' + ')} events/s)`,
    );
    for (const n of perReplica) expect(n).toBeGreaterThan(0);

    // No leave notice for a user who stayed connected elsewhere the whole time.
    const notices: PresenceNotice[] = watchers.flatMap((w) => w.presence);
    const duals = new Set(users.slice(0, DUALS).map((u) => u.name));
    expect(notices.filter((n) => n.event === 'leave' && duals.has(n.user.name))).toEqual([]);
    // Each other user's last notice, if any, says it is back.
    const last = new Map<string, PresenceNotice>();
    for (const n of notices) last.set(`${n.room}/${n.user.id}`, n);
    expect([...last.values()].filter((n) => n.event === 'leave')).toEqual([]);
    report(
      `${notices.filter((n) => n.event === 'leave').length} leave and ` +
        `${notices.filter((n) => n.event === 'join').length} join notices reached the watchers`,
    );
  }, 240000);
});
