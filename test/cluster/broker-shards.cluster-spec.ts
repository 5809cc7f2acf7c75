import { clusterOf, gatewayQueueName, roomRoutingKey, type Message } from '@roomcast/contracts';
import {
  connectClient,
  startRabbitCluster,
  waitFor,
  type AnyAck,
  type RabbitCluster,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { chatSuite } from '../suites/chat.suite';
import type { Deployment } from '../suites/deployment';
import { alive, historyAfter, sleep } from './sends';

/** A send's ack wait: longer than a publish's 4 s timeout after a Redis append. */
const ACK_TIMEOUT_MS = 10000;
const API_TOKEN = 'api-token-for-the-broker-shards-test';
/** How long a room on the restarted cluster may take to serve again (a node boots in 5-10 s). */
const RECOVERED_WITHIN_MS = 30000;

/** The first `n` room names of `prefix` that AMQP_URL "A;B" puts on cluster `cluster` (0 = A). */
function roomsOn(cluster: number, prefix: string, n: number): string[] {
  const rooms: string[] = [];
  for (let i = 0; rooms.length < n; i++) {
    if (clusterOf(`${prefix}-${i}`, 2) === cluster) rooms.push(`${prefix}-${i}`);
  }
  return rooms;
}

/** A gateway's `roomcast_broker_cluster_up` for cluster `i` (0 = first of AMQP_URL). */
async function clusterUp(gatewayUrl: string, i: number): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('roomcast_broker_cluster_up{') && l.includes(`cluster="${i}"`));
  if (!line) throw new Error(`no roomcast_broker_cluster_up for cluster ${i} at ${gatewayUrl}`);
  return Number(line.trim().split(' ').at(-1));
}

/**
 * Rooms sharded over two independent RabbitMQ clusters (issue 33): two single nodes A and B stand
 * for them, every service has AMQP_URL "A;B". The e2e chat suite runs on it unchanged; then B's
 * Erlang VM is killed (kill -9): rooms on A go on across gateways, rooms on B answer UNAVAILABLE,
 * and once B is started again they serve again, with every acked message delivered and in
 * history.
 */
describe('on two RabbitMQ clusters (two single nodes, AMQP_URL "A;B")', () => {
  let a: RabbitCluster | undefined;
  let b: RabbitCluster | undefined;

  beforeAll(async () => {
    const [ra, rb] = await Promise.allSettled([
      startRabbitCluster({
        nodes: 1,
        prefix: `roomcast-shard-a-${process.pid}`,
        timeoutMs: 150000,
      }),
      startRabbitCluster({
        nodes: 1,
        prefix: `roomcast-shard-b-${process.pid}`,
        timeoutMs: 150000,
      }),
    ]);
    if (ra.status === 'fulfilled') a = ra.value;
    if (rb.status === 'fulfilled') b = rb.value;
    if (ra.status === 'rejected') throw ra.reason;
    if (rb.status === 'rejected') throw rb.reason;
    process.stdout.write(
      `[broker shards] RabbitMQ nodes A and B started in ${a!.startMs} and ${b!.startMs} ms\n`,
    );
  }, 200000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  }, 60000);

  const deployment: Deployment = {
    name: 'two RabbitMQ clusters (AMQP_URL "A;B")',
    requires: ['redis'],
    options: () => ({
      env: { AMQP_URL: `${a!.url};${b!.url}` },
      // The server API's publish, which must publish a room on the room's cluster too.
      apiEnv: { API_TOKEN },
    }),
  };

  chatSuite(deployment, (ctx) => {
    const [onA, freshOnA] = roomsOn(0, 'shard', 2);
    const [onB, freshOnB, laterOnB] = roomsOn(1, 'shard', 3);
    const clients: TestClient[] = [];
    /** A server API publish to `room`: its status, and its seq or the error code of a refusal. */
    const publish = async (room: string, text: string) => {
      const res = await fetch(`${ctx.cluster().api.url}/api/rooms/${room}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ text, user: { id: 'ops', name: 'Ops' } }),
      });
      const body = (await res.json()) as { seq?: number; error?: { code: string } };
      return { status: res.status, code: body.error?.code, seq: body.seq };
    };
    /**
     * Runs a test, then closes its clients and waits until /stats counts none (the suite's own
     * afterEach expects no connection left).
     */
    const withClients = async (test: () => Promise<void>) => {
      try {
        await test();
      } finally {
        await ctx.cluster().closeClients(clients);
      }
    };
    const connect = async (cluster: TestCluster, gateway: number, name: string) => {
      const c = await connectClient(cluster.gateways[gateway].url, name, {
        timeoutMs: ACK_TIMEOUT_MS,
      });
      clients.push(c);
      return c;
    };

    /** The room keys bound on a broker to the run's exchange, by gateway queue. */
    const roomBindings = (cluster: TestCluster, broker: RabbitCluster) =>
      broker.roomBindings(
        broker.nodes[0],
        cluster.env.EXCHANGE,
        cluster.gateways.map((_, i) =>
          gatewayQueueName(cluster.env.EXCHANGE, cluster.gatewayId(i)),
        ),
      );

    it(
      "binds each room on its own cluster's broker only, and chats in both",
      () =>
        withClients(async () => {
          const c = ctx.cluster();
          expect(clusterOf(onA, 2)).toBe(0);
          expect(clusterOf(onB, 2)).toBe(1);
          const ann = await connect(c, 0, 'Ann');
          const bob = await connect(c, 1, 'Bob');
          for (const room of [onA, onB]) {
            await ann.ok('room:join', { room });
            await bob.ok('room:join', { room });
          }
          expect(await roomBindings(c, a!)).toEqual([
            [roomRoutingKey(onA)],
            [roomRoutingKey(onA)],
            [],
          ]);
          expect(await roomBindings(c, b!)).toEqual([
            [roomRoutingKey(onB)],
            [roomRoutingKey(onB)],
            [],
          ]);
          // The presence queue on both: presence consumes its queue on every cluster.
          for (const broker of [a!, b!]) {
            const queues = await broker.ctl(
              broker.nodes[0],
              'list_queues',
              'name',
              '--formatter',
              'json',
            );
            expect((JSON.parse(queues) as { name: string }[]).map((q) => q.name)).toContain(
              c.env.PRESENCE_QUEUE,
            );
          }
          for (const room of [onA, onB]) {
            await ann.ok('message:send', { room, text: `hello ${room}` });
            await waitFor(
              () => bob.messages.some((m) => m.room === room && m.text === `hello ${room}`),
              5000,
              `Bob on gateway 2 got Ann's message in ${room}`,
            );
          }
          for (const g of c.gateways.slice(0, 2)) {
            expect(await clusterUp(g.url, 0)).toBe(1);
            expect(await clusterUp(g.url, 1)).toBe(1);
          }
        }),
      60000,
    );

    it(
      'keeps rooms on A going while B is killed, answers UNAVAILABLE on B, and recovers B',
      () =>
        withClients(async () => {
          const c = ctx.cluster();
          const ann = await connect(c, 0, 'Ann');
          const bob = await connect(c, 1, 'Bob');
          for (const room of [onA, onB]) {
            await ann.ok('room:join', { room });
            await bob.ok('room:join', { room });
          }
          const acked: { room: string; seq: number; text: string }[] = [];
          const firstSeq: Record<string, number> = {};
          let n = 0;
          /** One send by Ann; the ack's error code, or 'ok' (the message then counted as acked). */
          const send = async (room: string, clientId = `s${n++}`): Promise<string> => {
            const text = `${room} ${clientId}`;
            const ack = await ann
              .ack<AnyAck>('message:send', { room, text, clientId })
              .catch(() => 'no ack' as const);
            if (ack === 'no ack') return 'TIMEOUT';
            if (!ack.ok) return ack.error?.code ?? 'NO_CODE';
            const seq = Number(ack.seq);
            firstSeq[room] ??= seq - 1;
            acked.push({ room, seq, text });
            return 'ok';
          };
          for (let i = 0; i < 5; i++) {
            expect(await send(onA)).toBe('ok');
            expect(await send(onB)).toBe('ok');
          }

          const killedAt = Date.now();
          await b!.crash(b!.nodes[0]);
          // The gateways see B's connection drop (a reset, or at worst missed heartbeats).
          await waitFor(
            async () => (await clusterUp(c.gateways[0].url, 1)) === 0,
            20000,
            'gateway 1 sees cluster B down',
          );
          const unavailableAfterMs = await waitFor(
            async () => (await send(onB)) === 'UNAVAILABLE' || (await sleep(200), false),
            20000,
            `a send in ${onB} answered UNAVAILABLE`,
            0,
          ).then(() => Date.now() - killedAt);
          expect(await send(onB)).toBe('UNAVAILABLE');
          // A join that binds a room on B cannot: UNAVAILABLE, in the contract's words.
          expect(await bob.code('room:join', { room: freshOnB })).toBe('UNAVAILABLE');
          // So does a join of a room on B that the gateway has bound already (no broker call).
          const carl = await connect(c, 1, 'Carl');
          expect(await carl.code('room:join', { room: onB })).toBe('UNAVAILABLE');
          carl.close();
          // Rooms on A: sends, deliveries across gateways and fresh joins all go on.
          for (let i = 0; i < 10; i++) expect(await send(onA)).toBe('ok');
          expect(await bob.code('room:join', { room: freshOnA })).toBe('ok');
          await ann.ok('room:join', { room: freshOnA });
          const viaA = await bob.ack<AnyAck>('message:send', {
            room: freshOnA,
            text: 'still here',
          });
          expect(viaA.ok).toBe(true);
          await waitFor(
            () => ann.messages.some((m) => m.room === freshOnA && m.text === 'still here'),
            5000,
            'a message in a room on A delivered across gateways while B is down',
          );
          // Presence keeps both users (their sockets' changes and the gateways' heartbeats go
          // over A now): /stats still counts both connections.
          expect(await c.getStats()).toMatchObject({ connections: 2, online: 2 });
          // The server API: a room on A is published, a room on B answered 503 UNAVAILABLE.
          const apiOnA = await publish(onA, 'from the server API while B is down');
          expect(apiOnA.status).toBe(201);
          acked.push({ room: onA, seq: apiOnA.seq!, text: 'from the server API while B is down' });
          expect(await publish(onB, 'not now')).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
          // Readiness holds (rooms on A serve), and the gauge says which cluster is lost.
          for (const g of c.gateways.slice(0, 2)) {
            expect((await fetch(`${g.url}/ready`)).status).toBe(200);
            expect(await clusterUp(g.url, 0)).toBe(1);
            expect(await clusterUp(g.url, 1)).toBe(0);
          }

          const restartAt = Date.now();
          await b!.restart(b!.nodes[0]);
          const bootMs = Date.now() - restartAt;
          const recoveredAfterMs = await waitFor(
            async () => (await send(onB, `back-${n}`)) === 'ok' || (await sleep(200), false),
            RECOVERED_WITHIN_MS,
            `a send in ${onB} accepted again after B's restart`,
            0,
          ).then(() => Date.now() - restartAt);
          for (let i = 0; i < 5; i++) expect(await send(onB)).toBe('ok');
          const apiOnB = await waitFor(
            async () => {
              const r = await publish(onB, 'from the server API after the restart');
              return r.status === 201 ? r : (await sleep(200), undefined);
            },
            RECOVERED_WITHIN_MS,
            `a server API publish to ${onB} accepted after B's restart`,
            0,
          );
          acked.push({
            room: onB,
            seq: apiOnB.seq!,
            text: 'from the server API after the restart',
          });
          // The room on B that could not be joined while B was down can be now.
          expect(await bob.code('room:join', { room: laterOnB })).toBe('ok');
          expect(await bob.code('room:join', { room: freshOnB })).toBe('ok');

          await waitFor(
            async () => (await c.getStats()).connections === 2,
            5000,
            '/stats counting both connections after the restart',
          );
          // No acked message lost: each at Bob (on the other gateway) and in its room's history.
          for (const room of [onA, onB]) {
            const mine = acked.filter((m) => m.room === room);
            await waitFor(
              () => mine.every((m) => bob.messages.some((x) => x.room === room && x.seq === m.seq)),
              10000,
              `every acked message of ${room} at Bob`,
            );
            const history: Message[] = await historyAfter(bob, room, firstSeq[room]);
            const bySeq = new Map(history.map((m) => [m.seq, m.text]));
            expect(mine.filter((m) => bySeq.get(m.seq) !== m.text)).toEqual([]);
            // Bob got each acked message once and in seq order.
            const seqs = bob.messages.filter((m) => m.room === room).map((m) => m.seq);
            expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
          }
          // Both users stayed connected and present throughout: nobody was announced gone.
          expect(
            [ann, bob].flatMap((u) =>
              u.presence.filter((p) => p.event === 'leave' && [onA, onB].includes(p.room)),
            ),
          ).toEqual([]);
          for (const s of [...c.gateways, ...c.presences, c.api]) expect(alive(s)).toBe(true);
          process.stdout.write(
            `[broker shards] B killed: sends in ${onB} UNAVAILABLE after ${unavailableAfterMs} ms; ` +
              `B booted again in ${bootMs} ms, ${onB} accepted again ${recoveredAfterMs} ms after ` +
              `the restart began; ${acked.length} acked messages, none lost\n`,
          );
        }),
      120000,
    );
  });
});
