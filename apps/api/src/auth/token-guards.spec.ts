import type { ExecutionContext } from '@nestjs/common';
import { UnauthorizedException } from '@nestjs/common';
import type { ApiEnv } from '../config/api.env';
import { OpsPageGuard } from '../ops-page/ops-page.guard';
import { StatsTokenGuard } from '../stats/stats-token.guard';
import { SignInThrottle } from './sign-in-throttle';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { timingSafeEqual } = require('node:crypto') as { timingSafeEqual: jest.Mock };

const TOKEN = 'stats-token-for-the-tests';

const responseHeaders = new Map<string, string>();

function request(
  authorization?: string,
  url = '/stats',
  remoteAddress = '192.0.2.1',
): ExecutionContext {
  const req = {
    url,
    headers: authorization === undefined ? {} : { authorization },
    socket: { remoteAddress },
  };
  responseHeaders.clear();
  const res = { setHeader: (name: string, value: string) => responseHeaders.set(name, value) };
  return {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
}
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const allows = (guard: StatsTokenGuard | OpsPageGuard, authorization?: string, url?: string) => {
  try {
    return guard.canActivate(request(authorization, url));
  } catch (err) {
    if (err instanceof UnauthorizedException) return false;
    throw err;
  }
};

const throttle = (max = 1000, windowMs = 60000, trustProxy = false) =>
  new SignInThrottle({
    SIGNIN_MAX_FAILURES: max,
    SIGNIN_WINDOW_MS: windowMs,
    TRUST_PROXY: trustProxy,
  } as ApiEnv);

describe('StatsTokenGuard', () => {
  const guard = new StatsTokenGuard({ STATS_TOKEN: TOKEN } as ApiEnv, throttle());

  it.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `bEaReR  ${TOKEN}`])(
    'takes %p: the scheme is case-insensitive (RFC 9110)',
    (header) => {
      expect(allows(guard, header)).toBe(true);
    },
  );

  it.each([
    undefined,
    '',
    TOKEN,
    'Bearer',
    'Bearer ',
    `Bearer wrong`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Bearer ${TOKEN.toUpperCase()}`,
    `Bearer ${TOKEN} ${TOKEN}`,
    `Basic ${TOKEN}`,
    `Bearer${TOKEN}`,
    `xBearer ${TOKEN}`,
  ])('refuses %p', (header) => {
    expect(allows(guard, header)).toBe(false);
  });

  it('compares in constant time, also a token of another length', () => {
    timingSafeEqual.mockClear();
    expect(allows(guard, 'Bearer short')).toBe(false);
    expect(allows(guard, `Bearer ${'x'.repeat(500)}`)).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(2);
  });

  it('takes no Basic credentials and sends no Basic challenge: the Stats API is not a page', () => {
    expect(allows(guard, basic('admin', TOKEN))).toBe(false);
    expect(allows(guard, undefined)).toBe(false);
    expect(responseHeaders.has('WWW-Authenticate')).toBe(false);
  });

  it('lets everything through without STATS_TOKEN', () => {
    expect(allows(new StatsTokenGuard({} as ApiEnv, throttle()), undefined)).toBe(true);
  });
});

describe('OpsPageGuard', () => {
  const guard = new OpsPageGuard({ STATS_TOKEN: TOKEN } as ApiEnv, throttle());

  it('takes Basic credentials with the token as password, with any user name, and Bearer', () => {
    expect(allows(guard, basic('admin', TOKEN))).toBe(true);
    expect(allows(guard, basic('', TOKEN))).toBe(true);
    expect(allows(guard, `basic ${basic('ops', TOKEN).slice(6)}`)).toBe(true);
    expect(allows(guard, `Bearer ${TOKEN}`)).toBe(true);
  });

  it.each([
    undefined,
    basic('admin', 'wrong'),
    basic(TOKEN, ''),
    basic('admin', `${TOKEN}x`),
    `Basic ${Buffer.from(TOKEN).toString('base64')}`,
    'Basic !!!',
    'Basic ',
  ])('refuses %p with a Basic challenge, so a browser asks', (header) => {
    expect(allows(guard, header)).toBe(false);
    expect(responseHeaders.get('WWW-Authenticate')).toMatch(/^Basic realm="roomcast admin"/);
  });

  it('lets everything through without STATS_TOKEN', () => {
    expect(allows(new OpsPageGuard({} as ApiEnv, throttle()), undefined)).toBe(true);
  });
});

describe('SignInThrottle', () => {
  const answer = (guard: OpsPageGuard, authorization: string | undefined, address: string) => {
    const context = request(authorization, '/admin', address);
    try {
      guard.canActivate(context);
      return 200;
    } catch (err) {
      return (err as { getStatus(): number }).getStatus();
    }
  };

  it('answers 429 with Retry-After past the failures allowed, right or wrong, per address', () => {
    const guard = new OpsPageGuard({ STATS_TOKEN: TOKEN } as ApiEnv, throttle(3, 30000));
    const wrong = basic('admin', 'guess');
    expect([1, 2, 3].map(() => answer(guard, wrong, '192.0.2.7'))).toEqual([401, 401, 401]);
    expect(answer(guard, wrong, '192.0.2.7')).toBe(429);
    expect(Number(responseHeaders.get('Retry-After'))).toBeGreaterThanOrEqual(29);
    // The right token too: a 429 says nothing of the guess.
    expect(answer(guard, basic('admin', TOKEN), '192.0.2.7')).toBe(429);
    // No credentials: no guess, the usual challenge.
    expect(answer(guard, undefined, '192.0.2.7')).toBe(401);
    // Another address is not held back.
    expect(answer(guard, basic('admin', TOKEN), '192.0.2.8')).toBe(200);
  });

  it('lets the address sign in again once the window ended', () => {
    const t = throttle(2, 1000);
    const now = Date.now();
    t.failed('a', now);
    t.failed('a', now + 10);
    const res = { setHeader: jest.fn() };
    expect(() => t.check('a', res as never, now + 500)).toThrow();
    expect(res.setHeader).toHaveBeenCalledWith('Retry-After', '1');
    expect(() => t.check('a', res as never, now + 1000)).not.toThrow();
  });

  it('takes the rightmost X-Forwarded-For entry only with TRUST_PROXY', () => {
    const req = (xff?: string) =>
      ({
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
        socket: { remoteAddress: '10.0.0.1' },
      }) as never;
    expect(throttle(1, 1000, true).addressOf(req('6.6.6.6, 198.51.100.4'))).toBe('198.51.100.4');
    expect(throttle(1, 1000, true).addressOf(req('not-an-ip'))).toBe('10.0.0.1');
    expect(throttle(1, 1000, false).addressOf(req('198.51.100.4'))).toBe('10.0.0.1');
  });
});
