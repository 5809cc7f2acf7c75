import {
  connectClient,
  requireServices,
  runToExit,
  startCluster,
  waitFor,
  type AnyAck,
  type TestClient,
  type TestCluster,
} from '@roomcast/testing';
import { SignJWT } from 'jose';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes!';
const STATS_TOKEN = 'stats-token-for-the-tests';
const ALLOWED_ORIGIN = 'http://chat.allowed.test';

async function token(
  claims: Record<string, unknown>,
  {
    secret = SECRET,
    expiresIn = 3600,
    alg = 'HS256',
  }: { secret?: string; expiresIn?: number; alg?: string } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (claims.sub === undefined) jwt.setSubject('u-default');
  return jwt
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/**
 * A cluster in JWT mode with every limit set low enough to hit in a test: forged tokens, private
 * rooms, origins, floods, oversized frames and the Stats API token, each answered with its code
 * while a second client keeps chatting.
 */
describe('security and hostile input (JWT mode, limits, STATS_TOKEN)', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];
  const gw = () => cluster.gateways[0].url;
  const as = async (
    sub: string,
    name: string,
    rooms?: string[],
    extra: Record<string, unknown> = {},
  ) => {
    const c = await connectClient(gw(), undefined, {
      auth: { token: await token({ sub, name, ...(rooms ? { rooms } : {}), ...extra }) },
    });
    clients.push(c);
    return c;
  };
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => 'connected',
      (err: Error) => err.message,
    );

  beforeAll(async () => {
    await requireServices('redis', 'rabbitmq');
    cluster = await startCluster({
      label: 'sec',
      gateways: 1,
      env: { CORS_ORIGINS: ALLOWED_ORIGIN },
      gatewayEnv: {
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        RATE_LIMIT_PER_SEC: '5',
        RATE_LIMIT_BURST: '10',
        MAX_CONNECTIONS_PER_IP: '8',
        MAX_ROOMS_PER_CONNECTION: '3',
        TYPING_MIN_INTERVAL_MS: '1000',
      },
      apiEnv: { STATS_TOKEN },
    });
  }, 60000);

  afterEach(() => cluster.closeClients(clients));

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  }, 30000);

  it('refuses missing, forged, malformed, expired and unsigned tokens with "unauthorized"', async () => {
    const tryAuth = (auth: Record<string, unknown>) =>
      refusal(connectClient(gw(), undefined, { auth }));
    expect(await tryAuth({})).toBe('unauthorized');
    expect(await tryAuth({ name: 'Mallory' })).toBe('unauthorized'); // open-mode style
    expect(await tryAuth({ token: 'not.a.jwt' })).toBe('unauthorized');
    expect(await tryAuth({ token: 42 })).toBe('unauthorized');
    expect(
      await tryAuth({
        token: await token({ sub: 'm' }, { secret: 'another-secret-of-32-bytes-or-more!!' }),
      }),
    ).toBe('unauthorized');
    expect(await tryAuth({ token: await token({ sub: 'm' }, { expiresIn: -10 }) })).toBe(
      'unauthorized',
    );
    expect(await tryAuth({ token: await token({ sub: 'm' }, { alg: 'HS512' }) })).toBe(
      'unauthorized',
    );
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'm', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')}.`;
    expect(await tryAuth({ token: unsigned })).toBe('unauthorized');
    // Refused sockets never reached presence.
    expect((await cluster.getStats()).connections).toBe(0);
    const ok = await as('u-ann', 'Ann');
    expect(ok.socket.connected).toBe(true);
  });

  it('closes a connection when its token expires', async () => {
    const c = await connectClient(gw(), undefined, {
      auth: { token: await token({ sub: 'u-brief', name: 'Brief' }, { expiresIn: 2 }) },
    });
    clients.push(c);
    await c.ack('room:join', { room: 'lobby' });
    const reason = await new Promise<string>((r) => c.socket.once('disconnect', (why) => r(why)));
    expect(reason).toBe('io server disconnect');
    await waitFor(
      async () => (await cluster.getStats()).online === 0,
      2000,
      'the expired user offline',
    );
  }, 10000);

  it('keeps private rooms to users whose token lists them, the Stats API included', async () => {
    const ops = await as('u-ops', 'Ops', ['private-ops']);
    const other = await as('u-other', 'Other');
    expect(await ops.ack('room:join', { room: 'private-ops' })).toMatchObject({ ok: true });
    for (const [event, payload] of [
      ['room:join', { room: 'private-ops' }],
      ['room:members', { room: 'private-ops' }],
      ['room:history', { room: 'private-ops' }],
    ] as const) {
      expect(await other.ack<AnyAck>(event, payload)).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN' },
      });
    }
    expect(
      await ops.ack('message:send', { room: 'private-ops', text: 'secret plan' }),
    ).toMatchObject({ ok: true });
    await waitFor(
      () => ops.messages.some((m) => m.text === 'secret plan'),
      3000,
      'the private message',
    );
    expect(other.messages).toEqual([]);
    // A rooms claim with an invalid name is ignored, not trusted.
    const odd = await as('u-odd', 'Odd', ['private-a.b']);
    expect(await odd.ack('room:join', { room: 'private-a.b' })).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });

    // The Stats API needs the token for every route but /health.
    const stats = cluster.api.url;
    for (const route of ['/stats', '/stats/rooms', '/stats/rooms/lobby', '/ready', '/metrics']) {
      expect((await fetch(`${stats}${route}`)).status).toBe(401);
    }
    expect((await fetch(`${stats}/health`)).status).toBe(200);
    const auth = { headers: { authorization: `Bearer ${STATS_TOKEN}` } };
    expect(
      (await fetch(`${stats}/stats`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    // The auth scheme is case-insensitive (RFC 9110); the token is not.
    for (const authorization of [`bearer ${STATS_TOKEN}`, `BEARER ${STATS_TOKEN}`]) {
      expect((await fetch(`${stats}/stats`, { headers: { authorization } })).status).toBe(200);
    }
    expect(
      (
        await fetch(`${stats}/stats`, {
          headers: { authorization: `bearer ${STATS_TOKEN.toUpperCase()}` },
        })
      ).status,
    ).toBe(401);
    await waitFor(
      async () =>
        (
          (await (await fetch(`${stats}/stats/rooms/private-ops`, auth)).json()) as {
            users: number;
          }
        ).users === 1,
      2000,
      'the private room visible with the token',
    );
  });

  it('checks the Origin of the WebSocket handshake and of HTTP requests', async () => {
    const sub = { token: await token({ sub: 'u-web', name: 'Web' }) };
    expect(
      await refusal(
        connectClient(gw(), undefined, { auth: sub, headers: { origin: 'http://evil.test' } }),
      ),
    ).not.toBe('connected');
    const allowed = await connectClient(gw(), undefined, {
      auth: sub,
      headers: { origin: ALLOWED_ORIGIN },
    });
    clients.push(allowed);
    expect(allowed.socket.connected).toBe(true);
    const preflight = await fetch(`${cluster.api.url}/stats`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    const evil = await fetch(`${cluster.api.url}/health`, {
      headers: { origin: 'http://evil.test' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rate-limits a flooding client while a second client keeps chatting fast', async () => {
    const flood = await as('u-flood', 'Flood');
    const calm = await as('u-calm', 'Calm');
    await flood.ack('room:join', { room: 'busy' });
    await calm.ack('room:join', { room: 'busy' });
    const flooding = Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        flood.ack<AnyAck>('message:send', { room: 'busy', text: `spam ${i}` }),
      ),
    );
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      expect(await calm.ack('message:send', { room: 'busy', text: `calm ${i}` })).toMatchObject({
        ok: true,
      });
      latencies.push(Date.now() - t0);
    }
    const results = await flooding;
    const limited = results.filter((r) => r.error?.code === 'RATE_LIMITED').length;
    expect(results.filter((r) => r.ok).length).toBeLessThanOrEqual(10);
    expect(limited).toBeGreaterThanOrEqual(50);
    expect(Math.max(...latencies)).toBeLessThan(250);
    process.stdout.write(
      `[security] flood: ${limited}/60 limited; calm client's send latency max ${Math.max(...latencies)} ms\n`,
    );
  });

  it('cuts off an oversized frame without hurting anyone else', async () => {
    const big = await as('u-big', 'Big');
    const calm = await as('u-calm2', 'Calm2');
    await calm.ack('room:join', { room: 'calm' });
    await big.ack('room:join', { room: 'calm' });
    const gone = new Promise<string>((r) => big.socket.once('disconnect', (why) => r(why)));
    big.raw('message:send', { room: 'calm', text: 'x'.repeat(20 * 1024) });
    expect(await gone).toBe('transport close');
    expect(await calm.ack('message:send', { room: 'calm', text: 'still here' })).toMatchObject({
      ok: true,
    });
    // Over 4000 characters but under the frame cap: a clear error, the connection stays.
    expect(await calm.ack('message:send', { room: 'calm', text: 'y'.repeat(5000) })).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });
    expect(await calm.ack<AnyAck>('message:send', Buffer.from('binary'))).toMatchObject({
      error: { code: 'INVALID_PAYLOAD' },
    });
    expect(calm.socket.connected).toBe(true);
  });

  it('limits rooms per connection, typing and connections per address', async () => {
    const c = await as('u-rooms', 'Rooms');
    for (const room of ['r1', 'r2', 'r3'])
      expect(await c.ack('room:join', { room })).toMatchObject({ ok: true });
    expect(await c.ack('room:join', { room: 'r4' })).toMatchObject({
      error: { code: 'RATE_LIMITED' },
    });
    expect(await c.ack('room:join', { room: 'r1' })).toMatchObject({ ok: true }); // already in: fine
    expect(await c.ack('typing', { room: 'r1', typing: true })).toMatchObject({ ok: true });
    expect(await c.ack('typing', { room: 'r1', typing: true })).toMatchObject({
      error: { code: 'RATE_LIMITED' },
    });
    expect(await c.ack('typing', { room: 'r1', typing: false })).toMatchObject({ ok: true });

    const more: Promise<TestClient>[] = [];
    for (let i = 0; i < 7; i++) more.push(as(`u-cap${i}`, `Cap${i}`)); // 8 with `c`
    await Promise.all(more);
    expect(await refusal(as('u-cap-extra', 'Extra'))).toBe(
      'too many connections from this address',
    );
  });

  it('refuses unsafe settings at start-up, saying why in one line', async () => {
    const base = { ...cluster.env, PORT: '0' };
    const shortSecret = await runToExit('gateway', {
      ...base,
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'short',
    });
    expect(shortSecret.code).toBe(1);
    expect(shortSecret.output).toContain('JWT_SECRET of at least 32 bytes');
    const prodOpen = await runToExit('gateway', {
      ...base,
      NODE_ENV: 'production',
      AUTH_MODE: 'open',
    });
    expect(prodOpen.code).toBe(1);
    expect(prodOpen.output).toContain('refuses AUTH_MODE=open');
    const prodGuest = await runToExit('gateway', {
      ...base,
      NODE_ENV: 'production',
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
    });
    expect(prodGuest.code).toBe(1);
    expect(prodGuest.output).toContain('refuses the broker account guest:guest');
    expect(prodGuest.output.trim().split('\n')).toHaveLength(1);
  }, 30000);
});
