import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { STATS_CONFIG, type StatsEnv } from './config/stats.env';

/**
 * `Bearer`, in any case (the auth scheme is case-insensitive, RFC 9110 §11.1), one or more spaces
 * and the token (§11.4).
 */
export const BEARER = /^Bearer +(\S+)$/i;

export const digest = (token: string) => createHash('sha256').update(token).digest();

/** With STATS_TOKEN set, every route but /health and /api/ needs `Authorization: Bearer <STATS_TOKEN>`. */
@Injectable()
export class StatsTokenGuard implements CanActivate {
  /** Compared as SHA-256 digests: equal lengths, so the time taken says nothing of the token. */
  private readonly expected?: Buffer;

  constructor(@Inject(STATS_CONFIG) config: StatsEnv) {
    if (config.STATS_TOKEN) this.expected = digest(config.STATS_TOKEN);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    // The publish API has its own token (API_TOKEN, ApiTokenGuard).
    if (path === '/health' || path.startsWith('/api/')) return true;
    const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return true;
    throw new UnauthorizedException('this API needs Authorization: Bearer <STATS_TOKEN>');
  }
}
