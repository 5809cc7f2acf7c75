import type { Message } from '@roomcast/contracts';
import { gatewayQueueName, roomRoutingKey } from '@roomcast/contracts';
import {
  connectClient,
  readMetric,
  startCluster,
  startRabbitCluster,
  startRedisCluster,
  stopService,
  waitFor,
  exited,
  type AnyAck,
  type RabbitCluster,
  type RabbitNode,
  type RedisCluster,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { chatSuite } from '../suites/chat.suite';
import { onClusters } from '../suites/deployment';
import {
  alive,
  historyAfter,
  isOk,
  sleep,
  type AcceptedSend,
  type Send as BaseSend,
} from './sends';

/** A send, and which gateway (0-based) its sender is on. */
interface Send extends BaseSend {
  gateway: number;
}

const ROOM = 'busy';
/** Only the second gateway has a member here: no other gateway may be bound to it. */
const QUIET = 'quiet';
/** Longer than a gateway's worst case: a publish's 4 s timeout after a Redis append. */
const ACK_TIMEOUT_MS = 10000;
const GAP_MS = 50;
/** The room's history keeps 1000 messages: both rounds together stay well below. */
const MAX_ACCEPTED_PER_ROUND = 300;
const UNUSED = 'roomcast_broker_deliveries_unused_total';

/**
 * roomcast on a RabbitMQ cluster of 3 nodes (and a Redis Cluster of 3 masters): the e2e chat
 * suite with the gateways spread over the nodes, then broker nodes stopped under a busy room.
 * Each cluster is started once for the file and stopped at its end.
 */
describe('on a RabbitMQ cluster of 3 nodes and a Redis Cluster of 3 masters', () => {
  let rabbit: RabbitCluster | undefined;
  let redis: RedisCluster | undefined;

  beforeAll(async () => {
    const [r, s] = await Promise.allSettled([
      startRabbitCluster({ nodes: 3 }),
      startRedisCluster({ masters: 3 }),
    ]);
    if (r.status === 'fulfilled') rabbit = r.value;
    if (s.status === 'fulfilled') redis = s.value;
    if (r.status === 'rejected') throw r.reason;
    if (s.status === 'rejected') throw s.reason;
    process.stdout.write(
      `RabbitMQ cluster of 3 nodes started in ${rabbit!.startMs} ms, ` +
        `Redis Cluster of 3 masters in ${redis!.startMs} ms\n`,
    );
  }, 150000);

  afterAll(async () => {
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 60000);

  const deployment = onClusters(
    'a RabbitMQ cluster of 3 nodes and a Redis Cluster of 3 masters',
    () => rabbit!,
    () => redis!,
  );
  chatSuite(deployment, (ctx) => {
    it('spreads the gateways over the broker nodes, one each', async () => {
      const c = ctx.cluster();
      expect(c.gateways).toHaveLength(3);
      const names = [0, 1, 2].flatMap((i) => [
        `${c.gatewayId(i)}/consume`,
        `${c.gatewayId(i)}/publish`,
      ]);
      const nodes = await rabbit!.nodesOfConnections(names);
      const [n1, n2, n3] = rabbit!.nodes.map((n) => n.name);
      expect(nodes.map((n) => n?.name)).toEqual([n1, n1, n2, n2, n3, n3]);
    });
  });

  describe('a broker node stopped under a busy room', () => {
    let cluster: TestCluster;
    const clients: TestClient[] = [];
    /** Per gateway: a sender and a listener, all in ROOM; the second gateway's also in QUIET. */
    const senders: TestClient[] = [];
    const accepted: AcceptedSend<Send>[] = [];

    beforeAll(async () => {
      cluster = await startCluster({
        label: 'brokerfail',
        gateways: 3,
        rabbitCluster: rabbit!,
        redisCluster: redis!,
      });
      for (let i = 0; i < 3; i++) {
        for (const role of ['send', 'listen']) {
          const c = await connectClient(cluster.gateways[i].url, `${role}${i + 1}`, {
            timeoutMs: ACK_TIMEOUT_MS,
          });
          clients.push(c);
          if (role === 'send') senders.push(c);
          expect(await c.ack('room:join', { room: ROOM })).toMatchObject({ ok: true });
        }
      }
      expect(await clients[3].ack('room:join', { room: QUIET })).toMatchObject({ ok: true });
    }, 90000);

    afterAll(async () => {
      for (const c of clients.splice(0)) c.close();
      await cluster?.stop();
    }, 30000);

    /**
     * The broker's room bindings of each gateway's queue on the run's exchange, sorted (each
     * queue also has its gateway's own key, `gateway.<id>`, from its start: not a room's).
     */
    const bindings = (): Promise<string[][]> =>
      rabbit!.roomBindings(
        rabbit!.nodes.find((n) => n.name !== stopped?.name)!,
        cluster.env.EXCHANGE,
        cluster.gateways.map((_, i) =>
          gatewayQueueName(cluster.env.EXCHANGE, cluster.gatewayId(i)),
        ),
      );
    let stopped: RabbitNode | undefined;

    /** What the users saw through a node's stop, as {@link stopNodeUnderLoad} found it. */
    interface StopOutcome {
      /** clientIds of the sends that got no ack within ACK_TIMEOUT_MS. */
      timeouts: string[];
      /** Error acks other than UNAVAILABLE in the gateway's words. */
      otherErrors: unknown[];
      /** How many of the 3 senders were accepted again after the stop. */
      sendersBack: number;
      /** clientIds accepted under two seqs (a message accepted twice). */
      acceptedTwice: string[];
      /** Per member: accepted messages it never got, and whether it got ROOM's in seq order. */
      members: { missing: number; inOrder: boolean }[];
      /** The broker's bindings of each gateway's queue. */
      bindings: string[][];
      /** Each gateway's deliveries of a room it no longer hosts. */
      unused: number[];
      /** The services (app:port) no longer running. */
      dead: string[];
    }

    /** The outcome when the users saw nothing but UNAVAILABLE answers and chat going on. */
    const chattedThrough = (): StopOutcome => ({
      timeouts: [],
      otherErrors: [],
      sendersBack: 3,
      acceptedTwice: [],
      members: clients.map(() => ({ missing: 0, inOrder: true })),
      // Bindings exactly as needed: the room at every gateway, QUIET at the second only.
      bindings: [
        [roomRoutingKey(ROOM)],
        [roomRoutingKey(QUIET), roomRoutingKey(ROOM)].sort(),
        [roomRoutingKey(ROOM)],
      ],
      unused: [0, 0, 0],
      dead: [],
    });

    /**
     * Stops `node` (rabbitmqctl stop_app) while the three senders send to ROOM, retrying a failed
     * send with the same clientId, until every sender has been accepted again for 3 s; restores
     * the node and returns what the users saw, for the test to judge.
     */
    async function stopNodeUnderLoad(node: RabbitNode, moved: number): Promise<StopOutcome> {
      const presenceQueue = cluster.env.PRESENCE_QUEUE;
      const movedId = cluster.gatewayId(moved);

      const sends: Send[] = [];
      let stoppedAt = Infinity;
      let stoppedDoneAt = Infinity;
      let stopAt = Date.now() + 45000;
      const backAt = new Map<number, number>();
      let count = 0;
      const sender = async (c: TestClient, i: number) => {
        for (let k = 0; Date.now() < stopAt && count < MAX_ACCEPTED_PER_ROUND;) {
          const clientId = `r${moved}-s${i}-${k}`;
          const sentAt = Date.now();
          const ack = await c
            .ack<AnyAck>('message:send', { room: ROOM, text: `${i}:${k}`, clientId })
            .catch(() => 'timeout' as const);
          const send: Send = { gateway: i, clientId, sentAt, ms: Date.now() - sentAt, ack };
          sends.push(send);
          if (isOk(send)) {
            count++;
            k++;
            if (sentAt > stoppedDoneAt && !backAt.has(i)) backAt.set(i, sentAt + send.ms);
            // Every sender back: a few more seconds show chat stays back.
            if (backAt.size === 3 && stopAt > Date.now() + 3000) stopAt = Date.now() + 3000;
          }
          await sleep(GAP_MS);
        }
      };
      const loops = senders.map((c, i) => sender(c, i));
      await waitFor(() => count >= 30, 10000, 'the room busy before the stop');

      // What presence says while the node is away, every 100 ms.
      const expected = { connections: 6, users: 6 };
      let lastWrongAt = 0;
      let watching = true;
      const watchPresence = (async () => {
        while (watching) {
          const s = await cluster.getStats().catch(() => undefined);
          const room = await fetch(`${cluster.api.url}/stats/rooms/${ROOM}`)
            .then((r) => r.json() as Promise<{ users?: number }>)
            .catch(() => undefined);
          if (s?.connections !== expected.connections || room?.users !== expected.users) {
            lastWrongAt = Date.now();
          }
          await sleep(100);
        }
      })();

      // Each gateway's broker link (its /ready), every 50 ms: when it was down.
      const down = cluster.gateways.map(() => ({ from: 0, to: 0 }));
      const watchReady = (async () => {
        while (watching) {
          await Promise.all(
            cluster.gateways.map(async (g, i) => {
              const ready = await fetch(`${g.url}/ready`)
                .then((r) => r.ok)
                .catch(() => false);
              if (!ready) {
                down[i].from ||= Date.now();
                down[i].to = Date.now();
              }
            }),
          );
          await sleep(50);
        }
      })();

      stopped = node;
      stoppedAt = Date.now();
      await rabbit!.stopApp(node);
      stoppedDoneAt = Date.now();
      try {
        const stopMs = stoppedDoneAt - stoppedAt;
        const movedAt = (await waitFor(
          async () => {
            const on = await rabbit!.nodeOfConnection(`${movedId}/consume`).catch(() => undefined);
            return on && on.name !== node.name ? Date.now() : false;
          },
          20000,
          `${movedId} consuming on another node`,
          100,
        )) as number;
        const leader = (await waitFor(
          async () => {
            const l = await rabbit!.leaderOf(presenceQueue).catch(() => undefined);
            return l && l.name !== node.name ? l : false;
          },
          20000,
          'a new leader of the presence queue',
          100,
        )) as RabbitNode;
        await Promise.all(loops);
        // Presence exact again, and for a second in a row.
        await waitFor(() => Date.now() - lastWrongAt > 1000, 15000, 'presence exact again');
        watching = false;
        await Promise.all([watchPresence, watchReady]);

        const ok = sends.filter(isOk);
        const errors = sends.flatMap((s) => (s.ack !== 'timeout' && !s.ack.ok ? [s.ack] : []));
        const timeouts = sends.filter((s) => s.ack === 'timeout');
        const errorsOf = (i: number) =>
          sends.filter((s) => s.gateway === i && s.ack !== 'timeout' && !s.ack.ok).length;
        const seqs = ok.map((s) => s.ack.seq);
        const unused = await Promise.all(cluster.gateways.map((g) => readMetric(g.url, UNUSED)));
        process.stdout.write(
          `[broker failover] stop_app ${node.name} (gateway ${movedId} and the presence queue's ` +
            `leader) took ${stopMs} ms; broker link down per gateway ${down
              .map((d) => (d.from ? `${d.to - d.from} ms from +${d.from - stoppedAt}` : 'never'))
              .join(' / ')}; ${movedId} seen on another node ${movedAt - stoppedAt} ms after the ` +
            `stop began; new leader ${leader.name}; UNAVAILABLE per gateway ${[0, 1, 2]
              .map((i) => errorsOf(i))
              .join(' / ')}; first accepted send per gateway after the stop ${[0, 1, 2]
              .map((i) => (backAt.get(i) ?? NaN) - stoppedDoneAt)
              .join(' / ')} ms; ${sends.length} sends, ${ok.length} ok, ${errors.length} errors ` +
            `(${[...new Set(errors.map((e) => e.error?.code))].join(',') || 'none'}), ` +
            `${timeouts.length} without an ack, slowest ack ${Math.max(...sends.map((s) => s.ms))} ms; ` +
            `presence last wrong ${lastWrongAt > stoppedAt ? lastWrongAt - stoppedAt : 'never'} ms ` +
            `after the stop; unused deliveries ${unused.join('/')}\n`,
        );

        // Only answers a client can act on: UNAVAILABLE, in the gateway's words, not the broker's,
        // with its retryAfterMs hint and nothing else.
        const otherErrors = errors.filter(
          (a) =>
            a.error?.code !== 'UNAVAILABLE' ||
            !/^[\w ]+ is not answering; retry later$/.test(a.error.message) ||
            JSON.stringify(Object.keys(a.error).sort()) !==
              JSON.stringify(['code', 'message', 'retryAfterMs']) ||
            !Number.isInteger((a.error as { retryAfterMs?: number }).retryAfterMs),
        );
        // A retried clientId got one seq: a message accepted twice would show two.
        const seqsOf = new Map<string, Set<number>>();
        for (const s of ok)
          seqsOf.set(s.clientId, (seqsOf.get(s.clientId) ?? new Set()).add(s.ack.seq));
        accepted.push(...ok);
        // Every member got every accepted message exactly once, in seq order.
        const want = [...new Set(seqs)];
        const has = (c: TestClient, seq: number) =>
          c.messages.some((m) => m.room === ROOM && m.seq === seq);
        await waitFor(
          () => clients.every((c) => want.every((seq) => has(c, seq))),
          10000,
          'every accepted message at every member',
        ).catch(() => undefined); // the outcome says who missed what
        const members = clients.map((c) => {
          const got = c.messages.filter((m: Message) => m.room === ROOM).map((m) => m.seq);
          return {
            missing: want.filter((seq) => !has(c, seq)).length,
            inOrder: got.every((seq, i) => i === 0 || seq > got[i - 1]),
          };
        });
        return {
          timeouts: timeouts.map((s) => s.clientId),
          otherErrors,
          sendersBack: backAt.size,
          acceptedTwice: [...seqsOf].filter(([, set]) => set.size > 1).map(([id]) => id),
          members,
          bindings: await bindings(),
          unused,
          dead: [...cluster.gateways, ...cluster.presences, cluster.api]
            .filter((s) => !alive(s))
            .map((s) => {
              // What a process that died said last: the assertion below names it only.
              process.stdout.write(`[broker failover] ${s.app}:${s.port} died; it said:\n`);
              process.stdout.write(`${s.logs.join('').slice(-4000)}\n`);
              return `${s.app}:${s.port}`;
            }),
        };
      } finally {
        watching = false;
        stopAt = 0;
        await Promise.all(loops);
        const restoreAt = Date.now();
        await rabbit!.startApp(node);
        stopped = undefined;
        process.stdout.write(
          `[broker failover] ${node.name} back in the cluster in ${Date.now() - restoreAt} ms\n`,
        );
      }
    }

    it('keeps the members of the gateway on the stopped node (and the leader) chatting', async () => {
      // Presence (its first replica) and the first gateway start at node 1, which leads the
      // presence queue: the presence replica declared it there.
      const node = rabbit!.nodes[0];
      expect((await rabbit!.leaderOf(cluster.env.PRESENCE_QUEUE)).name).toBe(node.name);
      expect((await rabbit!.nodeOfConnection(`${cluster.gatewayId(0)}/consume`))?.name).toBe(
        node.name,
      );
      expect(await stopNodeUnderLoad(node, 0)).toEqual(chattedThrough());
    }, 120000);

    it('does it again for the node of the new leader and another gateway', async () => {
      const leader = await rabbit!.leaderOf(cluster.env.PRESENCE_QUEUE);
      let moved = -1;
      for (const [i] of cluster.gateways.entries()) {
        const on = await rabbit!.nodeOfConnection(`${cluster.gatewayId(i)}/consume`);
        if (on?.name === leader.name && i !== 0) moved = i;
      }
      expect(moved).toBeGreaterThan(0);
      expect(await stopNodeUnderLoad(leader, moved)).toEqual(chattedThrough());
      // Nothing accepted in either round is missing from the room's history or there twice.
      const history = await historyAfter(
        clients[0],
        ROOM,
        Math.min(...accepted.map((s) => s.ack.seq)) - 1,
      );
      const byId = new Map(history.map((m) => [m.id, m.seq]));
      expect(accepted.filter((s) => byId.get(s.ack.id) !== s.ack.seq)).toEqual([]);
      expect(new Set(history.map((m) => m.clientId)).size).toBe(history.length);
    }, 120000);

    it('removes a gateway killed with kill -9 once its queue stays gone for the grace time', async () => {
      const victim = cluster.gateways[2];
      const id = cluster.gatewayId(2);
      const killedAt = Date.now();
      stopService(victim, 'SIGKILL');
      await exited(victim.child);
      await waitFor(
        async () => !(await cluster.getStats()).instances.some((i) => i.id === id),
        10000,
        'the killed gateway gone from /stats',
      );
      const ms = Date.now() - killedAt;
      process.stdout.write(`[broker failover] killed gateway gone from /stats in ${ms} ms\n`);
      // QUEUE_GONE_GRACE_MS is 3000 with several broker URLs, checks every 500 ms.
      expect(ms).toBeGreaterThanOrEqual(3000);
      expect(ms).toBeLessThanOrEqual(5000);
      await waitFor(
        () => clients[0].presence.some((p) => p.event === 'leave' && p.user.name === 'send3'),
        5000,
        "the room's leave notice",
      );
    }, 30000);
  });
});
