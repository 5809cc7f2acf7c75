import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ErrorCode } from '@roomcast/contracts';
import { API_CONFIG, type ApiEnv } from '../config/api.env';

/**
 * Client addresses tracked at once; when full, the entries whose window ended go, then the oldest
 * tenth (so a flood of new addresses costs one sweep per thousand, not one per request).
 */
export const SIGN_IN_TRACKED_ADDRESSES = 10000;

interface Window {
  failures: number;
  /** When the window that began with the address's first failure ends (ms since the epoch). */
  endsAt: number;
}

/**
 * Failed sign-ins (a wrong STATS_TOKEN, Bearer or Basic, or a wrong API_TOKEN) per client
 * address: after SIGNIN_MAX_FAILURES within SIGNIN_WINDOW_MS of the first, every request from
 * that address that presents credentials is answered 429 with Retry-After until the window ends,
 * right or wrong, so guessing goes no faster than the limit (a 429 says nothing of the guess). A
 * request without credentials is no guess: it gets its 401 as before. Kept in this process's
 * memory (bounded: SIGN_IN_TRACKED_ADDRESSES): each stats replica counts on its own.
 *
 * The address is the socket's; with TRUST_PROXY (behind the shipped nginx, which appends it)
 * the rightmost X-Forwarded-For entry. Without TRUST_PROXY behind a proxy, every client shares
 * the proxy's address, and one guesser locks everyone out for the window.
 */
@Injectable()
export class SignInThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly trustProxy: boolean;

  constructor(@Inject(API_CONFIG) config: ApiEnv) {
    this.max = config.SIGNIN_MAX_FAILURES;
    this.windowMs = config.SIGNIN_WINDOW_MS;
    this.trustProxy = config.TRUST_PROXY;
  }

  /** The client address a request counts against (an IPv6 client by its /64: addressKey). */
  addressOf(req: IncomingMessage): string {
    if (this.trustProxy) {
      const header = req.headers['x-forwarded-for'];
      const last = (Array.isArray(header) ? header.join(',') : header)?.split(',').pop()?.trim();
      if (last && isIP(last)) return addressKey(last);
    }
    return addressKey(req.socket.remoteAddress ?? 'unknown');
  }

  /** Throws 429 (with Retry-After on `res`) while `address` is past its limit. */
  check(address: string, res: ServerResponse, now = Date.now()): void {
    const w = this.windows.get(address);
    if (!w) return;
    if (w.endsAt <= now) {
      this.windows.delete(address);
      return;
    }
    if (w.failures < this.max) return;
    const seconds = Math.max(1, Math.ceil((w.endsAt - now) / 1000));
    res.setHeader('Retry-After', String(seconds));
    throw new HttpException(
      {
        error: {
          code: ErrorCode.RateLimited,
          message: `too many failed sign-ins from this address; retry in ${seconds} s`,
        },
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  /** Counts a failed sign-in from `address`. */
  failed(address: string, now = Date.now()): void {
    const w = this.windows.get(address);
    if (w && w.endsAt > now) {
      w.failures++;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= SIGN_IN_TRACKED_ADDRESSES) this.evict(now);
    this.windows.set(address, { failures: 1, endsAt: now + this.windowMs });
  }

  private evict(now: number): void {
    for (const [address, w] of this.windows) if (w.endsAt <= now) this.windows.delete(address);
    // Still full: the oldest windows go (a Map iterates in insertion order).
    const keep = SIGN_IN_TRACKED_ADDRESSES * 0.9;
    for (const address of this.windows.keys()) {
      if (this.windows.size <= keep) break;
      this.windows.delete(address);
    }
  }
}

/**
 * What one client is, for counting its guesses: an IPv4 address (also when IPv4-mapped), or an
 * IPv6 address's /64 (one subscriber's network: a host picks any address in it at will, so
 * counting whole addresses would let it rotate through 2^64 of them).
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const plain = address.toLowerCase().split('%')[0];
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1];
  const [head, tail] = plain.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  // A dotted IPv4 tail stands for two groups.
  const width = (parts: string[]) => parts.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const h = groups(head);
  const t = groups(tail);
  const all =
    tail === undefined ? h : [...h, ...Array<string>(8 - width(h) - width(t)).fill('0'), ...t];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
