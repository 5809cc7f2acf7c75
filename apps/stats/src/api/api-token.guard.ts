import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ErrorCode } from '@roomcast/contracts';
import { STATS_CONFIG, type StatsEnv } from '../config/stats.env';
import { BEARER, digest } from '../stats-token.guard';

/** The publish API needs `Authorization: Bearer <API_TOKEN>` (compared as SHA-256 digests). */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(STATS_CONFIG) config: StatsEnv) {
    this.expected = digest(config.API_TOKEN ?? '');
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return true;
    throw new UnauthorizedException({
      error: {
        code: ErrorCode.Forbidden,
        message: 'this API needs Authorization: Bearer <API_TOKEN>',
      },
    });
  }
}
