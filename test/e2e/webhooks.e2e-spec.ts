import amqplib from 'amqplib';
import { webhookQueues, type DeadLetter } from '@roomcast/delivery';
import {
  AMQP_URL,
  connectClient,
  exited,
  requireServices,
  startCluster,
  startService,
  stopService,
  startWebhookReceiver,
  waitFor,
  type AnyAck,
  type RunningService,
  type TestClient,
  type TestCluster,
  type WebhookReceiver,
} from '@roomcast/testing';

// A Standard Webhooks secret: whsec_ and the base64 of a 32-byte key.
const SECRET = `whsec_${Buffer.from('webhook-secret-0123456789-abcdef').toString('base64')}`;
const FAST_RETRIES = {
  WEBHOOK_RETRY_MS: '50',
  WEBHOOK_MAX_RETRY_MS: '300',
  WEBHOOK_REORDER_MS: '300',
  WEBHOOK_PARK_MS: '100',
};
const uniq = () => Math.random().toString(36).slice(2, 8);

/**
 * Webhooks (PROTOCOL.md, "Server API and webhooks"): real gateways and presence, receivers on
 * 127.0.0.1 that check each signature themselves and refuse the first attempts.
 */
describe('webhooks (2 gateways, presence sending)', () => {
  let cluster: TestCluster;
  let flaky: WebhookReceiver;
  let steady: WebhookReceiver;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    flaky = await startWebhookReceiver({ secret: SECRET, failFirst: 3 });
    steady = await startWebhookReceiver({ secret: SECRET });
    cluster = await startCluster({
      label: 'hooks',
      gateways: 2,
      presenceEnv: {
        WEBHOOK_URL: `${flaky.url},${steady.url}`,
        WEBHOOK_SECRET: SECRET,
        ...FAST_RETRIES,
      },
      gatewayEnv: { WEBHOOK_MESSAGES: 'true' },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
    await flaky?.close();
    await steady?.close();
  }, 30000);

  it('sends each room event once accepted, signed, in order, to every URL, retrying refusals', async () => {
    const room = `hooks-${uniq()}`;
    const ann = await connectClient(cluster.gateways[0].url, 'Ann');
    const bob = await connectClient(cluster.gateways[1].url, 'Bob');
    clients.push(ann, bob);
    expect((await ann.ack<AnyAck>('room:join', { room })).ok).toBe(true);
    expect((await bob.ack<AnyAck>('room:join', { room })).ok).toBe(true);
    expect((await ann.ack<AnyAck>('message:send', { room, text: 'hello' })).ok).toBe(true);
    expect((await ann.ack<AnyAck>('room:leave', { room })).ok).toBe(true);
    bob.close();
    const expected = [
      'room.occupied',
      'member.joined Ann',
      'member.joined Bob',
      'message.created hello',
      'member.left Ann',
      'member.left Bob',
      'room.vacated',
    ];
    for (const r of [flaky, steady])
      await waitFor(async () => r.roomLog(room).length >= expected.length, 15000, 'all events');
    expect(flaky.roomLog(room)).toEqual(expected);
    expect(steady.roomLog(room)).toEqual(expected);
    // The same events (same ids) at both URLs; the flaky one had its first three refused.
    expect(flaky.accepted().map((e) => e.id)).toEqual(steady.accepted().map((e) => e.id));
    expect(flaky.received.filter((r) => r.status === 503)).toHaveLength(3);
    expect([...flaky.received, ...steady.received].every((r) => r.signed)).toBe(true);
    const created = steady.accepted().find((e) => e.type === 'message.created');
    expect(created?.data).toMatchObject({ room, message: { text: 'hello', room } });
  }, 30000);
});

describe('webhooks: the sender restarts mid-backlog', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  let second: RunningService | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    receiver = await startWebhookReceiver({ secret: SECRET });
    cluster = await startCluster({
      label: 'hookrst',
      gateways: 2,
      presenceEnv: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, ...FAST_RETRIES },
    });
  }, 60000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (second) stopService(second, 'SIGKILL');
    await cluster?.stop();
    await receiver?.close();
  }, 30000);

  it('loses nothing and keeps each room in order when the sender is killed with a backlog', async () => {
    const rooms = Array.from({ length: 6 }, (_, i) => `rst-${uniq()}-${i}`);
    const expected = new Map<string, string[]>();
    receiver.setDown(true);
    const users = await Promise.all(
      Array.from({ length: 4 }, (_, i) => connectClient(cluster.gateways[i % 2].url, `U${i}`)),
    );
    clients.push(...users);
    // Each room: every user joins, then leaves in reverse order.
    for (const room of rooms) {
      const log = ['room.occupied'];
      for (const [i, u] of users.entries()) {
        expect((await u.ack<AnyAck>('room:join', { room })).ok).toBe(true);
        log.push(`member.joined U${i}`);
      }
      for (const [i, u] of [...users.entries()].reverse()) {
        expect((await u.ack<AnyAck>('room:leave', { room })).ok).toBe(true);
        log.push(`member.left U${i}`);
      }
      log.push('room.vacated');
      expected.set(room, log);
    }
    const total = [...expected.values()].reduce((n, l) => n + l.length, 0);
    // Let part of the backlog through, then kill the sender while the rest is still queued.
    receiver.setDown(false);
    await waitFor(async () => receiver.accepted().length >= 10, 10000, 'a first part sent');
    receiver.setDown(true);
    stopService(cluster.presence, 'SIGKILL');
    await exited(cluster.presence.child);
    expect(receiver.accepted().length).toBeLessThan(total);
    // A new presence process, the receiver back: everything arrives, each room in order.
    second = await startService('presence', {
      ...cluster.env,
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      ...FAST_RETRIES,
      INSTANCE_ID: `${cluster.prefix}-p2`,
    });
    receiver.setDown(false);
    await waitFor(async () => receiver.accepted().length >= total, 20000, 'the whole backlog');
    for (const room of rooms)
      expect([room, ...receiver.roomLog(room)]).toEqual([room, ...expected.get(room)!]);
    expect(receiver.accepted()).toHaveLength(total);
  }, 60000);
});

const API_TOKEN = 'api-token-0123456789abcdef';

/** Posts messages into a room through the server API, one after the other (each a webhook). */
async function post(cluster: TestCluster, room: string, texts: string[]): Promise<void> {
  for (const text of texts) {
    const res = await fetch(`${cluster.api.url}/api/rooms/${room}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text, user: { id: 'u1', name: 'Ann' } }),
    });
    expect(res.status).toBe(201);
  }
}

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const messages = (prefix: string, n: number) => texts(prefix, n).map((t) => `message.created ${t}`);

describe('webhooks: a failing room, redirects', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    receiver = await startWebhookReceiver({ secret: SECRET });
    cluster = await startCluster({
      label: 'hookiso',
      gateways: 1,
      env: { WEBHOOK_MESSAGES: 'true' },
      apiEnv: { API_TOKEN },
      // A window of 10 events: a room with more than 10 refused events filled it before.
      presenceEnv: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        ...FAST_RETRIES,
        WEBHOOK_PREFETCH: '10',
      },
    });
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
  }, 30000);

  it("delivers a room's events promptly while another room's keep being refused, then both in order", async () => {
    const bad = `bad-${uniq()}`;
    const good = `good-${uniq()}`;
    receiver.answer((e) => (e.data.room === bad ? 503 : undefined));
    await post(cluster, bad, texts('b', 30));
    await waitFor(
      async () => receiver.received.filter((r) => r.event.data.room === bad).length >= 3,
      5000,
      'the bad room refused',
    );
    const t0 = Date.now();
    await post(cluster, good, texts('g', 20));
    // Before the fix they waited for the refusal to end (the window of 10 held the bad room's).
    await waitFor(async () => receiver.roomLog(good).length >= 20, 3000, 'the good room sent');
    const tookMs = Date.now() - t0;
    expect(receiver.roomLog(good)).toEqual(messages('g', 20));
    expect(receiver.roomLog(bad)).toEqual([]);
    // The refusal ends: the bad room's events arrive, all of them, in order.
    receiver.answer(undefined);
    await waitFor(async () => receiver.roomLog(bad).length >= 30, 15000, 'the bad room sent');
    expect(receiver.roomLog(bad)).toEqual(messages('b', 30));
    console.log(`webhooks: 20 events of a good room in ${tookMs} ms beside a refused room`);
  }, 40000);

  it('takes a 301 or 302 as a failure: never followed, retried until the URL itself accepts', async () => {
    const room = `moved-${uniq()}`;
    const seen = new Map<string, number>();
    // Each event: 301 at its first attempt, 302 at its second, then accepted.
    receiver.answer((e) => {
      if (e.data.room !== room) return undefined;
      const n = (seen.get(e.id) ?? 0) + 1;
      seen.set(e.id, n);
      return n === 1 ? 301 : n === 2 ? 302 : undefined;
    });
    await post(cluster, room, texts('m', 3));
    await waitFor(async () => receiver.roomLog(room).length >= 3, 10000, 'the events accepted');
    receiver.answer(undefined);
    expect(receiver.roomLog(room)).toEqual(messages('m', 3));
    const statuses = receiver.received
      .filter((r) => r.event.data.room === room)
      .map((r) => r.status);
    expect(statuses.filter((s) => s === 301)).toHaveLength(3);
    expect(statuses.filter((s) => s === 302)).toHaveLength(3);
    expect(receiver.redirected).toEqual([]);
  }, 30000);
});

describe('webhooks: dead letters, the backlog limit, a removed URL', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  let other: WebhookReceiver;
  let presence: RunningService | undefined;
  /** The cluster's own presence is gone (restartPresence ran). */
  let started = false;
  let broker: amqplib.ChannelModel;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${cluster.api.url}/api/webhooks/dead-letters${path}`, {
      ...init,
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    });
  const deadLetters = async (): Promise<{ total: number; deadLetters: DeadLetter[] }> => {
    const res = await api('?limit=100');
    expect(res.status).toBe(200);
    return (await res.json()) as { total: number; deadLetters: DeadLetter[] };
  };
  const presenceEnv = (urls: string) => ({
    ...cluster.env,
    WEBHOOK_URL: urls,
    WEBHOOK_SECRET: SECRET,
    ...FAST_RETRIES,
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_QUEUE_MAX: '10',
  });
  /** Stops the running presence and starts one sending to `urls` (none: no sender). */
  const restartPresence = async (urls: string | undefined) => {
    const running = presence ?? (started ? undefined : cluster.presence);
    started = true;
    if (running) {
      stopService(running, 'SIGKILL');
      await exited(running.child);
    }
    presence = undefined;
    if (urls === undefined) return;
    presence = await startService('presence', {
      ...presenceEnv(urls),
      INSTANCE_ID: `${cluster.prefix}-p${uniq()}`,
    });
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    receiver = await startWebhookReceiver({ secret: SECRET });
    other = await startWebhookReceiver({ secret: SECRET });
    cluster = await startCluster({
      label: 'hookdlq',
      gateways: 1,
      env: { WEBHOOK_MESSAGES: 'true' },
      apiEnv: { API_TOKEN },
      presenceEnv: {
        WEBHOOK_URL: `${receiver.url},${other.url}`,
        WEBHOOK_SECRET: SECRET,
        ...FAST_RETRIES,
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_QUEUE_MAX: '10',
      },
    });
    broker = await amqplib.connect(AMQP_URL);
  }, 60000);

  afterAll(async () => {
    await broker?.close().catch(() => undefined);
    if (presence) stopService(presence, 'SIGKILL');
    await cluster?.stop();
    await receiver?.close();
    await other?.close();
  }, 30000);

  it('dead-letters an event after WEBHOOK_MAX_ATTEMPTS, lists it, and delivers it once replayed', async () => {
    const room = `dead-${uniq()}`;
    receiver.answer((e) => (e.data.room === room ? 503 : undefined));
    await post(cluster, room, texts('d', 2));
    await waitFor(async () => (await deadLetters()).total >= 2, 10000, 'two dead letters');
    const listed = await deadLetters();
    const queue = webhookQueues(cluster.env.WEBHOOK_QUEUE, receiver.url).main;
    expect(listed.total).toBe(2);
    expect(
      listed.deadLetters.map((d) => [
        (d.envelope as { event: { data: { message: { text: string } } } }).event.data.message.text,
        d.reason,
        d.queue,
        d.attempts,
        d.lastError,
      ]),
    ).toEqual([
      ['d0', 'attempts', queue, 3, 'HTTP 503'],
      ['d1', 'attempts', queue, 3, 'HTTP 503'],
    ]);
    // Exactly three attempts each; the other URL had them at once.
    const tries = receiver.received.filter((r) => r.event.data.room === room);
    expect(tries).toHaveLength(6);
    expect(other.roomLog(room)).toEqual(messages('d', 2));
    // Listing leaves them where they are, in their order.
    expect((await deadLetters()).deadLetters.map((d) => d.id)).toEqual(
      listed.deadLetters.map((d) => d.id),
    );
    // Bad input is the contract's error; no token, 401.
    const bad = await api('?limit=0');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_PAYLOAD');
    const noToken = await fetch(`${cluster.api.url}/api/webhooks/dead-letters`);
    expect(noToken.status).toBe(401);
    // Replayed (the receiver accepts again): delivered in order, the queue empty.
    receiver.answer(undefined);
    const res = await api('/replay', { method: 'POST', body: JSON.stringify({}) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      replayed: listed.deadLetters.map((d) => d.id),
      kept: 0,
      remaining: 0,
    });
    await waitFor(async () => receiver.roomLog(room).length >= 2, 10000, 'replayed events');
    expect(receiver.roomLog(room)).toEqual(messages('d', 2));
    expect(other.roomLog(room)).toEqual(messages('d', 2)); // not sent there twice
  }, 40000);

  it('keeps at most WEBHOOK_QUEUE_MAX events per URL, the oldest pushed out into the dead letters', async () => {
    const room = `flood-${uniq()}`;
    // No sender: the backlog fills.
    await restartPresence(undefined);
    await post(cluster, room, texts('f', 15));
    const queue = webhookQueues(cluster.env.WEBHOOK_QUEUE, receiver.url).main;
    const ch = await broker.createChannel();
    try {
      expect((await ch.checkQueue(queue)).messageCount).toBe(10);
    } finally {
      await ch.close();
    }
    // This room's: an event of an earlier test may come back to the backlog too (at least once:
    // its sender was stopped before the broker had its ack) and be pushed out with these.
    const pushedOut = (await deadLetters()).deadLetters.filter(
      (d) => d.queue === queue && (d.envelope as { room?: string }).room === room,
    );
    expect(
      pushedOut.map((d) => [
        (d.envelope as { event: { data: { message: { text: string } } } }).event.data.message.text,
        d.reason,
      ]),
    ).toEqual(texts('f', 5).map((t) => [t, 'overflow']));
    // A sender again: the ten newest arrive, in order.
    await restartPresence(`${receiver.url},${other.url}`);
    await waitFor(async () => receiver.roomLog(room).length >= 10, 10000, 'the backlog sent');
    expect(receiver.roomLog(room)).toEqual(messages('f', 15).slice(5));
  }, 40000);

  it('unbinds the queue of a URL taken out of WEBHOOK_URL: it gets no further event', async () => {
    const room = `gone-${uniq()}`;
    const gone = webhookQueues(cluster.env.WEBHOOK_QUEUE, other.url).main;
    await restartPresence(receiver.url);
    const ch = await broker.createChannel();
    try {
      const before = (await ch.checkQueue(gone)).messageCount;
      await post(cluster, room, texts('a', 3));
      await waitFor(async () => receiver.roomLog(room).length >= 3, 10000, 'the kept URL sent');
      expect((await ch.checkQueue(gone)).messageCount).toBe(before);
    } finally {
      await ch.close();
    }
    expect(other.roomLog(room)).toEqual([]);
  }, 40000);
});
