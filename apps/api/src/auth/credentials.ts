import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { SignInThrottle } from './sign-in-throttle';

/**
 * `Bearer`, in any case (the auth scheme is case-insensitive, RFC 9110 §11.1), one or more spaces
 * and the token (§11.4).
 */
export const BEARER = /^Bearer +(\S+)$/i;

/** `Basic` and base64 `user:password` (RFC 7617): what a browser sends after its sign-in prompt. */
export const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;

/** The token of a Bearer header, or undefined. */
export const bearerToken = (header: string): string | undefined => BEARER.exec(header)?.[1];

/** The password of Basic credentials (any user name), or undefined. */
export function basicPassword(header: string): string | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Whether the request's Authorization header carries `expected` (a SHA-256 digest, so the
 * comparison takes the same time whatever the token), read by `read`. Any credentials are a
 * sign-in: failed ones count per client address, and an address past the limit is answered 429
 * with Retry-After (SignInThrottle) before its token is even compared.
 */
export function signIn(
  req: IncomingMessage,
  res: ServerResponse,
  expected: Buffer,
  throttle: SignInThrottle,
  read: (header: string) => string | undefined = bearerToken,
): boolean {
  const header = req.headers.authorization ?? '';
  const address = header === '' ? undefined : throttle.addressOf(req);
  if (address !== undefined) throttle.check(address, res);
  const given = read(header);
  if (given !== undefined && timingSafeEqual(digest(given), expected)) return true;
  if (address !== undefined) throttle.failed(address);
  return false;
}

/**
 * A guard by one token: lets a request through when the token is unset (`expected` undefined)
 * or the request carries it (read by `read`, throttled by `signIn`); else `refuse` throws.
 */
export abstract class TokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(
    token: string | undefined,
    private readonly throttle: SignInThrottle,
  ) {
    if (token !== undefined) this.expected = digest(token);
  }

  /** The token a request's Authorization header carries, or undefined. */
  protected read(header: string): string | undefined {
    return bearerToken(header);
  }

  /** Throws the answer to a request without the token. */
  protected abstract refuse(res: ServerResponse): never;

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const res = http.getResponse<ServerResponse>();
    const req = http.getRequest<IncomingMessage>();
    if (signIn(req, res, this.expected, this.throttle, (h) => this.read(h))) return true;
    this.refuse(res);
  }
}
