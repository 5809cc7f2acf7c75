import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { SignJWT } from 'jose';
import type { Socket } from 'socket.io';
import type { GatewayEnv } from '../config/gateway.env';
import { Handshake, TOO_MANY_CONNECTIONS, UNAUTHORIZED } from './handshake';

const SECRET = 's'.repeat(32);

function config(overrides: Partial<GatewayEnv> = {}): GatewayEnv {
  return {
    AUTH_MODE: 'jwt',
    JWT_SECRET: SECRET,
    MAX_CONNECTIONS_PER_IP: 1,
    TRUST_PROXY: false,
    ...overrides,
  } as GatewayEnv;
}

const sign = (sub: string, expiresIn = 3600) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(new TextEncoder().encode(SECRET));

/**
 * A Socket.IO socket stand-in: the socket and its engine.io connection (`conn`) are plain
 * EventEmitters, so a test fires `disconnect` and `close` itself, in the orders Socket.IO can.
 */
function fakeSocket({
  auth = {},
  address = '127.0.0.1',
  forwardedFor,
}: { auth?: Record<string, unknown>; address?: string; forwardedFor?: string } = {}) {
  const conn = Object.assign(new EventEmitter(), { readyState: 'open' });
  const raw = Object.assign(new EventEmitter(), {
    handshake: {
      auth,
      address,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    },
    conn,
    disconnect: jest.fn(),
  });
  return {
    socket: raw as unknown as Socket,
    raw,
    conn,
    /** The engine.io connection closes, as on a TCP drop: `close` once, `readyState` closed. */
    close: () => {
      conn.readyState = 'closed';
      conn.emit('close', 'transport close');
    },
  };
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'admitted',
    (err: Error) => err.message,
  );

describe('Handshake connection cap', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('takes the slot before the first await: a second handshake is refused while one verifies', async () => {
    const handshake = new Handshake(config());
    const first = handshake.admit(fakeSocket({ auth: { token: await sign('u1') } }).socket);
    // Refused at once, before its (bad) token is even looked at: the first holds the slot.
    expect(await outcome(handshake.admit(fakeSocket({ auth: { token: 'x' } }).socket))).toBe(
      TOO_MANY_CONNECTIONS,
    );
    expect(await outcome(first)).toBe('admitted');
  });

  it('gives the slot back when the connection closes while the token is verified', async () => {
    const handshake = new Handshake(config());
    const dropped = fakeSocket({ auth: { token: await sign('u1') } });
    const pending = handshake.admit(dropped.socket);
    dropped.close(); // the client hung up after its CONNECT: Socket.IO never connects it
    expect(await outcome(pending)).not.toBe('admitted');
    expect(dropped.conn.listenerCount('close')).toBe(0);
    expect(dropped.raw.listenerCount('disconnect')).toBe(0);
    const next = fakeSocket({ auth: { token: await sign('u2') } });
    expect(await outcome(handshake.admit(next.socket))).toBe('admitted');
  });

  it('gives the slot back when an admitted socket closes before it connected (no disconnect)', async () => {
    const handshake = new Handshake(config());
    const late = fakeSocket({ auth: { token: await sign('u1') } });
    expect(await outcome(handshake.admit(late.socket))).toBe('admitted');
    late.close(); // between next() and Socket.IO's readyState check: no `disconnect` ever
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('u2') } }).socket)),
    ).toBe('admitted');
  });

  it('refuses a handshake on a connection already closed, holding nothing', async () => {
    const handshake = new Handshake(config());
    const gone = fakeSocket({ auth: { token: await sign('u1') } });
    gone.conn.readyState = 'closed';
    expect(await outcome(handshake.admit(gone.socket))).not.toBe('admitted');
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('u2') } }).socket)),
    ).toBe('admitted');
  });

  it('gives the slot back exactly once on refusal, whatever the socket does next', async () => {
    const handshake = new Handshake(config());
    const refused = fakeSocket({ auth: { token: 'not.a.jwt' } });
    expect(await outcome(handshake.admit(refused.socket))).toBe(UNAUTHORIZED);
    expect(refused.conn.listenerCount('close')).toBe(0);
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('u1') } }).socket)),
    ).toBe('admitted');
    // Late events of the refused socket must not free the slot the admitted one holds.
    refused.raw.emit('disconnect', 'client namespace disconnect');
    refused.close();
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('u2') } }).socket)),
    ).toBe(TOO_MANY_CONNECTIONS);
  });

  it('gives the slot back exactly once on disconnect followed by close', async () => {
    const handshake = new Handshake(config({ MAX_CONNECTIONS_PER_IP: 2 }));
    const a = fakeSocket({ auth: { token: await sign('a') } });
    const b = fakeSocket({ auth: { token: await sign('b') } });
    expect(await outcome(handshake.admit(a.socket))).toBe('admitted');
    expect(await outcome(handshake.admit(b.socket))).toBe('admitted');
    a.raw.emit('disconnect', 'transport close');
    a.close();
    a.raw.emit('disconnect', 'transport close');
    expect(a.conn.listenerCount('close')).toBe(0);
    // One slot back (a's), not two: b still holds the other.
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('c') } }).socket)),
    ).toBe('admitted');
    expect(
      await outcome(handshake.admit(fakeSocket({ auth: { token: await sign('d') } }).socket)),
    ).toBe(TOO_MANY_CONNECTIONS);
  });

  it('keeps one count per address', async () => {
    const handshake = new Handshake(config({ AUTH_MODE: 'open' }));
    expect(await outcome(handshake.admit(fakeSocket({ address: '10.0.0.1' }).socket))).toBe(
      'admitted',
    );
    expect(await outcome(handshake.admit(fakeSocket({ address: '10.0.0.2' }).socket))).toBe(
      'admitted',
    );
    expect(await outcome(handshake.admit(fakeSocket({ address: '10.0.0.1' }).socket))).toBe(
      TOO_MANY_CONNECTIONS,
    );
  });
});

describe('Handshake client address', () => {
  const open = (trustProxy: boolean) =>
    new Handshake(config({ AUTH_MODE: 'open', TRUST_PROXY: trustProxy }));
  const via = (handshake: Handshake, forwardedFor?: string, address = '127.0.0.1') =>
    outcome(handshake.admit(fakeSocket({ forwardedFor, address }).socket));

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('with TRUST_PROXY, counts the rightmost X-Forwarded-For entry, the one the proxy added', async () => {
    const handshake = open(true);
    // The client wrote the left entries; nginx appended the address it saw (10.0.0.7).
    expect(await via(handshake, '203.0.113.1, 10.0.0.7')).toBe('admitted');
    expect(await via(handshake, '198.51.100.2,10.0.0.7')).toBe(TOO_MANY_CONNECTIONS);
    expect(await via(handshake, '10.0.0.7')).toBe(TOO_MANY_CONNECTIONS);
    expect(await via(handshake, '10.0.0.7, 10.0.0.8')).toBe('admitted');
    expect(await via(handshake, '2001:db8::1')).toBe('admitted');
  });

  it('with TRUST_PROXY, falls back to the socket address without a usable entry', async () => {
    const handshake = open(true);
    expect(await via(handshake, undefined, '10.0.0.1')).toBe('admitted');
    expect(await via(handshake, '', '10.0.0.1')).toBe(TOO_MANY_CONNECTIONS);
    expect(await via(handshake, '203.0.113.1, not-an-ip', '10.0.0.1')).toBe(TOO_MANY_CONNECTIONS);
    expect(await via(handshake, '203.0.113.1, ', '10.0.0.1')).toBe(TOO_MANY_CONNECTIONS);
  });

  it('without TRUST_PROXY, ignores X-Forwarded-For', async () => {
    const handshake = open(false);
    expect(await via(handshake, '203.0.113.1')).toBe('admitted');
    expect(await via(handshake, '203.0.113.2')).toBe(TOO_MANY_CONNECTIONS);
  });
});
