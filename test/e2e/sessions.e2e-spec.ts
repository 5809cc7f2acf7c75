import {
  connectClient,
  exited,
  requireServices,
  startCluster,
  startService,
  stopService,
  waitFor,
  type AnyAck,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { signToken as token, TEST_JWT_SECRET as SECRET } from '../suites/tokens';

/**
 * Sessions (PROTOCOL.md): the `session` event that opens a connection, `auth:refresh` without
 * reconnecting, `session:end` before the server ends a connection on purpose, `room:removed`, and
 * `retryAfterMs` on RATE_LIMITED and UNAVAILABLE.
 */
const API_TOKEN = 'api-token-for-the-sessions-tests';

describe('sessions: session, auth:refresh, session:end, room:removed, retryAfterMs (JWT mode)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const gw = () => cluster.gateways[0].url;
  const connect = async (jwt: string, url = gw()) => {
    const c = await connectClient(url, undefined, { auth: { token: jwt } });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'sess',
      gateways: 1,
      gatewayEnv: {
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        RATE_LIMIT_EVENTS_PER_SEC: '10',
        RATE_LIMIT_EVENTS_BURST: '10',
        MAX_ROOMS_PER_CONNECTION: '7',
      },
      apiEnv: { API_TOKEN },
    });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));
  afterAll(() => cluster?.stop());

  it('opens every connection with session: the user id, the gateway, the limits, the expiry', async () => {
    const jwt = await token('u-ann', 600);
    const c = await connect(jwt);
    await waitFor(() => c.sessions.length === 1, 3000, 'the session event');
    const [session] = c.sessions;
    expect(session).toEqual({
      user: { id: 'u-ann', name: 'u-ann' },
      serverId: cluster.gatewayId(0),
      limits: {
        sendsPerSec: expect.any(Number),
        sendBurst: expect.any(Number),
        eventsPerSec: 10,
        eventsBurst: 10,
        maxRooms: 7,
        maxTextLength: 4000,
      },
      expiresAt: expect.any(Number),
    });
    expect(Math.abs(session.expiresAt! - (Date.now() + 600_000))).toBeLessThan(5000);
  });

  it('keeps a connection past its first token once auth:refresh gave it a newer one', async () => {
    const c = await connect(await token('u-bob', 3));
    await c.ok('room:join', { room: 'refreshed' });
    const fresh = await token('u-bob', 600);
    const ack = await c.ok<{ expiresAt: number }>('auth:refresh', { token: fresh });
    expect(ack.expiresAt).toBeGreaterThan(Date.now() + 500_000);
    await new Promise((r) => setTimeout(r, 4000));
    // Still connected, still in the room, never told to go.
    expect(c.socket.connected).toBe(true);
    expect(c.ends).toEqual([]);
    await expect(
      c.ok('message:send', { room: 'refreshed', text: 'still here' }),
    ).resolves.toMatchObject({ ok: true });
  }, 15000);

  it('says session:end token_expired (retry: true) when a token runs out, then closes', async () => {
    const c = await connect(await token('u-cat', 2));
    await waitFor(() => !c.socket.connected, 6000, 'the connection to end');
    expect(c.ends).toEqual([{ reason: 'token_expired', retry: true }]);
  }, 10000);

  it.each([
    ['a token of another user', () => token('u-eve', 600)],
    ['an expired token', () => token('u-dan', -5)],
    ['a forged token', async () => (await token('u-dan', 600)).slice(0, -4) + 'AAAA'],
  ])('refuses %s with FORBIDDEN and keeps the connection as it was', async (_what, make) => {
    const c = await connect(await token('u-dan', 600));
    await c.ok('room:join', { room: 'kept' });
    const ack = await c.ack<AnyAck>('auth:refresh', { token: await make() });
    expect(ack).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Still connected, still the same user in the same room.
    expect(c.socket.connected).toBe(true);
    expect(c.ends).toEqual([]);
    const sent = await c.ok<{ seq: number }>('message:send', { room: 'kept', text: 'same me' });
    const [page] = [
      await c.ok<{ messages: { user: { id: string } }[] }>('room:history', { room: 'kept' }),
    ];
    expect(sent.seq).toBeGreaterThan(0);
    expect(page.messages.at(-1)?.user.id).toBe('u-dan');
  });

  it('answers a malformed auth:refresh with INVALID_PAYLOAD', async () => {
    const c = await connect(await token('u-fay', 600));
    for (const payload of [{}, { token: '' }, { token: 42 }, { token: 'x', extra: 1 }]) {
      expect(await c.code('auth:refresh', payload)).toBe('INVALID_PAYLOAD');
    }
  });

  it('leaves a private room the new token no longer allows, with room:removed forbidden', async () => {
    const c = await connect(await token('u-gus', 600, { rooms: ['private-ops', 'private-dev'] }));
    const other = await connect(await token('u-hal', 600, { rooms: ['private-ops'] }));
    await c.ok('room:join', { room: 'private-ops' });
    await c.ok('room:join', { room: 'private-dev' });
    await other.ok('room:join', { room: 'private-ops' });
    await c.ok('auth:refresh', { token: await token('u-gus', 600, { rooms: ['private-dev'] }) });
    expect(c.removed).toEqual([{ room: 'private-ops', reason: 'forbidden' }]);
    // Out of the room: no sends there, and the others see the leave.
    expect(await c.code('message:send', { room: 'private-ops', text: 'x' })).toBe('NOT_IN_ROOM');
    await waitFor(
      () => other.presence.some((p) => p.event === 'leave' && p.user.id === 'u-gus'),
      3000,
      "the others' leave notice",
    );
    await expect(
      c.ok('message:send', { room: 'private-dev', text: 'still allowed' }),
    ).resolves.toBeTruthy();
    // A join the new token does not allow is refused.
    expect(await c.code('room:join', { room: 'private-ops' })).toBe('FORBIDDEN');
  });

  it("revokes a user's tokens: its connections end, the old token is refused, a newer one works", async () => {
    const old = await token('u-rev', 600);
    const c = await connect(old);
    const other = await connect(await token('u-other-rev', 600));
    const res = await fetch(`${cluster.api.url}/api/users/u-rev/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: '{}',
    });
    expect(res.status).toBe(200);
    await waitFor(() => !c.socket.connected, 1000, 'the connection to end');
    expect(c.ends).toEqual([{ reason: 'revoked', retry: false }]);
    expect(other.socket.connected).toBe(true);
    // The old token: refused at the handshake, and by auth:refresh on a connection of its own.
    await expect(connectClient(gw(), undefined, { auth: { token: old } })).rejects.toThrow(
      'unauthorized',
    );
    // A token issued after the revocation (iat counts whole seconds): works, also in a refresh.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await connect(await token('u-rev', 600));
    expect(await fresh.code('auth:refresh', { token: old })).toBe('FORBIDDEN');
    await expect(
      fresh.ok('auth:refresh', { token: await token('u-rev', 600) }),
    ).resolves.toMatchObject({
      ok: true,
    });
  });

  it('carries retryAfterMs on RATE_LIMITED', async () => {
    const c = await connect(await token('u-ivy', 600));
    const acks = await Promise.all(
      Array.from({ length: 25 }, () => c.ack<AnyAck>('room:join', { room: 'busy' })),
    );
    const limited = acks.filter((a) => a.error?.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    for (const a of limited) {
      const { retryAfterMs } = a.error as { retryAfterMs?: number };
      expect(Number.isInteger(retryAfterMs) && retryAfterMs! >= 0).toBe(true);
    }
  });

  it('says session:end shutdown (retry: true) to every client of a gateway that drains', async () => {
    const env = {
      ...cluster.env,
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      INSTANCE_ID: `${cluster.prefix}-drain`,
    };
    const draining = await startService('gateway', env);
    try {
      const a = await connect(await token('u-jay', 600), draining.url);
      const b = await connect(await token('u-kim', 600), draining.url);
      stopService(draining, 'SIGTERM');
      await waitFor(() => !a.socket.connected && !b.socket.connected, 10000, 'the drain');
      expect(a.ends).toEqual([{ reason: 'shutdown', retry: true }]);
      expect(b.ends).toEqual([{ reason: 'shutdown', retry: true }]);
    } finally {
      stopService(draining, 'SIGKILL');
      await exited(draining.child);
    }
  }, 30000);

  it('carries retryAfterMs on UNAVAILABLE (presence stopped: a join cannot be applied)', async () => {
    // Not in `clients`: with presence gone, /stats never counts its disconnect (afterEach waits).
    const c = await connectClient(gw(), undefined, { auth: { token: await token('u-lea', 600) } });
    try {
      stopService(cluster.presences[0], 'SIGKILL');
      await exited(cluster.presences[0].child);
      const ack = await c.ack<AnyAck>('room:join', { room: 'nobody-home' }, 15000);
      expect(ack).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', retryAfterMs: 1000 } });
    } finally {
      c.close();
    }
  }, 30000);
});
