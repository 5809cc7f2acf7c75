import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATS_CONFIG, type StatsEnv } from './config/stats.env';
import { SignInThrottle } from './sign-in-throttle';

/**
 * `Bearer`, in any case (the auth scheme is case-insensitive, RFC 9110 §11.1), one or more spaces
 * and the token (§11.4).
 */
export const BEARER = /^Bearer +(\S+)$/i;

/** `Basic` and base64 `user:password` (RFC 7617): what a browser sends after its sign-in prompt. */
export const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;

/** The password of Basic credentials (any user name), or undefined. */
export function basicPassword(header: string): string | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

const isAdmin = (path: string) => path === '/admin' || path.startsWith('/admin/');

export const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * With STATS_TOKEN set, every route but /health and /api/ needs `Authorization: Bearer
 * <STATS_TOKEN>`. The operations page (/admin) also takes Basic credentials with STATS_TOKEN as
 * the password (any user name) and answers 401 with a Basic challenge, so a browser asks for it.
 * Failed sign-ins are throttled per client address (SignInThrottle: 429 with Retry-After).
 */
@Injectable()
export class StatsTokenGuard implements CanActivate {
  /** Compared as SHA-256 digests: equal lengths, so the time taken says nothing of the token. */
  private readonly expected?: Buffer;

  constructor(
    @Inject(STATS_CONFIG) config: StatsEnv,
    private readonly throttle: SignInThrottle,
  ) {
    if (config.STATS_TOKEN) this.expected = digest(config.STATS_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const res = context.switchToHttp().getResponse<ServerResponse>();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    // The publish API has its own token (API_TOKEN, ApiTokenGuard).
    if (path === '/health' || path.startsWith('/api/')) return true;
    const header = req.headers.authorization ?? '';
    const admin = isAdmin(path);
    const given = BEARER.exec(header)?.[1] ?? (admin ? basicPassword(header) : undefined);
    // Credentials of any kind are a sign-in: throttled per address once too many failed.
    const address = header === '' ? undefined : this.throttle.addressOf(req);
    if (address !== undefined) this.throttle.check(address, res);
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return true;
    if (address !== undefined) this.throttle.failed(address);
    if (admin) {
      res.setHeader('WWW-Authenticate', 'Basic realm="roomcast admin", charset="UTF-8"');
      throw new UnauthorizedException('the operations page needs STATS_TOKEN as the password');
    }
    throw new UnauthorizedException('this API needs Authorization: Bearer <STATS_TOKEN>');
  }
}
