import {
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

const SECRET = 'webhook-secret-0123456789';
const FAST_RETRIES = {
  WEBHOOK_RETRY_MS: '50',
  WEBHOOK_MAX_RETRY_MS: '300',
  WEBHOOK_REORDER_MS: '300',
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
