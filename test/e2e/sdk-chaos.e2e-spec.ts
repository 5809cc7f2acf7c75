import { createClient, type Client, type ResetNotice, type Room } from '@roomcast/client';
import {
  AMQP_URL,
  connectClient,
  exited,
  requireServices,
  startCluster,
  startNginx,
  startRedisServer,
  startService,
  startTcpProxy,
  stopNginx,
  stopService,
  waitFor,
  type RedisServer,
  type RunningNginx,
  type RunningService,
  type TcpProxy,
  type TestCluster,
} from '@roomcast/testing';
import type { Message } from '@roomcast/contracts';
import { signToken, TEST_JWT_SECRET as SECRET } from '../suites/tokens';

/**
 * Every token the clients get lives this long: each is refreshed in-band, a fifth of its life
 * (1.6 s) before it expires. That lead is longer than the Redis restart below as the gateways
 * see it (0.2 to 1.2 s, their reconnect), so a refresh that falls into it is retried in time. An
 * outage longer than the lead ends the session (`token_expired`, retry): with 5 s tokens and
 * Redis down for a second, CI saw that once.
 */
const TOKEN_S = 8;
const ROOMS = ['chaos-a', 'chaos-b', 'chaos-c'];
const CLIENTS = 10;
/** Each client's pause between two changes (a send, or an edit of one of its messages). */
const STEP_MS = 250;
/** Load between two faults, and after the last. */
const CALM_MS = 3000;

const token = (sub: string, seconds = TOKEN_S) => signToken(sub, seconds);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a message shows, for comparing a client's room with the server's history. */
const shown = (m: Message) => ({
  id: m.id,
  seq: m.seq,
  text: m.text,
  deleted: m.deleted ?? false,
  reactions: m.reactions ?? {},
});

/** One SDK user and everything it saw and was told. */
interface User {
  id: string;
  client: Client;
  rooms: Room[];
  /** Promises of its changes, by kind, with how many times each settled. */
  settles: Map<string, number>;
  sent: Map<string, { room: string; id: string }>;
  refused: string[];
  resets: ResetNotice[];
  ends: string[];
  /** Connections it had (a `session` each). */
  sessions: number;
  /** Tokens it fetched while live: in-band refreshes. */
  refreshes: number;
}

/**
 * The SDK's guarantees under faults (issue 30): ten clients through nginx in front of 3
 * gateways, in 3 rooms, sending and editing all the time while, in turn, the gateway they are
 * on is killed -9 and started again, that gateway's broker link is cut and restored, Redis is
 * restarted, and every token (8 s) is refreshed in-band by getToken before it runs out. At the
 * end every client's room equals the server's history (ids, seqs, texts, reactions), every change
 * settled exactly once, and every accepted message is held once.
 */
describe('@roomcast/client under faults (3 gateways behind nginx, 10 clients)', () => {
  let redis: RedisServer;
  let cluster: TestCluster;
  let nginx: RunningNginx;
  const proxies: TcpProxy[] = [];
  const gateways: (RunningService | undefined)[] = [];
  const users: User[] = [];

  /** Gateway i, its broker link through proxy i (so the test can cut it alone). */
  const startGateway = async (i: number, port?: number) => {
    gateways[i] = await startService(
      'gateway',
      {
        ...cluster.env,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxies[i].port}`,
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        INSTANCE_ID: cluster.gatewayId(i),
        RATE_LIMIT_PER_SEC: '50',
        RATE_LIMIT_BURST: '100',
        RATE_LIMIT_EVENTS_PER_SEC: '200',
        RATE_LIMIT_EVENTS_BURST: '400',
      },
      port,
    );
  };

  beforeAll(async () => {
    await requireServices('rabbitmq');
    redis = await startRedisServer({ persist: true });
    cluster = await startCluster({ label: 'chaos', gateways: 0, env: { REDIS_URL: redis.url } });
    const brokerPort = Number(new URL(AMQP_URL).port || 5672);
    for (let i = 0; i < 3; i++) proxies.push(await startTcpProxy(brokerPort));
    for (let i = 0; i < 3; i++) await startGateway(i);
    nginx = await startNginx({
      gateways: gateways.map((g) => `127.0.0.1:${g!.port}`),
      api: `127.0.0.1:${cluster.api.port}`,
    });
  }, 90000);

  afterAll(async () => {
    for (const u of users) u.client.close();
    for (const g of gateways) if (g) stopService(g, 'SIGKILL');
    await Promise.all(gateways.map((g) => g && exited(g.child)));
    if (nginx) await stopNginx(nginx);
    await cluster?.stop();
    for (const p of proxies) await p.close();
    await redis?.stop();
  }, 60000);

  /** The gateway the clients are on (nginx sends every loopback client to one). */
  const hosting = () => {
    const serverId = lastServerId.get(users[0].id);
    const i = gateways.findIndex((_, n) => cluster.gatewayId(n) === serverId);
    if (i < 0) throw new Error(`no gateway named ${String(serverId)}`);
    return i;
  };
  const lastServerId = new Map<string, string>();

  it('keeps every room whole and every change settled once', async () => {
    for (let n = 0; n < CLIENTS; n++) {
      const id = `u-chaos-${n}`;
      const client = createClient({
        url: nginx.url,
        auth: {
          getToken: () => {
            if (users[n]?.client.state === 'live') users[n].refreshes++;
            return token(id);
          },
        },
        socket: { transports: ['websocket'] },
        backoff: { baseMs: 200, capMs: 2000 },
        ackTimeoutMs: 5000,
      });
      const user: User = {
        id,
        client,
        rooms: [],
        settles: new Map(),
        sent: new Map(),
        refused: [],
        resets: [],
        ends: [],
        sessions: 0,
        refreshes: 0,
      };
      client.on('session', (s) => {
        lastServerId.set(id, s.serverId);
        user.sessions++;
      });
      client.on('end', (e) => user.ends.push(e.reason));
      for (const name of [ROOMS[n % 3], ROOMS[(n + 1) % 3]]) {
        const room = client.room(name);
        room.on('reset', (r) => user.resets.push(r));
        user.rooms.push(room);
      }
      users.push(user);
    }
    await waitFor(
      () => users.every((u) => u.rooms.every((r) => r.status === 'joined')),
      15000,
      'every client in its rooms',
    );

    // The load: each client sends, or edits one of its accepted messages, every STEP_MS.
    let running = true;
    let changes = 0;
    const settle = (u: User, key: string) => u.settles.set(key, (u.settles.get(key) ?? 0) + 1);
    const loops = users.map(async (u, n) => {
      for (let step = 0; running; step++) {
        const room = u.rooms[step % 2];
        const key = `${u.id}#${step}`;
        changes++;
        const mine = [...u.sent.values()].filter((s) => s.room === room.name);
        if (step % 3 === 2 && mine.length > 0) {
          const target = mine[step % mine.length];
          void room.edit(target.id, `edited by ${u.id} at ${step}`).then(
            () => settle(u, key),
            (err: Error) => (settle(u, key), u.refused.push(`edit ${key}: ${err.message}`)),
          );
        } else {
          void room.send(`${u.id} says ${step}`).then(
            (ack) => (settle(u, key), u.sent.set(key, { room: room.name, id: ack.id })),
            (err: Error) => (settle(u, key), u.refused.push(`send ${key}: ${err.message}`)),
          );
        }
        await sleep(STEP_MS + (n % 5) * 10);
      }
    });

    await sleep(CALM_MS);
    // 1. The clients' gateway dies (kill -9) and comes back on its port.
    const dead = hosting();
    const port = gateways[dead]!.port;
    stopService(gateways[dead]!, 'SIGKILL');
    await exited(gateways[dead]!.child);
    await sleep(1500);
    await startGateway(dead, port);
    await sleep(CALM_MS);
    // 2. The broker link of the gateway they are on now is cut, then restored.
    const cut = hosting();
    proxies[cut].cut();
    await sleep(3000);
    proxies[cut].restore();
    await sleep(CALM_MS);
    // 3. Redis restarts (with what it held, as a production Redis does), at once.
    await redis.stop();
    await redis.start();
    await sleep(CALM_MS);
    running = false;
    await Promise.all(loops);

    // Every change settles, once.
    await waitFor(
      () => users.reduce((n, u) => n + u.settles.size, 0) === changes,
      60000,
      'every change to settle',
    );
    for (const u of users) expect([...u.settles.values()].filter((k) => k !== 1)).toEqual([]);

    // Every room of every client equals the server's history, once the clients caught up.
    const reader = await connectClient(gateways[0]!.url, undefined, {
      auth: { token: await token('u-chaos-reader', 600) },
    });
    const history = new Map<string, ReturnType<typeof shown>[]>();
    for (const room of ROOMS) {
      await reader.ok('room:join', { room });
      const all: Message[] = [];
      for (let after = 0; ;) {
        const page = await reader.ok<{ messages: Message[] }>('room:history', {
          room,
          afterSeq: after,
          limit: 100,
        });
        all.push(...page.messages);
        if (page.messages.length < 100) break;
        after = page.messages[page.messages.length - 1].seq;
      }
      history.set(room, all.map(shown));
    }
    reader.close();
    await waitFor(
      () =>
        users.every((u) =>
          u.rooms.every(
            (r) =>
              JSON.stringify(r.messages.filter((m) => !m.pending).map(shown)) ===
              JSON.stringify(history.get(r.name)),
          ),
        ),
      15000,
      "every client's rooms to equal the history",
    ).catch(() => undefined);
    for (const u of users) {
      for (const r of u.rooms) {
        const held = r.messages.filter((m) => !m.pending).map(shown);
        const reset = u.resets.find((x) => x.room === r.name);
        const server = history.get(r.name)!;
        if (reset) {
          // What the reset names as lost may differ; everything else must match.
          expect(held.filter((m) => m.seq <= reset.afterSeq)).toEqual(
            server.filter((m) => m.seq <= reset.afterSeq),
          );
        } else {
          expect({ user: u.id, room: r.name, held }).toEqual({
            user: u.id,
            room: r.name,
            held: server,
          });
        }
      }
      // Each accepted message once in the server's history, and held once by its sender.
      for (const { room, id } of u.sent.values()) {
        expect(history.get(room)!.filter((m) => m.id === id)).toHaveLength(1);
      }
      // The tokens were refreshed in-band before they ran out: none ended a connection.
      expect(u.ends.filter((e) => e === 'token_expired')).toEqual([]);
      expect(u.refreshes).toBeGreaterThanOrEqual(1);
      // The kill -9 moved every client to another gateway: at least a second connection.
      expect(u.sessions).toBeGreaterThanOrEqual(2);
    }
    const accepted = users.reduce((n, u) => n + u.sent.size, 0);
    process.stdout.write(
      `[sdk chaos] ${changes} changes, ${accepted} messages accepted, ` +
        `${users.reduce((n, u) => n + u.refused.length, 0)} refused for good, ` +
        `${users.reduce((n, u) => n + u.resets.length, 0)} resets, ` +
        `${users.reduce((n, u) => n + u.sessions, 0)} connections, ` +
        `${users.reduce((n, u) => n + u.refreshes, 0)} in-band refreshes\n`,
    );
    expect(accepted).toBeGreaterThan(CLIENTS * 10);
  }, 180000);
});
