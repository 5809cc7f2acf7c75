import type { WebhookEvent } from '@roomcast/contracts';
import {
  AMQP_URL,
  connectClient,
  requireServices,
  startCluster,
  startTcpProxy,
  startWebhookReceiver,
  waitFor,
  type TcpProxy,
  type TestClient,
  type TestCluster,
  type WebhookReceiver,
} from '@roomcast/testing';

// A Standard Webhooks secret: whsec_ and the base64 of a 32-byte key.
const SECRET = `whsec_${Buffer.from('webhook-secret-moderation-0123ab').toString('base64')}`;
const API_TOKEN = 'api-token-for-the-moderation-webhooks';

/**
 * Moderation webhooks (PROTOCOL.md, "Server API and webhooks"): kicks, bans, mutes and
 * revocations made through the server API arrive as signed `member.kicked`, `member.banned`,
 * `member.muted` and `user.revoked`, each room's in its order: a kick's or ban's event before
 * the `member.left` it causes (the api numbers and publishes it before any gateway is told).
 * Real gateways, presence sending, the api's broker link through a proxy the last case cuts.
 */
describe('moderation webhooks (2 gateways, presence sending, the server API)', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  let proxy: TcpProxy;
  const clients: TestClient[] = [];
  let n = 0;

  const api = (path: string, method = 'POST', body?: unknown) =>
    fetch(`${cluster.api.url}/api${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15000),
    });
  const json = async (res: Response) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string } },
  });

  /** The accepted events of a room, as `type`, `type <user name>` or `type <userId>`. */
  const roomLog = (room: string) =>
    receiver
      .accepted()
      .filter((e) => e.data.room === room)
      .map((e) =>
        'user' in e.data
          ? `${e.type} ${e.data.user.name}`
          : 'userId' in e.data
            ? `${e.type} ${e.data.userId}`
            : e.type,
      );
  const eventOf = (type: WebhookEvent['type'], room: string): WebhookEvent | undefined =>
    receiver.accepted().find((e) => e.type === type && e.data.room === room);
  const logReaches = (room: string, length: number) =>
    waitFor(() => roomLog(room).length >= length, 10000, `${length} events of ${room}`);

  /** Eve twice (both gateways) and Bob, in a room of the case's own; Eve's user id. */
  const scene = async () => {
    const room = `modhook-${++n}`;
    const [g1, g2] = cluster.gateways;
    const e1 = await connectClient(g1.url, `Eve${n}`);
    const e2 = await connectClient(g2.url, `Eve${n}`);
    const bob = await connectClient(g2.url, `Bob${n}`);
    clients.push(e1, e2, bob);
    for (const c of [e1, e2, bob]) await c.ok('room:join', { room });
    await waitFor(() => e1.sessions.length === 1, 3000, 'the session event');
    const eveId = e1.sessions[0].user.id;
    const joined = ['room.occupied', `member.joined Eve${n}`, `member.joined Bob${n}`];
    await logReaches(room, joined.length);
    expect(roomLog(room)).toEqual(joined);
    return { room, e1, e2, bob, eveId, joined };
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    receiver = await startWebhookReceiver({ secret: SECRET });
    proxy = await startTcpProxy(Number(new URL(AMQP_URL).port || 5672));
    const { username, password } = new URL(AMQP_URL);
    cluster = await startCluster({
      label: 'modhook',
      gateways: 2,
      presenceEnv: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_RETRY_MS: '50',
        WEBHOOK_MAX_RETRY_MS: '300',
        WEBHOOK_REORDER_MS: '300',
        WEBHOOK_PARK_MS: '100',
      },
      apiEnv: {
        API_TOKEN,
        AMQP_URL: `amqp://${username || 'guest'}:${password || 'guest'}@127.0.0.1:${proxy.port}`,
        PUBLISH_TIMEOUT_MS: '2000',
      },
    });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));
  afterAll(async () => {
    proxy?.restore();
    await cluster?.stop();
    await proxy?.close();
    await receiver?.close();
  }, 30000);

  it('a kick is member.kicked { room, userId, reason }, signed, before the member.left it causes', async () => {
    const { room, eveId, joined } = await scene();
    const res = await json(
      await api(`/rooms/${room}/kick`, 'POST', { userId: eveId, reason: 'spam' }),
    );
    expect(res).toEqual({ status: 200, body: { room, userId: eveId, connections: 2 } });
    await logReaches(room, joined.length + 2);
    expect(roomLog(room)).toEqual([...joined, `member.kicked ${eveId}`, `member.left Eve${n}`]);
    const kicked = eventOf('member.kicked', room);
    expect(kicked).toEqual({
      id: expect.any(String),
      type: 'member.kicked',
      ts: expect.any(Number),
      data: { room, userId: eveId, reason: 'spam' },
    });
    // A kick of a user who is not in the room is still the room's event, without a reason key.
    const absent = await json(await api(`/rooms/${room}/kick`, 'POST', { userId: 'nobody' }));
    expect(absent).toEqual({ status: 200, body: { room, userId: 'nobody', connections: 0 } });
    await logReaches(room, joined.length + 3);
    expect(roomLog(room).at(-1)).toBe('member.kicked nobody');
    const last = receiver
      .accepted()
      .filter((e) => e.data.room === room)
      .at(-1);
    expect(last?.data).toEqual({ room, userId: 'nobody' });
    expect(receiver.received.every((r) => r.signed)).toBe(true);
  }, 30000);

  it('a ban is member.banned { until, reason } before its member.left; a lift sends nothing; a mute is member.muted', async () => {
    const { room, eveId, joined } = await scene();
    const ban = await json(
      await api(`/rooms/${room}/bans/${eveId}`, 'PUT', { durationMs: 60000, reason: 'abuse' }),
    );
    expect(ban).toMatchObject({ status: 200, body: { room, userId: eveId, connections: 2 } });
    const until = ban.body.until as number;
    expect(until).toBeGreaterThan(Date.now());
    await logReaches(room, joined.length + 2);
    expect(roomLog(room)).toEqual([...joined, `member.banned ${eveId}`, `member.left Eve${n}`]);
    expect(eventOf('member.banned', room)?.data).toEqual({
      room,
      userId: eveId,
      until,
      reason: 'abuse',
    });
    expect((await api(`/rooms/${room}/bans/${eveId}`, 'DELETE')).status).toBe(204);

    // A mute with no end (until lifted), then its lift: only the mute is an event.
    const mute = await json(await api(`/rooms/${room}/mutes/${eveId}`, 'PUT', {}));
    expect(mute).toEqual({ status: 200, body: { room, userId: eveId, until: null } });
    expect((await api(`/rooms/${room}/mutes/${eveId}`, 'DELETE')).status).toBe(204);
    // A timed mute with a reason, the room's last event: nothing came between.
    const timed = await json(
      await api(`/rooms/${room}/mutes/${eveId}`, 'PUT', { durationMs: 5000, reason: 'calm down' }),
    );
    expect(timed.status).toBe(200);
    await logReaches(room, joined.length + 4);
    await new Promise((r) => setTimeout(r, 500));
    expect(roomLog(room)).toEqual([
      ...joined,
      `member.banned ${eveId}`,
      `member.left Eve${n}`,
      `member.muted ${eveId}`,
      `member.muted ${eveId}`,
    ]);
    const mutes = receiver
      .accepted()
      .filter((e) => e.type === 'member.muted' && e.data.room === room);
    expect(mutes.map((e) => e.data)).toEqual([
      { room, userId: eveId, until: null },
      { room, userId: eveId, until: timed.body.until, reason: 'calm down' },
    ]);
  }, 30000);

  it('a revoke is user.revoked { userId, issuedBefore } of no room, signed', async () => {
    const userId = `revoked-${Date.now()}`;
    const res = await json(await api(`/users/${userId}/revoke`, 'POST', { issuedBefore: 5000 }));
    expect(res).toEqual({ status: 200, body: { userId, issuedBefore: 5000 } });
    // A later revoke only moves the time on: the event says the time in force.
    const earlier = await json(await api(`/users/${userId}/revoke`, 'POST', { issuedBefore: 10 }));
    expect(earlier.body).toEqual({ userId, issuedBefore: 5000 });
    const revoked = () =>
      receiver.received.filter(
        (r) => r.event.type === 'user.revoked' && r.event.data.userId === userId,
      );
    await waitFor(() => revoked().length >= 2, 10000, 'both user.revoked events');
    expect(revoked().map((r) => [r.signed, r.status, r.event.data])).toEqual([
      [true, 200, { userId, issuedBefore: 5000 }],
      [true, 200, { userId, issuedBefore: 5000 }],
    ]);
    const [first, second] = revoked().map((r) => r.event);
    expect(first.id).not.toBe(second.id);
    expect(Object.keys(first.data)).not.toContain('room');
  }, 30000);

  it('with the broker away a kick answers 503 and nobody is removed; the retry kicks, and its events come in order', async () => {
    const { room, e1, e2, eveId, joined } = await scene();
    proxy.cut();
    try {
      const during = await json(await api(`/rooms/${room}/kick`, 'POST', { userId: eveId }));
      expect(during).toEqual({
        status: 503,
        body: {
          error: {
            code: 'UNAVAILABLE',
            message: expect.stringMatching(/broker/),
            retryAfterMs: 1000,
          },
        },
      });
    } finally {
      proxy.restore();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(e1.removed.length + e2.removed.length).toBe(0);
    expect(roomLog(room)).toEqual(joined);
    await waitFor(
      async () => (await api(`/rooms/${room}/kick`, 'POST', { userId: eveId })).status === 200,
      20000,
      'a 200 for the retry once the broker is reachable',
    );
    await waitFor(() => e1.removed.length + e2.removed.length === 2, 3000, 'room:removed on both');
    // The failed attempt's number is a gap the sender waits out (WEBHOOK_REORDER_MS).
    await logReaches(room, joined.length + 2);
    expect(roomLog(room)).toEqual([...joined, `member.kicked ${eveId}`, `member.left Eve${n}`]);
  }, 60000);
});
