import { RedisKeys } from '@roomcast/store';
import {
  connectClient,
  startCluster,
  requireServices,
  waitFor,
  type AnyAck,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { alive, historyAfter, isOk, sleep, type Send } from './sends';

const ROOM = 'busy';
/** Longer than the gateway's worst case (a Redis command's ~3.5 s, then the publish's 4 s). */
const ACK_TIMEOUT_MS = 10000;
/** Between a sender's sends, ok or not: a steady, bounded load. */
const GAP_MS = 50;
/** The room's history keeps 1000 messages: stay well below, so every accepted one is still there. */
const MAX_ACCEPTED = 800;

/**
 * A failover under load: a room's Redis master is killed (kill -9) while three users on three
 * gateways keep sending to it with clientIds, retrying a failed send with the same clientId as a
 * careful client does. The replica takes over; the users must see only answers they can act on,
 * chat resuming by itself, and every message acked ok in the room's history, once.
 */
describe('a Redis master killed under a busy room (3 masters, 1 replica each)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('rabbitmq');
    cluster = await startCluster({
      label: 'failover',
      gateways: 3,
      redisCluster: { masters: 3, replicasPerMaster: 1 },
    });
    process.stdout.write(
      `Redis Cluster of 3 masters with a replica each started in ${cluster.redisCluster!.startMs} ms\n`,
    );
  }, 90000);

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stop();
  }, 30000);

  it('answers every send within the ack timeout, resumes by itself and loses no acked message', async () => {
    const names = ['Ann', 'Bob', 'Cat'];
    for (const [i, name] of names.entries()) {
      const c = await connectClient(cluster.gateways[i].url, name, { timeoutMs: ACK_TIMEOUT_MS });
      clients.push(c);
      expect(await c.ack('room:join', { room: ROOM })).toMatchObject({ ok: true });
    }
    const seqKey = new RedisKeys(cluster.env.REDIS_PREFIX).roomSeq(ROOM);
    const master = await cluster.redisCluster!.masterFor(seqKey);

    const sends: Send[] = [];
    let accepted = 0;
    let killedAt = Infinity;
    let stopAt = Date.now() + 40000;
    /** One user's loop: the next clientId once the last one was acked ok, the same one if not. */
    const sender = async (c: TestClient, name: string) => {
      for (let k = 0; Date.now() < stopAt && accepted < MAX_ACCEPTED;) {
        const clientId = `${name}-${k}`;
        const sentAt = Date.now();
        const ack = await c
          .ack<AnyAck>('message:send', { room: ROOM, text: `${name} ${k}`, clientId })
          .catch(() => 'timeout' as const);
        const send: Send = { clientId, sentAt, ms: Date.now() - sentAt, ack };
        sends.push(send);
        if (isOk(send)) {
          accepted++;
          k++;
          // Once chat is back, a few more seconds show it stays back.
          if (sentAt > killedAt && stopAt > Date.now() + 3000) stopAt = Date.now() + 3000;
        }
        await sleep(GAP_MS);
      }
    };
    const loops = clients.map((c, i) => sender(c, names[i]));

    await waitFor(() => accepted >= 30, 10000, 'the room busy before the kill');
    await cluster.redisCluster!.kill(master.port);
    killedAt = Date.now();
    await Promise.all(loops);

    const after = sends.filter((s) => s.sentAt > killedAt);
    const firstOk = after.find(isOk);
    const errors = sends.flatMap((s) => (s.ack !== 'timeout' && !s.ack.ok ? [s.ack] : []));
    const unavailable = errors.filter((a) => a.error?.code === 'UNAVAILABLE');
    const timeouts = sends.filter((s) => s.ack === 'timeout');
    const ok = sends.filter(isOk);
    const promoted = await cluster.redisCluster!.masterFor(seqKey);

    // What the users see afterwards: every ok-acked message once, in the room's history.
    const history = await historyAfter(clients[0], ROOM, Math.min(...ok.map((s) => s.ack.seq)) - 1);
    const inHistory = new Map(history.map((m) => [m.id, m]));
    const lost = ok.filter((s) => inHistory.get(s.ack.id)?.seq !== s.ack.seq);
    const byClientId = new Map<string, number>();
    for (const m of history) byClientId.set(m.clientId!, (byClientId.get(m.clientId!) ?? 0) + 1);

    process.stdout.write(
      `[failover] killed master :${master.port} of ${seqKey}, now served by :${promoted.port}; ` +
        `first successful send ${firstOk ? firstOk.sentAt + firstOk.ms - killedAt : 'never'} ms after the kill; ` +
        `${sends.length} sends, ${ok.length} ok, ${unavailable.length} UNAVAILABLE, ` +
        `${errors.length - unavailable.length} other errors, ${timeouts.length} without an ack; ` +
        `slowest ack ${Math.max(...sends.map((s) => s.ms))} ms; acked lost ${lost.length}\n`,
    );

    expect(promoted.port).not.toBe(master.port);
    expect(timeouts).toEqual([]);
    // Only answers a client can act on: UNAVAILABLE, in the gateway's words, not Redis's.
    for (const a of errors) {
      expect(a.error).toEqual({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/^[\w ]+ is not answering; retry later$/),
        retryAfterMs: 1000,
      });
    }
    expect(firstOk).toBeDefined();
    // Back for good: the sends of the last 2 s were all accepted.
    const tail = sends.filter((s) => s.sentAt > Math.max(...sends.map((x) => x.sentAt)) - 2000);
    expect(tail.filter((s) => !isOk(s))).toEqual([]);
    expect(lost.map((s) => s.clientId)).toEqual([]);
    expect([...byClientId].filter(([, n]) => n > 1)).toEqual([]);
    // A retried clientId got the first send's ack, however many tries it took.
    const acksOf = new Map<string, string>();
    for (const s of ok) {
      const seen = acksOf.get(s.clientId);
      expect(seen === undefined || seen === JSON.stringify(s.ack)).toBe(true);
      acksOf.set(s.clientId, JSON.stringify(s.ack));
    }

    // Each member got every accepted message once, in seq order.
    const okSeqs = [...new Set(ok.map((s) => s.ack.seq))].sort((a, b) => a - b);
    for (const c of clients) {
      await waitFor(
        () => okSeqs.every((seq) => c.messages.some((m) => m.seq === seq)),
        10000,
        'every accepted message at every member',
      );
      const got = c.messages.filter((m) => m.room === ROOM).map((m) => m.seq);
      expect(got.every((seq, i) => i === 0 || seq > got[i - 1])).toBe(true);
    }
    // Nothing crashed: every gateway, presence and stats still serves.
    for (const s of [...cluster.gateways, ...cluster.presences, cluster.api]) {
      expect(alive(s)).toBe(true);
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
    }
  }, 60000);
});
