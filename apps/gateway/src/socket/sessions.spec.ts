import { ChatError } from '@roomcast/contracts';
import { SignJWT } from 'jose';
import type { GatewayEnv } from '../config/gateway.env';
import type { ChatSocket } from './chat-socket';
import { Handshake } from './handshake';
import { Sessions } from './sessions';

const SECRET = 's'.repeat(32);

const config = (overrides: Partial<GatewayEnv> = {}) =>
  ({
    AUTH_MODE: 'jwt',
    JWT_SECRET: SECRET,
    INSTANCE_ID: 'gw-test',
    RATE_LIMIT_PER_SEC: 20,
    RATE_LIMIT_BURST: 40,
    RATE_LIMIT_EVENTS_PER_SEC: 50,
    RATE_LIMIT_EVENTS_BURST: 100,
    MAX_ROOMS_PER_CONNECTION: 100,
    ...overrides,
  }) as GatewayEnv;

const sign = (
  sub: string,
  expiresInS: number,
  claims: Record<string, unknown> = {},
  secret = SECRET,
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInS)
    .sign(new TextEncoder().encode(secret));

/** A connected socket: what it was sent, in order, and whether it was cut. */
function socket(id: string, data: Partial<ChatSocket['data']>) {
  const said: [string, unknown][] = [];
  const s = {
    id,
    disconnected: false,
    data: {
      user: { id: 'u-ann', name: 'Ann' },
      privateRooms: new Set(),
      rooms: new Set(),
      ...data,
    },
    emit: (event: string, payload: unknown) => said.push([event, payload]),
    disconnect: jest.fn(() => {
      s.disconnected = true;
    }),
  };
  return { socket: s as unknown as ChatSocket, said, raw: s };
}

const make = (overrides: Partial<GatewayEnv> = {}) => {
  const c = config(overrides);
  return new Sessions(c, new Handshake(c));
};

afterEach(() => jest.useRealTimers());

describe('Sessions', () => {
  it('opens with session: the user, the server, the limits and the token expiry', () => {
    const expiresAt = Date.now() + 60_000;
    const { socket: s, said } = socket('s1', { expiresAt });
    make().start(s);
    expect(said).toEqual([
      [
        'session',
        {
          user: { id: 'u-ann', name: 'Ann' },
          serverId: 'gw-test',
          limits: {
            sendsPerSec: 20,
            sendBurst: 40,
            eventsPerSec: 50,
            eventsBurst: 100,
            maxRooms: 100,
            maxTextLength: 4000,
          },
          expiresAt,
        },
      ],
    ]);
  });

  it('has no expiresAt in open mode, and ends nothing', () => {
    jest.useFakeTimers();
    const { socket: s, said, raw } = socket('s1', {});
    make({ AUTH_MODE: 'open' }).start(s);
    expect(said[0][1]).not.toHaveProperty('expiresAt');
    jest.advanceTimersByTime(10 * 24 * 3600 * 1000);
    expect(raw.disconnect).not.toHaveBeenCalled();
  });

  it('says session:end token_expired, then cuts the connection, when the token runs out', () => {
    jest.useFakeTimers();
    const { socket: s, said, raw } = socket('s1', { expiresAt: Date.now() + 5000 });
    const sessions = make();
    sessions.start(s);
    jest.advanceTimersByTime(4999);
    expect(raw.disconnect).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(said.at(-1)).toEqual(['session:end', { reason: 'token_expired', retry: true }]);
    expect(raw.disconnect).toHaveBeenCalledWith(true);
  });

  it('forgets the timer of a connection that is gone', () => {
    jest.useFakeTimers();
    const { socket: s, raw } = socket('s1', { expiresAt: Date.now() + 5000 });
    const sessions = make();
    sessions.start(s);
    sessions.forget(s);
    jest.advanceTimersByTime(60_000);
    expect(raw.disconnect).not.toHaveBeenCalled();
  });

  it('takes a newer token of the same user: a later expiry, and the private rooms it drops', async () => {
    const { socket: s, raw } = socket('s1', {
      user: { id: 'u-ann', name: 'Ann' },
      expiresAt: Date.now() + 2000,
      privateRooms: new Set(['private-a', 'private-b']),
      rooms: new Set(['lobby', 'private-a', 'private-b']),
    });
    const sessions = make();
    sessions.start(s);
    const token = await sign('u-ann', 3600, { rooms: ['private-b'] });
    const { expiresAt, lost } = await sessions.refresh(s, token);
    expect(expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    expect(lost).toEqual(['private-a']);
    expect(raw.data.privateRooms).toEqual(new Set(['private-b']));
    expect(raw.data.expiresAt).toBe(expiresAt);
    // The old expiry no longer ends the connection.
    await new Promise((r) => setTimeout(r, 2100));
    expect(raw.disconnect).not.toHaveBeenCalled();
    sessions.forget(s);
  });

  it.each([
    ['another user', () => sign('u-bob', 3600)],
    ['an expired token', () => sign('u-ann', -10)],
    ['another secret', () => sign('u-ann', 3600, {}, 'x'.repeat(32))],
    ['no JWT at all', async () => 'not-a-token'],
  ])('refuses %s with FORBIDDEN and changes nothing', async (_what, token) => {
    const before = Date.now() + 60_000;
    const { socket: s, raw } = socket('s1', {
      expiresAt: before,
      privateRooms: new Set(['private-a']),
    });
    const sessions = make();
    const err = await sessions.refresh(s, await token()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatError);
    expect(err).toMatchObject({ code: 'FORBIDDEN' });
    expect(raw.data.expiresAt).toBe(before);
    expect(raw.data.privateRooms).toEqual(new Set(['private-a']));
  });

  it('refuses auth:refresh in open mode', async () => {
    const { socket: s } = socket('s1', {});
    await expect(make({ AUTH_MODE: 'open' }).refresh(s, 'x')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});
