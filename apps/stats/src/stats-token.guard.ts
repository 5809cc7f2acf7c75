import { timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { STATS_CONFIG, type StatsEnv } from './config/stats.env';

/** With STATS_TOKEN set, every route but /health needs `Authorization: Bearer <STATS_TOKEN>`. */
@Injectable()
export class StatsTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(STATS_CONFIG) config: StatsEnv) {
    if (config.STATS_TOKEN) this.expected = Buffer.from(`Bearer ${config.STATS_TOKEN}`);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    if (new URL(req.url ?? '/', 'http://localhost').pathname === '/health') return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    throw new UnauthorizedException('this API needs Authorization: Bearer <STATS_TOKEN>');
  }
}
